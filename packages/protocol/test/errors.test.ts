import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_ERRORS, ProtocolError, isProtocolErrorCode } from '../src/errors.ts';
import { keyFromBase64 } from '../src/encoding.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ file: relative(ROOT, path), text: readFileSync(path, 'utf8') });
  }
  return out;
}

/** `pattern`'s first group in every file, with where it was found. */
function found(files: { file: string; text: string }[], pattern: RegExp): { code: string; at: string }[] {
  return files.flatMap(({ file, text }) =>
    [...text.matchAll(pattern)].map((m) => ({
      code: m[1]!,
      at: `${file}:${text.slice(0, m.index).split('\n').length}`,
    })),
  );
}

const unlisted = (hits: { code: string; at: string }[]) =>
  hits.filter((h) => !isProtocolErrorCode(h.code)).map((h) => `${h.code} at ${h.at}`);

// The protocol itself and the relay: every code they make is a protocol code.
const protocolAndRelay = [...sources('packages/protocol/src'), ...sources('cloud-relay/src')].filter(
  (f) => f.file !== 'packages/protocol/src/errors.ts',
);
// The hub's relay side and the web UI also make ProtocolErrors (their other codes are the hub's).
const users = [...sources('hub/src/relay'), ...sources('ui/src')];

describe('protocol error codes are listed once (src/errors.ts)', () => {
  it('every code a ProtocolError is made with, anywhere, is in the list', () => {
    const hits = found([...protocolAndRelay, ...users], /\bProtocolError\(\s*'([^']*)'/g);
    expect(hits.length).toBeGreaterThan(40);
    expect(unlisted(hits)).toEqual([]);
  });

  it('every code the protocol and the relay put on the wire is in the list', () => {
    const patterns = [
      // `{type: 'error', code: ...}`, `{type: 'close', code}`, push results
      /\bcode:\s*'([^']*)'/g,
      // the relay's refusals, closes and node-to-node codes: refuse(ws, 'x'), close('x'), utf8Code('x')
      /\b(?:refuse|refuseFrame|close|utf8Code)\(\s*(?:[\w.#]+,\s*)?'([^']*)'/g,
      // codes given as defaults and fallbacks: `code = 'x'`, `err.code : 'x'`, keyFromBase64(…, 'x')
      /\bcode\s*=\s*'([^']*)'/g,
      /\.code\s*:\s*'([^']*)'/g,
      /\bkeyFromBase64\([^)]*,\s*'([^']*)'\)/g,
      // A code naming a failure in a doc comment or a test is fine; one in a string template is not here.
    ];
    const hits = patterns.flatMap((p) => found(protocolAndRelay, p));
    expect(hits.length).toBeGreaterThan(15);
    expect(unlisted(hits)).toEqual([]);
  });

  it('every listed code is used somewhere (no stale entries)', () => {
    const text = [...protocolAndRelay, ...users].map((f) => f.text).join('\n');
    const unused = Object.keys(PROTOCOL_ERRORS).filter((code) => !text.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('every code has a meaning, and codes are snake_case', () => {
    for (const [code, meaning] of Object.entries(PROTOCOL_ERRORS)) {
      expect(code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });

  it('a ProtocolError carries a listed code; one received from the other side keeps its own', () => {
    expect(() => keyFromBase64('AAAA', 32)).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(ProtocolError.received('remote_user_mismatch', 'from the hub').code).toBe('remote_user_mismatch');
    // @ts-expect-error: only listed codes (the type check fails if the constructor took any string)
    expect(new ProtocolError('not_a_listed_code', 'x').code).toBe('not_a_listed_code');
  });
});
