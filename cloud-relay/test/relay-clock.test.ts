import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../hub/src/core/clock.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { relayAuthMessage } from '@hearth/protocol/keys';
import { CLOSE } from '@hearth/protocol/relay-messages';
import { LocalBackplane } from '../src/backplane/local.ts';
import { DEFAULT_LIMITS } from '../src/limits.ts';
import { RelayNode } from '../src/relay-node.ts';

interface Peer {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  pings: number;
  closed: Promise<number>;
  /** Resolves once a control message of `type` has arrived. */
  next(type: string): Promise<Record<string, unknown>>;
}

/** A raw peer; `hello` answers the challenge (or nothing is sent when it is undefined). */
function peer(url: string, hello?: (nonce: Uint8Array) => unknown, options: WebSocket.ClientOptions = {}): Peer {
  const ws = new WebSocket(url, options);
  const p: Peer = {
    ws,
    messages: [],
    pings: 0,
    closed: new Promise((resolve) => ws.once('close', (code) => resolve(code))),
    next: (type) =>
      new Promise((resolve) => {
        const look = () => {
          const found = p.messages.find((m) => m.type === type);
          if (found) resolve(found);
          else ws.once('message', () => setImmediate(look));
        };
        look();
      }),
  };
  ws.on('ping', () => p.pings++);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    p.messages.push(m);
    if (m.type === 'challenge' && hello) ws.send(JSON.stringify(hello(fromBase64(m.nonce as string))));
  });
  return p;
}

function hubIdentity() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const id = publicKey.export({ format: 'jwk' }).x!;
  return (nonce: Uint8Array) => ({
    type: 'hello',
    role: 'hub',
    hubId: id,
    sig: toBase64(new Uint8Array(sign(null, relayAuthMessage('hub', nonce, id), privateKey))),
  });
}

/** Lets the sockets carry what the last clock step made the node send. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

/**
 * The relay node's timers and rate buckets run on its injected clock: handshake timeout, pings
 * that find dead peers, the per-minute tunnel bucket. A ManualClock drives them here in an
 * instant; what the peers see on the wire is the check.
 */
describe('a relay node on a manual clock', () => {
  let tmp: ReturnType<typeof tempDir>;
  let clock: ManualClock;
  let node: RelayNode;
  let url: string;

  beforeEach(async () => {
    tmp = tempDir('hearth-relay-clock-');
    clock = new ManualClock();
    node = new RelayNode({
      backplane: new LocalBackplane(join(tmp.dir, 'relay'), clock),
      log: pino({ level: 'silent' }),
      limits: { ...DEFAULT_LIMITS, tunnelsPerHubPerMin: 2 },
      clock,
    });
    url = `ws://127.0.0.1:${await node.listen(0, '127.0.0.1')}`;
  });
  afterEach(async () => {
    await node.close();
    tmp.cleanup();
  });

  it('a peer that never says hello is refused with handshake_timeout after 10 s of the clock', async () => {
    const silent = peer(url);
    await silent.next('challenge');
    clock.advance(9_999);
    await settle();
    expect(silent.messages.map((m) => m.type)).toEqual(['challenge']);
    clock.advance(1);
    expect(await silent.next('error')).toMatchObject({ code: 'handshake_timeout', fatal: true });
    expect(await silent.closed).toBe(CLOSE.refused);
  });

  it('pings every 30 s of the clock; a peer that does not answer one is cut at the next', async () => {
    const hub = peer(url, hubIdentity(), { autoPong: false });
    await hub.next('ready');
    clock.advance(30_000);
    await settle();
    expect(hub.pings).toBe(1);
    clock.advance(30_000);
    expect(await hub.closed).toBe(1006);
  });

  it("a hub's new tunnels a minute are counted on the clock: refused past the bound, allowed a minute later", async () => {
    const hello = hubIdentity();
    for (let i = 0; i < 2; i++) await peer(url, hello).next('ready');
    const third = peer(url, hello);
    expect(await third.next('error')).toMatchObject({ code: 'too_many_tunnels' });
    clock.advance(60_000);
    await peer(url, hello).next('ready');
  });
});
