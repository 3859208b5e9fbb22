import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { clientHandshake, type E2eSession } from '@hearth/protocol/e2e';
import { fromUtf8, toBase64 } from '@hearth/protocol/encoding';
import { newDeviceKeys } from '@hearth/protocol/keys';
import { MUX, decodeMux, encodeCredit, encodeMux, encodeMuxJson } from '@hearth/protocol/mux';
import { createLogger } from '../../src/core/logger.ts';
import { loadHubIdentity } from '../../src/relay/identity.ts';
import { Outbox } from '../../src/relay/outbox.ts';
import { ANSWER_QUEUE_BYTES, remoteAnswersHeld } from '../../src/relay/remote-answer.ts';
import type { RemoteDevice } from '../../src/relay/remote-devices.ts';
import { startRemoteRequest } from '../../src/relay/remote-requests.ts';
import { RemoteSession } from '../../src/relay/remote-session.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const MiB = 1024 * 1024;
/** What one streamed answer may hold: its queue plus a read or two of the route's body. */
const ANSWER_HOLDS_AT_MOST = 512 * 1024;

/** Byte `i` of the test body: a pattern a missing, repeated or reordered chunk would break. */
function bodyBytes(from: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((from + i) * 31 + ((from + i) >>> 16)) & 0xff;
  return b;
}

/** A route body of `total` bytes made on demand, counting how much the route was let produce. */
function producer(total: number) {
  const state = { produced: 0, destroyed: false };
  const stream = new Readable({
    read() {
      if (state.produced >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - state.produced);
      const chunk = bodyBytes(state.produced, n);
      state.produced += n;
      this.push(chunk);
    },
    destroy(err, cb) {
      state.destroyed = true;
      cb(err);
    },
  });
  return { stream, state };
}

const turn = () => new Promise((r) => setImmediate(r));
async function until(what: string, ok: () => boolean, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (ok()) return;
    await turn();
  }
  throw new Error(`never: ${what}`);
}

interface Received {
  head?: { status: number; headers: Record<string, string> };
  chunks: Buffer[];
  bytes: number;
  ended: boolean;
  error?: string;
}

/**
 * A real RemoteSession (end-to-end handshake, streams, the tunnel's Outbox) in front of a real
 * fastify app run by `inject`, as the hub runs remote requests; the device side is the protocol's
 * own client handshake. Only the relay and the socket are left out: frames go straight across.
 */
async function setup(app: FastifyInstance, answerLimits?: { session?: number; hub?: number }) {
  const tmp = tempDir('hearth-answer-');
  const store = Store.open(tmp.dir);
  const identity = loadHubIdentity(store.settings);
  const keys = newDeviceKeys();
  const device: RemoteDevice = {
    id: 'dev-1',
    name: 'phone',
    publicKey: toBase64(keys.sign.publicKey),
    boxPublicKey: toBase64(keys.box.publicKey),
    userId: 'u1',
    username: 'mia',
    role: 'member',
    createdAt: 0,
  };
  const streams = new Map<number, Received>();
  let client: E2eSession | null = null;
  const onDevice = (frame: Uint8Array) => {
    const message = decodeMux(client!.open(frame));
    const r = streams.get(message.stream)!;
    if (message.kind === MUX.RESPONSE) r.head = JSON.parse(fromUtf8(message.body));
    else if (message.kind === MUX.DATA) {
      r.chunks.push(Buffer.from(message.body));
      r.bytes += message.body.length;
    } else if (message.kind === MUX.END) r.ended = true;
    else if (message.kind === MUX.ERROR) r.error = JSON.parse(fromUtf8(message.body)).code;
  };
  // Written "to the socket" a turn later, as a WebSocket calls back once it wrote.
  const outbox = new Outbox((_stream, plain, written) => {
    onDevice(session.seal(plain));
    setImmediate(written);
    return true;
  });
  let welcome: Uint8Array | null = null;
  const session: RemoteSession = new RemoteSession(1, {
    identity,
    identify: (key) => (toBase64(key) === device.publicKey ? device : null),
    outbox,
    log: createLogger({ level: 'silent' }),
    sendRaw: (frame) => {
      welcome = frame;
    },
    close: () => {},
    run: (d, request) => startRemoteRequest(app, d, 'test', request),
    subscribe: () => () => {},
    ...(answerLimits ? { answerLimits } : {}),
  });
  const handshake = clientHandshake(keys.sign, identity.sign.publicKey);
  session.onFrame(handshake.hello);
  client = handshake.finish(welcome!);
  let next = 1;
  return {
    session,
    request(path: string): { stream: number; r: Received } {
      const stream = next;
      next += 2;
      const r: Received = { chunks: [], bytes: 0, ended: false };
      streams.set(stream, r);
      session.onFrame(client!.seal(encodeMuxJson(MUX.REQUEST, stream, { method: 'GET', path })));
      return { stream, r };
    },
    credit: (stream: number, bytes: number) => session.onFrame(client!.seal(encodeCredit(stream, bytes))),
    cancel: (stream: number) => session.onFrame(client!.seal(encodeMux(MUX.CANCEL, stream))),
    cleanup: () => {
      session.ended();
      store.close();
      tmp.cleanup();
    },
  };
}

