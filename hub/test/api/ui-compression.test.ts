import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-get.ts';
import { harness, type Harness } from './harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UI_DIST = join(ROOT, 'ui/dist');

/**
 * The hub serves the real UI build's brotli and gzip copies (written by the build,
 * ui/build-plugins/precompress.ts) as the request's Accept-Encoding allows, checked on the bytes
 * that leave the socket: each decompresses to exactly the file itself.
 */
describe('web UI: precompressed assets', () => {
  let h: Harness;
  let base: string;
  let entry: string;
  let identity: Buffer;

  beforeAll(async () => {
    // ui/dist is not in git: build it when missing or stale (about 20 ms when it is current).
    execFileSync('bash', [join(ROOT, 'scripts/lib/ui.sh')], { stdio: 'inherit' });
    entry = /<script type="module"[^>]* src="(\/assets\/index-[^"]+\.js)"/.exec(
      readFileSync(join(UI_DIST, 'index.html'), 'utf8'),
    )![1]!;
    identity = readFileSync(join(UI_DIST, entry));
    h = await harness({ uiDir: UI_DIST });
    base = (await h.listen()).replace(/^ws:/, 'http:');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('sends the entry script as brotli when allowed, as gzip when only that is, else as is; always Vary', async () => {
    const br = await rawRequest(`${base}${entry}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(identity.length / 2);
    expect(brotliDecompressSync(br.body).equals(identity)).toBe(true);

    const gz = await rawRequest(`${base}${entry}`, { 'accept-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(gunzipSync(gz.body).equals(identity)).toBe(true);

    for (const acceptEncoding of [undefined, 'identity', 'zstd', 'br;q=0, gzip;q=0']) {
      const plain = await rawRequest(
        `${base}${entry}`,
        acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      );
      expect(plain.status, acceptEncoding).toBe(200);
      expect(plain.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(plain.headers.vary, acceptEncoding).toMatch(/accept-encoding/i);
      expect(plain.body.equals(identity), acceptEncoding).toBe(true);
    }

    // Each encoding is its own representation: its own validator, so a cache never mixes them.
    const etags = new Set([br.headers.etag, gz.headers.etag, (await rawRequest(`${base}${entry}`)).headers.etag]);
    expect(etags.size).toBe(3);
    // The immutable caching of hashed assets holds for the compressed copies too.
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('honours q-values: gzip preferred over brotli when the client says so', async () => {
    const res = await rawRequest(`${base}${entry}`, { 'accept-encoding': 'br;q=0.5, gzip;q=1' });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).equals(identity)).toBe(true);
  });

  it('HEAD gives the length of the encoding negotiated; Range still works on the file itself', async () => {
    const head = await rawRequest(`${base}${entry}`, { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-encoding']).toBe('br');
    expect(Number(head.headers['content-length'])).toBe(readFileSync(join(UI_DIST, `${entry}.br`)).length);

    const range = await rawRequest(`${base}${entry}`, { range: 'bytes=100-199' });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 100-199/${identity.length}`);
    expect(range.body.equals(identity.subarray(100, 200))).toBe(true);
  });

  it('the page, the service worker and the stylesheet negotiate the same way', async () => {
    const css = /href="(\/assets\/index-[^"]+\.css)"/.exec(readFileSync(join(UI_DIST, 'index.html'), 'utf8'))![1]!;
    for (const path of ['/sw.js', css]) {
      const res = await rawRequest(`${base}${path}`, { 'accept-encoding': 'br' });
      expect(res.headers['content-encoding'], path).toBe('br');
      expect(brotliDecompressSync(res.body).equals(readFileSync(join(UI_DIST, path))), path).toBe(true);
    }
    // index.html is below the size worth compressing: sent as is, still marked as negotiated.
    const page = await rawRequest(`${base}/`, { 'accept-encoding': 'br, gzip' });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBeUndefined();
    expect(page.headers.vary).toMatch(/accept-encoding/i);
    expect(page.body.equals(readFileSync(join(UI_DIST, 'index.html')))).toBe(true);
  });

  it('the compressed copies have no URL of their own', async () => {
    for (const suffix of ['.br', '.gz']) {
      expect((await rawRequest(`${base}${entry}${suffix}`)).status, suffix).toBe(404);
      expect((await rawRequest(`${base}/sw.js${suffix}`, { 'accept-encoding': 'br' })).status, suffix).toBe(404);
    }
  });
});
