/**
 * Runs benchmarks: `node bench/run.ts [NAME...] [--option=value...]` (`npm run bench -- NAME`).
 *
 * Every `bench/NAME.bench.ts` is a bench; with no name, all of them run in name order. A bench
 * module exports `run(ctx)`, prints human-readable lines through `ctx.log` and returns its figures;
 * this runner prints them as one JSON object `{"bench":NAME,...}` on one line, the bench's last
 * line of output. A bench that fails prints `{"bench":NAME,"error":...}` (with whatever figures
 * it measured) instead and the runner exits 1 at the end. Missed targets are not failures: they
 * are reported in the JSON.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchContext {
  /** Options given after the bench names, e.g. ["--window=3"]. */
  args: string[];
  log(line: string): void;
}

export interface BenchModule {
  description?: string;
  run(ctx: BenchContext): Promise<Record<string, unknown>>;
}

const here = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const known = available();
  const names: string[] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(`usage: node bench/run.ts [NAME...] [--option=value...]\nbenches: ${known.join(', ')}`);
      return 0;
    }
    if (a.startsWith('-')) {
      args.push(a);
      // `--key value`: the value belongs to the option unless it names a bench.
      const next = argv[i + 1];
      if (!a.includes('=') && next !== undefined && !next.startsWith('-') && !known.includes(next)) args.push(argv[++i]!);
    } else if (known.includes(a)) {
      names.push(a);
    } else {
      console.error(`bench: unknown bench "${a}" (available: ${known.join(', ')})`);
      return 2;
    }
  }
  let failed = 0;
  for (const name of names.length ? names : known) {
    const log = (line: string): void => {
      process.stdout.write(line + '\n');
    };
    log(`== bench ${name} ==`);
    const started = performance.now();
    let result: Record<string, unknown>;
    try {
      const mod = (await import(pathToFileURL(join(here, name + SUFFIX)).href)) as BenchModule;
      const figures = await mod.run({ args, log });
      result = { bench: name, ...figures, durationS: Math.round((performance.now() - started) / 100) / 10 };
    } catch (err) {
      failed++;
      const e = err as Error & { figures?: Record<string, unknown> };
      process.stderr.write(`bench ${name} failed: ${e.stack ?? e.message}\n`);
      result = { bench: name, error: e.message, ...(e.figures ?? {}), durationS: Math.round((performance.now() - started) / 100) / 10 };
    }
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  return failed ? 1 : 0;
}

// Exit explicitly: a bench that left a handle open must not keep the runner alive.
process.exit(await main(process.argv.slice(2)));
