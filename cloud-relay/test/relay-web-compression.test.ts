import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../../hub/test/helpers/raw-get.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { WebApp } from '../src/web-app.ts';
import { startRelay, type RelayProcess } from './helpers/processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UI_DIST = join(ROOT, 'ui/dist');

/**
 * The web app on the relay's origin goes out with the build's brotli and gzip copies, negotiated
 * as the hub does, checked on the bytes a real relay node puts on the socket.
 */
describe('relay web app: precompressed assets', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;
  let web: string;
  let entry: string;
  let identity: Buffer;

  beforeAll(async () => {
    // ui/dist is not in git: build it when missing or stale (about 20 ms when it is current).
    execFileSync('bash', [join(ROOT, 'scripts/lib/ui.sh')], { stdio: 'inherit' });
    entry = /<script type="module"[^>]* src="(\/assets\/index-[^"]+\.js)"/.exec(
      readFileSync(join(UI_DIST, 'index.html'), 'utf8'),
    )![1]!;
    identity = readFileSync(join(UI_DIST, entry));
    tmp = tempDir('hearth-relay-web-');
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--ui', UI_DIST]);
    web = `http://127.0.0.1:${relay.port}`;
  });
  afterAll(async () => {
    await relay?.kill9();
    tmp?.cleanup();
  });

  it('sends the entry script as brotli, gzip or as is, as Accept-Encoding allows; always Vary', async () => {
    const br = await rawRequest(`${web}${entry}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toContain('immutable');
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(brotliDecompressSync(br.body).equals(identity)).toBe(true);

    const gz = await rawRequest(`${web}${entry}`, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(gunzipSync(gz.body).equals(identity)).toBe(true);

    expect(
      (await rawRequest(`${web}${entry}`, { 'accept-encoding': 'br;q=0.5, gzip' })).headers['content-encoding'],
    ).toBe('gzip');

    for (const acceptEncoding of [undefined, 'identity', 'zstd', 'br;q=0, gzip;q=0']) {
      const plain = await rawRequest(
        `${web}${entry}`,
        acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      );
      expect(plain.status, acceptEncoding).toBe(200);
      expect(plain.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(plain.headers.vary, acceptEncoding).toMatch(/accept-encoding/i);
      expect(plain.body.equals(identity), acceptEncoding).toBe(true);
    }

    // Each encoding has its own validator; a revalidation with it is answered 304 without a body.
    const plainEtag = (await rawRequest(`${web}${entry}`)).headers.etag as string;
    expect(new Set([br.headers.etag, gz.headers.etag, plainEtag]).size).toBe(3);
    const again = await rawRequest(`${web}${entry}`, {
      'accept-encoding': 'br',
      'if-none-match': br.headers.etag as string,
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await rawRequest(`${web}${entry}`, { 'accept-encoding': 'br', 'if-none-match': plainEtag })).status).toBe(
      200,
    );

    const head = await rawRequest(`${web}${entry}`, { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.headers['content-encoding']).toBe('br');
    expect(Number(head.headers['content-length'])).toBe(br.body.length);
    expect(head.body.length).toBe(0);
  });

  it('the marked page is sent as is; the copies have no URL of their own', async () => {
    const page = await rawRequest(`${web}/`, { 'accept-encoding': 'br, gzip' });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBeUndefined();
    expect(page.headers.vary).toMatch(/accept-encoding/i);
    expect(page.body.toString()).toContain('<meta name="hearth-origin" content="relay">');
    const sw = await rawRequest(`${web}/sw.js`, { 'accept-encoding': 'br' });
    expect(sw.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(sw.body).equals(readFileSync(join(UI_DIST, 'sw.js')))).toBe(true);
    for (const path of [`${entry}.br`, `${entry}.gz`, '/sw.js.br']) {
      expect((await rawRequest(`${web}${path}`, { 'accept-encoding': 'br' })).status, path).toBe(426);
    }
  });

  it('a compressed copy that is not the file (left from another build) is never sent', async () => {
    const stale = tempDir('hearth-relay-stale-');
    let server: Server | undefined;
    try {
      cpSync(UI_DIST, stale.dir, { recursive: true });
      writeFileSync(join(stale.dir, `${entry}.br`), brotliCompressSync(Buffer.from('console.log("old build")')));
      const app = new WebApp(stale.dir);
      server = createServer((req, res) => {
        if (!app.handle(req, res)) res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const res = await rawRequest(`${base}${entry}`, { 'accept-encoding': 'br, gzip' });
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(res.body).equals(identity)).toBe(true);
    } finally {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      stale.cleanup();
    }
  });
});
