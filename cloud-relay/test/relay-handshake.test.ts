import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { fromBase64, toBase64, utf8 } from '@hearth/protocol/encoding';
import { CONTEXT, newDeviceKeys, relayAuthMessage } from '@hearth/protocol/keys';
import { startRelay, type RelayProcess } from './helpers/processes.ts';

interface Peer {
  ws: WebSocket;
  /** Every control message received, in order. */
  messages: Record<string, unknown>[];
  /** The first message of `type` (and, given `match`, matching it), waiting for it if needed. */
  next(type: string, match?: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A raw WebSocket peer that answers the challenge with `hello(nonce)`. */
function peer(url: string, hello: (nonce: Uint8Array) => unknown): Promise<Peer> {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    type: string;
    match: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    messages.push(m);
    if (m.type === 'challenge')
      ws.send(typeof hello === 'function' ? JSON.stringify(hello(fromBase64(m.nonce as string))) : '');
    for (const w of [...waiters])
      if (w.type === m.type && w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
  });
  const next = (type: string, match: (m: Record<string, unknown>) => boolean = () => true) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const found = messages.find((m) => m.type === type && match(m));
      if (found) resolve(found);
      else waiters.push({ type, match, resolve });
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, next, closed }));
    ws.once('error', reject);
  });
}

class Hub {
  readonly id: string;
  readonly #key: KeyObject;
  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.id = publicKey.export({ format: 'jwk' }).x!;
    this.#key = privateKey;
  }
  sign(message: Uint8Array): string {
    return toBase64(new Uint8Array(sign(null, message, this.#key)));
  }
  hello = (nonce: Uint8Array) => ({
    type: 'hello',
    role: 'hub',
    hubId: this.id,
    sig: this.sign(relayAuthMessage('hub', nonce, this.id)),
  });
}

/** The relay's front door, spoken to byte by byte by raw peers. */
describe('relay handshake and refusals', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-hs-');
    relay = await startRelay([
      '--data',
      join(tmp.dir, 'relay'),
      '--tunnels-per-min',
      '3',
      '--hub-out-rate',
      '50',
      '--hub-out-burst',
      '100',
      '--no-ui',
    ]);
  });
  afterAll(async () => {
    await relay?.kill9();
    tmp?.cleanup();
  });

  it("answers a load balancer's health check; any other plain HTTP request is 426", async () => {
    const health = await fetch(`http://127.0.0.1:${relay.port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', node: 'local' });
    // This node serves no web app (--no-ui): the page is 426 like any other plain request.
    const other = await fetch(`http://127.0.0.1:${relay.port}/`);
    expect(other.status).toBe(426);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('upgrade_required');
  });

  it("a hub whose signature is not its id's, or a hello that is not one, is refused", async () => {
    const hub = new Hub();
    const liar = new Hub();
    const forged = await peer(relay.url, (nonce) => ({ ...liar.hello(nonce), hubId: hub.id }));
    expect(await forged.next('error')).toMatchObject({ code: 'bad_signature', fatal: true });
    expect((await forged.closed).code).toBe(4403);

    const garbage = await peer(relay.url, () => 'not json' as unknown);
    expect(await garbage.next('error')).toMatchObject({ code: 'bad_message' });
    const badId = await peer(relay.url, (nonce) => ({ ...hub.hello(nonce), hubId: 'short' }));
    expect(await badId.next('error')).toMatchObject({ code: 'bad_hub_id' });
  });

  it('the newest tunnel of a hub wins; too many new tunnels a minute are refused', async () => {
    const hub = new Hub();
    const first = await peer(relay.url, hub.hello);
    await first.next('ready');
    const second = await peer(relay.url, hub.hello);
    await second.next('ready');
    expect(await first.next('error')).toMatchObject({ code: 'replaced' });
    expect((await first.closed).code).toBe(4409);
    const third = await peer(relay.url, hub.hello);
    await third.next('ready');
    const fourth = await peer(relay.url, hub.hello);
    expect(await fourth.next('error')).toMatchObject({ code: 'too_many_tunnels' });
    third.ws.close();
    second.ws.close();
  });

  it('a device list not signed by the hub is refused; a device on no list gets device_not_enrolled', async () => {
    const hub = new Hub();
    const tunnel = await peer(relay.url, hub.hello);
    await tunnel.next('ready');
    const device = newDeviceKeys();
    const doc = JSON.stringify({ hubId: hub.id, seq: 1, keys: [toBase64(device.sign.publicKey)], revoked: [] });
    tunnel.ws.send(
      JSON.stringify({
        type: 'devices',
        doc,
        sig: new Hub().sign(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)])),
      }),
    );
    expect(await tunnel.next('error')).toMatchObject({ code: 'bad_signature' });

    const deviceHello = (nonce: Uint8Array) => ({
      type: 'hello',
      role: 'device',
      hubId: hub.id,
      key: toBase64(device.sign.publicKey),
      sig: toBase64(nacl.sign.detached(relayAuthMessage('device', nonce, hub.id), device.sign.secretKey)),
    });
    const refused = await peer(relay.url, deviceHello);
    expect(await refused.next('error')).toMatchObject({ code: 'device_not_enrolled', fatal: true });
    expect(tunnel.messages.some((m) => m.type === 'open')).toBe(false);

    // Signed properly now: the same device is admitted and the hub hears of it.
    tunnel.ws.send(
      JSON.stringify({ type: 'devices', doc, sig: hub.sign(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)])) }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const admitted = await peer(relay.url, deviceHello);
    expect(await admitted.next('ready')).toMatchObject({ hubOnline: true });
    expect(await tunnel.next('open')).toMatchObject({ device: toBase64(device.sign.publicKey) });
    // A hub flooding its device: past its outbound budget frames are dropped and it is told.
    let delivered = 0;
    admitted.ws.on('message', (_d, isBinary) => {
      if (isBinary) delivered++;
    });
    const session = tunnel.messages.find((m) => m.type === 'open')!.session as number;
    const frame = Buffer.alloc(64);
    frame.writeUInt32BE(session, 0);
    for (let i = 0; i < 1000; i++) tunnel.ws.send(frame);
    // (waits for it: the test times out if the hub is never told)
    await tunnel.next('error', (m) => m.code === 'rate_limited');
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered).toBeGreaterThanOrEqual(100);
    expect(delivered).toBeLessThan(1000);
    // A signature by the right key over another hub's challenge text is not accepted either.
    const replayed = await peer(relay.url, (nonce) => ({ ...deviceHello(nonce), hubId: new Hub().id }));
    expect(await replayed.next('error')).toMatchObject({ code: 'bad_signature' });
    admitted.ws.close();
    tunnel.ws.close();
  });
});
