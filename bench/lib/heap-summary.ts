/**
 * What a V8 heap snapshot holds, grouped by constructor (self sizes), and the difference between
 * two snapshots: with N idle clients connected in between, `diff / N` is what one client costs.
 *
 *   node bench/lib/heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per=N] [--top=N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Total self size and count per "type:name" (e.g. "object:Socket", "string", "code"). */
export function heapByConstructor(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Only objects and closures are worth naming; strings, code etc. are grouped by type.
    const key = type === 'object' || type === 'closure' ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]}` : type;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sizeAt]!;
    e.count++;
    out.set(key, e);
  }
  return out;
}

export interface HeapDiffRow {
  what: string;
  bytesPer: number;
  countPer: number;
}

/** What grew between two snapshots, per `per` units (clients), largest first. */
export function heapDiff(
  before: string,
  after: string,
  per: number,
  top = 20,
): { totalBytesPer: number; rows: HeapDiffRow[] } {
  const a = heapByConstructor(before);
  const b = heapByConstructor(after);
  const rows: HeapDiffRow[] = [];
  let total = 0;
  for (const [what, e] of b) {
    const old = a.get(what) ?? { size: 0, count: 0 };
    const bytes = e.size - old.size;
    total += bytes;
    rows.push({
      what,
      bytesPer: Math.round(bytes / per),
      countPer: Math.round(((e.count - old.count) / per) * 10) / 10,
    });
  }
  rows.sort((x, y) => y.bytesPer - x.bytesPer);
  return { totalBytesPer: Math.round(total / per), rows: rows.slice(0, top) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
  });
  if (positionals.length !== 2) {
    console.error('usage: node bench/lib/heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per=N] [--top=N]');
    process.exit(2);
  }
  const d = heapDiff(positionals[0]!, positionals[1]!, Number(values.per), Number(values.top));
  console.log(`heap growth: ${d.totalBytesPer} bytes per unit`);
  for (const r of d.rows)
    console.log(`${String(r.bytesPer).padStart(8)} B  ${String(r.countPer).padStart(6)} ×  ${r.what}`);
}
