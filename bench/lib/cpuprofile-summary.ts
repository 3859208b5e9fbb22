/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): where the sampled time went by package
 * or part (self time), the hottest functions (self time), and the inclusive time of the hub's own
 * functions (the broker's hooks and persistence) including everything they call.
 *
 *   node bench/lib/cpuprofile-summary.ts FILE.cpuprofile [--top=N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  busyMs: number;
  byPart: { part: string; selfMs: number; pctOfBusy: number }[];
  topSelf: { fn: string; part: string; selfMs: number; pctOfBusy: number }[];
  hubInclusive: { fn: string; inclusiveMs: number; pctOfBusy: number }[];
}

/** Which package or part a frame belongs to: "aedes", "node:streams", "hub:broker/x.ts", "(gc)". */
export function partOf(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName === '(garbage collector)') return '(gc)';
    if (f.functionName === '(idle)') return '(idle)';
    if (f.functionName === '(program)') return '(program)';
    if (f.functionName === '(root)') return '(root)';
    return '(native)';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m?.[1] ?? url.slice(5)}`;
  }
  const hub = url.indexOf('/hub/src/');
  if (hub >= 0) return `hub:${url.slice(hub + '/hub/src/'.length)}`;
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return `bench:${url.slice(bench + '/bench/'.length)}`;
  return url.replace(/^file:\/\//, '');
}

const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${partOf(f)}:${f.lineNumber + 1}`;

export function summarizeProfile(file: string, log: (line: string) => void = () => {}, top = 25): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // Sample i lasts until sample i+1 (timeDeltas[i+1]); the last one gets the mean.
  const selfUs = new Map<number, number>();
  const mean = (prof.endTime - prof.startTime) / Math.max(1, prof.samples.length);
  prof.samples.forEach((id, i) => {
    const d = prof.timeDeltas[i + 1] ?? mean;
    selfUs.set(id, (selfUs.get(id) ?? 0) + d);
  });
  const sampledUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = prof.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + (selfUs.get(n.id) ?? 0), 0);
  const busyUs = sampledUs - idleUs;
  const pct = (us: number): number => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const ms = (us: number): number => Math.round(us / 100) / 10;

  const parts = new Map<string, number>();
  const fns = new Map<string, { part: string; us: number }>();
  for (const n of prof.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (!us || n.callFrame.functionName === '(idle)') continue;
    const part = partOf(n.callFrame);
    parts.set(part, (parts.get(part) ?? 0) + us);
    const key = label(n.callFrame);
    const e = fns.get(key) ?? { part, us: 0 };
    e.us += us;
    fns.set(key, e);
  }

  // Inclusive time of hub functions, counting recursion once.
  const inclusive = new Map<number, number>();
  const total = (id: number): number => {
    const cached = inclusive.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id)!;
    let t = selfUs.get(id) ?? 0;
    for (const c of n.children ?? []) t += total(c);
    inclusive.set(id, t);
    return t;
  };
  const root = prof.nodes[0]!;
  total(root.id);
  const hubIncl = new Map<string, number>();
  const walk = (id: number, onStack: Set<string>): void => {
    const n = byId.get(id)!;
    const isHub = partOf(n.callFrame).startsWith('hub:');
    const key = label(n.callFrame);
    const fresh = isHub && !onStack.has(key);
    if (fresh) {
      hubIncl.set(key, (hubIncl.get(key) ?? 0) + (inclusive.get(id) ?? 0));
      onStack.add(key);
    }
    for (const c of n.children ?? []) walk(c, onStack);
    if (fresh) onStack.delete(key);
  };
  walk(root.id, new Set());

  const summary: ProfileSummary = {
    file,
    sampledMs: ms(sampledUs),
    busyMs: ms(busyUs),
    byPart: [...parts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([part, us]) => ({ part, selfMs: ms(us), pctOfBusy: pct(us) })),
    topSelf: [...fns.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, e]) => ({ fn, part: e.part, selfMs: ms(e.us), pctOfBusy: pct(e.us) })),
    hubInclusive: [...hubIncl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, inclusiveMs: ms(us), pctOfBusy: pct(us) })),
  };

  log(`cpu profile ${file}: ${summary.sampledMs} ms sampled, ${summary.busyMs} ms busy`);
  log('  self time by part (% of busy):');
  for (const p of summary.byPart)
    log(`    ${String(p.pctOfBusy).padStart(5)}%  ${p.selfMs.toString().padStart(8)} ms  ${p.part}`);
  log('  hottest functions (self, % of busy):');
  for (const f of summary.topSelf) log(`    ${String(f.pctOfBusy).padStart(5)}%  ${f.fn}`);
  log('  hub functions, inclusive (% of busy):');
  for (const f of summary.hubInclusive) log(`    ${String(f.pctOfBusy).padStart(5)}%  ${f.fn}`);
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  if (positionals.length === 0) {
    console.error('usage: node bench/lib/cpuprofile-summary.ts FILE.cpuprofile [--top=N]');
    process.exit(2);
  }
  for (const f of positionals) summarizeProfile(f, (l) => console.log(l), Number(values.top));
}