describe('remote answers stream under the device’s credit, within a per-session bound', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  const appWith = async (routes: (app: FastifyInstance) => void) => {
    const app = Fastify();
    routes(app);
    await app.ready();
    cleanups.push(() => app.close());
    return app;
  };

  it('a 32 MiB answer to a device that grants no credit: the route produces a few hundred KiB and waits; with credit all of it arrives in order', async () => {
    const total = 32 * MiB;
    let route = producer(total);
    const app = await appWith((a) =>
      a.get('/big', async (_req, reply) => {
        route = producer(total);
        return reply.type('application/octet-stream').send(route.stream);
      }),
    );
    const t = await setup(app);
    cleanups.push(t.cleanup);
    const { stream, r } = t.request('/big');
    // The first window goes out; then the hub fills this answer's queue and stops reading.
    await until('the queue filled', () => remoteAnswersHeld() >= ANSWER_QUEUE_BYTES - 64 * 1024);
    for (let i = 0; i < 200; i++) await turn();
    expect(r.head?.status).toBe(200);
    expect(r.bytes).toBe(64 * 1024);
    expect(remoteAnswersHeld()).toBeLessThanOrEqual(ANSWER_HOLDS_AT_MOST);
    // Held back, not read whole: a small part of the 32 MiB was made at all.
    expect(route.state.produced).toBeLessThanOrEqual(MiB);

    const hash = createHash('sha256');
    let hashed = 0;
    let heldMax = 0;
    while (!r.ended && !r.error) {
      t.credit(stream, MiB);
      for (let i = 0; i < 20; i++) await turn();
      heldMax = Math.max(heldMax, remoteAnswersHeld());
      for (const c of r.chunks.splice(0)) {
        hash.update(c);
        hashed += c.length;
      }
    }
    for (const c of r.chunks.splice(0)) {
      hash.update(c);
      hashed += c.length;
    }
    expect(r.error).toBeUndefined();
    expect(hashed).toBe(total);
    const expected = createHash('sha256');
    for (let at = 0; at < total; at += 64 * 1024) expected.update(bodyBytes(at, Math.min(64 * 1024, total - at)));
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(heldMax).toBeLessThanOrEqual(ANSWER_HOLDS_AT_MOST);
    await until('nothing held once done', () => remoteAnswersHeld() === 0);
  });

  it('an answer built in memory beyond the session bound is refused with 413 remote_bytes_exceeded; a smaller one passes; the session goes on', async () => {
    const app = await appWith((a) => {
      a.get('/memory/:size', async (req, reply) =>
        reply.type('application/octet-stream').send(bodyBytes(0, Number((req.params as { size: string }).size))),
      );
      a.get('/small', async () => ({ ok: true }));
    });
    const t = await setup(app, { session: MiB });
    cleanups.push(t.cleanup);
    const big = t.request(`/memory/${2 * MiB}`);
    await until('an answer', () => big.r.ended || big.r.error !== undefined);
    expect(big.r.head?.status).toBe(413);
    expect(JSON.parse(Buffer.concat(big.r.chunks).toString()).error.code).toBe('remote_bytes_exceeded');
    await until('nothing held after the refusal', () => remoteAnswersHeld() === 0);

    const fits = t.request(`/memory/${512 * 1024}`);
    await until('its first window', () => fits.r.bytes >= 64 * 1024);
    t.credit(fits.stream, MiB);
    await until('the whole answer', () => fits.r.ended);
    expect(Buffer.concat(fits.r.chunks).equals(bodyBytes(0, 512 * 1024))).toBe(true);

    const small = t.request('/small');
    await until('the small answer', () => small.r.ended);
    expect(JSON.parse(Buffer.concat(small.r.chunks).toString())).toEqual({ ok: true });
  });

  it('streamed answers nobody reads meet the bound: the one that grows past it fails with remote_bytes_exceeded', async () => {
    const routes: ReturnType<typeof producer>[] = [];
    const app = await appWith((a) =>
      a.get('/big', async (_req, reply) => {
        const p = producer(8 * MiB);
        routes.push(p);
        return reply.type('application/octet-stream').send(p.stream);
      }),
    );
    const t = await setup(app, { session: MiB });
    cleanups.push(t.cleanup);
    const all = Array.from({ length: 6 }, () => t.request('/big'));
    await until('a refusal', () => all.some((a) => a.r.error === 'remote_bytes_exceeded'));
    for (let i = 0; i < 200; i++) await turn();
    expect(remoteAnswersHeld()).toBeLessThanOrEqual(MiB + ANSWER_HOLDS_AT_MOST);
    // What the refused ones held is let go, and their routes stopped.
    const refused = all.filter((a) => a.r.error === 'remote_bytes_exceeded');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    await until('the refused routes stopped', () => routes.filter((p) => p.state.destroyed).length >= refused.length);
  });

  it('all sessions together are bounded too: a session under its own bound is refused once the hub holds its total', async () => {
    const app = await appWith((a) =>
      a.get('/big', async (_req, reply) => reply.type('application/octet-stream').send(producer(8 * MiB).stream)),
    );
    const limits = { session: 4 * MiB, hub: MiB };
    const sessions = [
      await setup(app, limits),
      await setup(app, limits),
      await setup(app, limits),
      await setup(app, limits),
      await setup(app, limits),
    ];
    for (const t of sessions) cleanups.push(t.cleanup);
    // One stalled download per session: each well under its session's bound.
    const downloads = sessions.map((t) => t.request('/big'));
    await until('a refusal', () => downloads.some((d) => d.r.error === 'remote_bytes_exceeded'));
    for (let i = 0; i < 200; i++) await turn();
    expect(remoteAnswersHeld()).toBeLessThanOrEqual(MiB + ANSWER_HOLDS_AT_MOST);
    expect(downloads.filter((d) => d.r.error === undefined).length).toBeGreaterThanOrEqual(1);
  });

  it('CANCEL and the end of the session stop the route’s answer', async () => {
    const routes: ReturnType<typeof producer>[] = [];
    const app = await appWith((a) =>
      a.get('/big', async (_req, reply) => {
        const p = producer(8 * MiB);
        routes.push(p);
        return reply.type('application/octet-stream').send(p.stream);
      }),
    );
    const t = await setup(app);
    cleanups.push(t.cleanup);
    const first = t.request('/big');
    await until('its first window', () => first.r.bytes >= 64 * 1024);
    t.cancel(first.stream);
    await until('the route stopped', () => routes[0]!.state.destroyed);
    const second = t.request('/big');
    await until('its first window', () => second.r.bytes >= 64 * 1024);
    t.session.ended();
    await until('the route stopped with the session', () => routes[1]!.state.destroyed);
    await until('nothing held', () => remoteAnswersHeld() === 0);
  });
});
