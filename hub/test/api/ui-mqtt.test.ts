import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../helpers/temp.ts';
import { harness, type Harness } from './harness.ts';

describe('web UI and MQTT over WebSocket', () => {
  let h: Harness | undefined;
  let ui: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await h?.close();
    ui?.cleanup();
    h = undefined;
    ui = undefined;
  });

  it('says the UI is not built when ui/dist is missing, even before setup', async () => {
    h = await harness();
    const res = await h.call('GET', '/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('ui/dist');
  });

  it('serves the built UI before setup, and still answers JSON 404 for unknown API routes', async () => {
    ui = tempDir();
    mkdirSync(join(ui.dir, 'assets'));
    writeFileSync(join(ui.dir, 'index.html'), '<!doctype html><title>Hearth UI</title>');
    writeFileSync(join(ui.dir, 'assets', 'app.js'), 'console.log("hearth")');
    h = await harness({ uiDir: ui.dir });
    const index = await h.call('GET', '/');
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('Hearth UI');
    const asset = await h.call('GET', '/assets/app.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    // Hashed build assets are cached for good; the page itself is revalidated.
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(index.headers['cache-control']).toBe('no-cache');
    const missing = await h.call('GET', '/api/v1/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('route_not_found');
    expect((await h.call('GET', '/assets/missing.js')).statusCode).toBe(404);
    // The API itself is still gated until setup.
    expect((await h.call('GET', '/api/v1/devices')).statusCode).toBe(409);
  });

  it('hands /mqtt WebSocket connections to the broker with the mqtt subprotocol', async () => {
    h = await harness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    const ws = new WebSocket(`ws://127.0.0.1:${address.port}/mqtt`, ['mqtt']);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('mqtt');
    await expect.poll(() => h!.broker.webSockets.length).toBe(1);
    const received = new Promise<string>((resolve) =>
      h!.broker.webSockets[0]!.stream.once('data', (d: Buffer) => resolve(d.toString('hex'))),
    );
    // An MQTT PINGREQ; the broker sees the bytes of the WebSocket messages as a stream.
    ws.send(Buffer.from([0xc0, 0x00]));
    expect(await received).toBe('c000');
    ws.terminate();
  });
});
