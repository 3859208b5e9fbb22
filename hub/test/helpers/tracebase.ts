import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * The tracebase appliance traces (real plugs, Darmstadt 2011–12; ODbL, attribution in
 * ../shared/energy-data/README.md), read in place: never copied into this repository. Tests and
 * benches that use them skip when the folder is absent.
 */
export const TRACEBASE_DIR = findShared('energy-data/tracebase');

/** `shared/<path>` beside the repository (../shared) or beside a folder above it (a worktree's). */
function findShared(path: string): string {
  let dir = fileURLToPath(new URL('../../..', import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dirname(dir), 'shared', path);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(new URL('../../..', import.meta.url))), 'shared', path);
}
export const HAVE_TRACEBASE = existsSync(join(TRACEBASE_DIR, 'complete'));

export interface Trace {
  /** Seconds since the first file's local midnight (the files' times are local, no zone). */
  seconds: Float64Array;
  /** Watts averaged over 1 s, as recorded (integers). */
  watts: Float64Array;
  /** Lines that did not parse (the set has about 80 in all). */
  bad: number;
}

/**
 * Consecutive day files of one outlet (`complete/TV-LCD/dev_B80E51_2012.05.14`, without
 * `.csv.gz`) as one trace: `DD/MM/YYYY HH:MM:SS;<W over 1 s>;<W over 8 s>` lines, kept in time order.
 */
export function readTrace(files: string[]): Trace {
  const seconds: number[] = [];
  const watts: number[] = [];
  let bad = 0;
  let origin: number | undefined;
  for (const file of files) {
    const text = gunzipSync(readFileSync(join(TRACEBASE_DIR, `${file}.csv.gz`))).toString('latin1');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d);(-?\d+(?:\.\d+)?);/.exec(line);
      if (!m) {
        bad++;
        continue;
      }
      const t = Date.UTC(+m[3]!, +m[2]! - 1, +m[1]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
      if (origin === undefined) origin = Math.floor(t / 86_400) * 86_400;
      const s = t - origin;
      if (seconds.length > 0 && s <= seconds[seconds.length - 1]!) continue;
      seconds.push(s);
      watts.push(Number(m[7]));
    }
  }
  return { seconds: Float64Array.from(seconds), watts: Float64Array.from(watts), bad };
}
