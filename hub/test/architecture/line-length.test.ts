import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** Biome wraps code at 120 columns; what it cannot break (long strings, comments) must still fit in 160. */
const LIMIT = 160;

/** `file:line (N columns)` for every line of `text` longer than LIMIT characters. */
function longLines(file: string, text: string): string[] {
  return text
    .split('\n')
    .flatMap((line, i) => (line.length > LIMIT ? [`${file}:${i + 1} (${line.length} columns)`] : []));
}

describe(`no tracked TS/JS line is over ${LIMIT} columns`, () => {
  it('finds a long line when there is one (the check is not vacuous)', () => {
    expect(longLines('x.ts', `ok\n${'a'.repeat(LIMIT + 1)}\n${'b'.repeat(LIMIT)}`)).toEqual(['x.ts:2 (161 columns)']);
  });

  it('every tracked .ts/.tsx/.js/.mjs file fits (split long strings into pieces, rewrap comments)', () => {
    const files = execFileSync('git', ['ls-files', '-z', '*.ts', '*.tsx', '*.js', '*.mjs'], {
      cwd: REPO,
      encoding: 'utf8',
    })
      .split('\0')
      .filter(Boolean);
    expect(files.length).toBeGreaterThan(300);
    const long = files.flatMap((file) => longLines(file, readFileSync(`${REPO}${file}`, 'utf8')));
    expect(long, `lines over ${LIMIT} columns; break them (Biome cannot): ${long.join(', ')}`).toEqual([]);
  });
});
