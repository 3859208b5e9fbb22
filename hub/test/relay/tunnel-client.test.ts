import type { AddressInfo } from 'node:net';
import nacl from 'tweetnacl';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { relayAuthMessage } from '@hearth/protocol/keys';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { loadHubIdentity } from '../../src/relay/identity.ts';
import { TunnelClient } from '../../src/relay/tunnel-client.ts';
import type { SettingsRepo } from '../../src/store/settings-repo.ts';

/**
 * The hub's tunnel on a ManualClock, against relay stand-ins on loopback that speak the relay's
 * handshake (challenge, signed hello, ready): what the relays see is each connection attempt, so
 * the back-off and the keep-alive are asserted by what arrives, not by waiting.
 */
interface FakeRelay {
  url: string;
  /** Every connection in arrival order. */
  sockets: WebSocket[];
  /** Pings received, per connection index. */
  pings: number[];
  /** Hub ids whose hello signature verified. */
  hellos: string[];
  nextConnection(): Promise<WebSocket>;
  close(): Promise<void>;
}

async function fakeRelay(options: { handshake: boolean; autoPong?: boolean }): Promise<FakeRelay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const sockets: WebSocket[] = [];
  const pings: number[] = [];
  const hellos: string[] = [];
  let waiting: ((ws: WebSocket) => void)[] = [];
  wss.on('connection', (ws) => {
    const index = sockets.push(ws) - 1;
    pings[index] = 0;
    ws.on('ping', () => {
      pings[index]! += 1;
    });
    if (options.handshake) {
      const nonce = nacl.randomBytes(32);
      ws.on('message', (data) => {
        const hello = JSON.parse(String(data)) as { type: string; hubId: string; sig: string; role: string };
        const publicKey = Buffer.from(hello.hubId, 'base64url');
        if (
          hello.type === 'hello' &&
          nacl.sign.detached.verify(relayAuthMessage('hub', nonce, hello.hubId), fromBase64(hello.sig), publicKey)
        ) {
          hellos.push(hello.hubId);
          ws.send(JSON.stringify({ type: 'ready' }));
        } else {
          ws.close(4001, 'bad hello');
        }
      });
      ws.send(JSON.stringify({ type: 'challenge', nonce: toBase64(nonce) }));
    } else {
      ws.close(1013, 'try again later');
    }
    for (const w of waiting) w(ws);
    waiting = [];
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    sockets,
    pings,
    hellos,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

function memorySettings(): SettingsRepo {
  const values = new Map<string, unknown>();
  return {
    get: (key: string) => values.get(key),
    set: (key: string, value: unknown) => {
      values.set(key, value);
    },
  } as unknown as SettingsRepo;
}

/** Real-time waits for socket events (bounded), never for the hub's own timers. */
const until = async (what: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('tunnel client on a ManualClock', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('reconnects only when the back-off (doubling, capped) has passed on the clock, trying the relays in turn', async () => {
    const a = await fakeRelay({ handshake: false });
    const b = await fakeRelay({ handshake: false });
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const clock = new ManualClock(0);
    const events = { connected() {}, open() {}, close() {}, frame() {}, disconnected() {}, pushResult() {} };
    // random() = 0.999: each wait is just under its ceiling, so the doubling is visible.
    const tunnel = new TunnelClient({
      urls: [a.url, b.url],
      identity: loadHubIdentity(memorySettings()),
      log: createLogger({ level: 'silent' }),
      events,
      clock,
      backoffBaseMs: 1000,
      backoffMaxMs: 4000,
      random: () => 0.999,
    });
    cleanup.push(() => tunnel.stop());

    const first = a.nextConnection();
    tunnel.start();
    await first;
    const attempts = () => a.sockets.length + b.sockets.length;
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      // The relay closed the last attempt; the hub arms exactly one timer for the next one.
      await until(() => clock.pendingTimers() === 1);
      const before = clock.now();
      const due = clock.nextDue()!;
      waits.push(due - before);
      clock.advance(due - before - 1);
      // A moment of real time for a (wrong) early connection to show up at either relay.
      await new Promise((r) => setTimeout(r, 50));
      expect(attempts()).toBe(attempt);
      const relay = attempt % 2 === 1 ? b : a;
      const next = relay.nextConnection();
      clock.advance(1);
      await next;
      expect(attempts()).toBe(attempt + 1);
    }
    expect(waits).toEqual([999, 1998, 3996, 3996]);
    expect(a.sockets).toHaveLength(3);
    expect(b.sockets).toHaveLength(2);
  });

  it('pings every 15 s of clock time once ready, and drops a relay that stops answering them', async () => {
    const relay = await fakeRelay({ handshake: true, autoPong: false });
    cleanup.push(() => relay.close());
    const clock = new ManualClock(0);
    let connected = 0;
    let disconnected = 0;
    const events = {
      connected: () => {
        connected++;
      },
      open() {},
      close() {},
      frame() {},
      disconnected: () => {
        disconnected++;
      },
      pushResult() {},
    };
    const identity = loadHubIdentity(memorySettings());
    const tunnel = new TunnelClient({
      urls: [relay.url],
      identity,
      log: createLogger({ level: 'silent' }),
      events,
      clock,
      random: () => 0.5,
    });
    cleanup.push(() => tunnel.stop());

    tunnel.start();
    await until(() => connected === 1);
    expect(relay.hellos).toEqual([identity.hubId]);
    clock.advance(14_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(relay.pings[0]).toBe(0);
    clock.advance(1);
    await until(() => relay.pings[0] === 1);
    // No pong came back: the next tick ends the connection instead of pinging again.
    const closed = new Promise<void>((resolve) => relay.sockets[0]!.once('close', () => resolve()));
    clock.advance(15_000);
    await closed;
    await until(() => disconnected === 1);
    expect(relay.pings[0]).toBe(1);
    expect(tunnel.ready).toBe(false);
  });
});
