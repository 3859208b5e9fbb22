/**
 * Runs benchmarks: `node bench/run.ts [NAME...] [--option=value...]` (`npm run bench -- NAME`).
 *
 * Every `bench/NAME.bench.ts` is a bench; with no name, all of them run in name order. A bench
 * module exports `run(ctx)`, prints human-readable lines through `ctx.log` and returns its figures;
 * this runner prints them as one JSON object `{"bench":NAME,...}` on one line, the bench's last
 * line of output. A bench that fails prints `{"bench":NAME,"error":...}` (with whatever figures
 * it measured) instead and the runner exits 1 at the end. Missed targets are not failures: they
 * are reported in the JSON.
 *
 * Smoke mode (`--smoke`, or HEARTH_BENCH_SMOKE=1; `npm test` runs it): every bench runs with the
 * tiny options its module exports as `smoke.args` (options given on the command line come after
 * them and win), and its figures must hold each of `smoke.keys` (not null). Nothing is judged
 * on timings: a smoke run only proves the bench still runs against today's code and contracts.
 * A bench without `smoke` fails in smoke mode, so a new bench cannot skip it.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchContext {
  /** Options given after the bench names, e.g. ["--window=3"]; in smoke mode `smoke.args` first. */
  args: string[];
  log(line: string): void;
  /** Smoke mode: tiny sizes, seconds; a bench may also shorten its fixed settle waits. */
  smoke: boolean;
}

/** How a bench runs in smoke mode, and the figures (dotted paths) its JSON must then hold. */
export interface BenchSmoke {
  args: string[];
  keys: string[];
}

export interface BenchModule {
  description?: string;
  smoke?: BenchSmoke;
  run(ctx: BenchContext): Promise<Record<string, unknown>>;
}

/** A bench that hangs in smoke mode fails instead of holding `npm test`. */
const SMOKE_TIMEOUT_MS = 180_000;

/** The smoke keys `figures` lacks (absent or null), e.g. `brokers.hub.idle`. */
export function missingKeys(figures: Record<string, unknown>, keys: string[]): string[] {
  return keys.filter((key) => {
    let value: unknown = figures;
    for (const part of key.split('.'))
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    return value === undefined || value === null;
  });
}

async function runSmoke(
  mod: BenchModule,
  name: string,
  args: string[],
  log: (line: string) => void,
): Promise<Record<string, unknown>> {
  if (!mod.smoke) throw new Error(`bench ${name} has no smoke mode: export smoke = { args, keys } (bench/README.md)`);
  const { keys } = mod.smoke;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`smoke: bench ${name} did not finish in ${SMOKE_TIMEOUT_MS / 1000} s`)),
      SMOKE_TIMEOUT_MS,
    );
  });
  try {
    const figures = await Promise.race([mod.run({ args: [...mod.smoke.args, ...args], log, smoke: true }), timeout]);
    const missing = missingKeys(figures, keys);
    if (missing.length) throw Object.assign(new Error(`smoke: the figures lack ${missing.join(', ')}`), { figures });
    return figures;
  } finally {
    clearTimeout(timer);
  }
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
  let smoke = process.env.HEARTH_BENCH_SMOKE === '1';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(`usage: node bench/run.ts [NAME...] [--smoke] [--option=value...]\nbenches: ${known.join(', ')}`);
      return 0;
    }
    if (a === '--smoke') {
      smoke = true;
      continue;
    }
    if (a.startsWith('-')) {
      args.push(a);
      // `--key value`: the value belongs to the option unless it names a bench.
      const next = argv[i + 1];
      if (!a.includes('=') && next !== undefined && !next.startsWith('-') && !known.includes(next))
        args.push(argv[++i]!);
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
      process.stdout.write(`${line}\n`);
    };
    log(`== bench ${name} ==`);
    const started = performance.now();
    let result: Record<string, unknown>;
    try {
      const mod = (await import(pathToFileURL(join(here, name + SUFFIX)).href)) as BenchModule;
      const figures = smoke ? await runSmoke(mod, name, args, log) : await mod.run({ args, log, smoke: false });
      result = { bench: name, ...figures, durationS: Math.round((performance.now() - started) / 100) / 10 };
    } catch (err) {
      failed++;
      const e = err as Error & { figures?: Record<string, unknown> };
      process.stderr.write(`bench ${name} failed: ${e.stack ?? e.message}\n`);
      result = {
        bench: name,
        error: e.message,
        ...(e.figures ?? {}),
        durationS: Math.round((performance.now() - started) / 100) / 10,
      };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return failed ? 1 : 0;
}

// Exit explicitly: a bench that left a handle open must not keep the runner alive.
process.exit(await main(process.argv.slice(2)));
