/**
 * bench/relay: the cloud relay (cloud-relay/, docs/relay-protocol.md).
 *
 * 1. Added latency: a real hub tunnelled to a real relay node; GET /api/v1/me called directly
 *    over HTTP (keep-alive) and through the relay with the remote client (end-to-end encrypted,
 *    the same module the CLI uses), interleaved one by one so both see the same machine.
 * 2. Memory per idle hub tunnel: N simulated hubs (Ed25519 challenge answered, tunnel ready) on
 *    one fresh relay node; its RSS before and after, per tunnel. Peer: the same N idle
 *    connections on a bare `ws` server (bench/lib/ws-peer.ts).
 * 3. Frames/s through one node: one simulated hub and one enrolled simulated device; the device
 *    sends 256-byte frames as fast as the socket takes them, the hub counts arrivals. Peer: the
 *    bare ws forwarder. Rate limits are lifted for this part (they would be the limit).
 *
 * 4. The same across two nodes sharing a real redis-server (hub on one, device on the other):
 *    every frame goes through Redis pub/sub.
 *
 * Options: --calls=N (2000) --tunnels=N (5000) --frames=N (100000; at most 50,000 across nodes)
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { RemoteClient } from '@hearth/protocol/client';
import { fromBase64, toBase64, utf8 } from '@hearth/protocol/encoding';
import { CONTEXT, newDeviceKeys, relayAuthMessage } from '@hearth/protocol/keys';
import { readSetupCode } from '../hub/test/helpers/http.ts';
import { freePort, makeTempDir, rssKiB, sleep, spawnTracked, stopChild, waitFor } from './lib/proc.ts';
import { percentile, ratio, round } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'cloud relay: added latency of a relayed API call, RSS per idle hub tunnel, frames/s through one node';

/** 30 calls, 20 tunnels, 500 frames; shorter settle waits (ctx.smoke). */
export const smoke: BenchSmoke = {
  args: ['--calls=30', '--tunnels=20', '--frames=500'],
  keys: ['addedP50Ms', 'kibPerTunnel', 'framesPerS', 'crossNodeFramesPerS'],
};

const TARGET_ADDED_P50_MS = 2;
const TARGET_TUNNEL_KIB = 20;
const RELAY_MAIN = fileURLToPath(new URL('../cloud-relay/src/main.ts', import.meta.url));
const HUB_MAIN = fileURLToPath(new URL('../hub/src/main.ts', import.meta.url));
const PEER = fileURLToPath(new URL('./lib/ws-peer.ts', import.meta.url));
const PASSWORD = 'correct horse battery';
const LIFTED = [
  '--device-rate',
  '100000000',
  '--device-burst',
  '100000000',
  '--hub-rate',
  '100000000',
  '--hub-burst',
  '100000000',
];

interface Proc {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Spawns a node script and waits for the JSON line carrying its port. */
async function spawnWithPort(
  args: string[],
  portOf: (entry: Record<string, unknown>) => number | undefined,
): Promise<Proc> {
  const child = spawnTracked(process.execPath, args);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const port = portOf(JSON.parse(line) as Record<string, unknown>);
        if (port) {
          clearTimeout(timer);
          resolve(port);
        }
      } catch {
        // not JSON
      }
    });
    child.stderr!.resume();
    child.once('exit', () => reject(new Error(`${args[0]} exited`)));
  });
  return { pid: child.pid!, port, stop: () => stopChild(child) };
}

const startRelay = (extra: string[]) =>
  spawnWithPort([RELAY_MAIN, '--port', '0', '--host', '127.0.0.1', ...extra], (e) =>
    typeof e.port === 'number' ? e.port : undefined,
  );

/** A simulated hub: an Ed25519 key (node:crypto, fast) and the tunnel handshake. */
class SimHub {
  readonly hubId: string;
  readonly #key: KeyObject;
  ws!: WebSocket;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.hubId = publicKey.export({ format: 'jwk' }).x!;
    this.#key = privateKey;
  }

  sign(message: Uint8Array): string {
    return toBase64(new Uint8Array(sign(null, message, this.#key)));
  }

  connect(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      this.ws = ws;
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const message = JSON.parse(String(data)) as { type: string; nonce?: string; code?: string };
        if (message.type === 'challenge') {
          ws.send(
            JSON.stringify({
              type: 'hello',
              role: 'hub',
              hubId: this.hubId,
              sig: this.sign(relayAuthMessage('hub', fromBase64(message.nonce!), this.hubId)),
            }),
          );
        } else if (message.type === 'ready') {
          resolve();
        } else if (message.type === 'error') {
          reject(new Error(message.code));
        }
      });
    });
  }
}

async function connectMany(n: number, connect: () => Promise<unknown>): Promise<void> {
  const batch = 100;
  for (let i = 0; i < n; i += batch) await Promise.all(Array.from({ length: Math.min(batch, n - i) }, connect));
}

async function latency(ctx: BenchContext, calls: number): Promise<Record<string, number>> {
  // Sequential calls as fast as they go would hit the per-device rate limit: lifted here.
  const relay = await startRelay(['--data', makeTempDir('relay-lat'), ...LIFTED]);
  const hubDir = makeTempDir('relay-hub');
  const hub = await spawnWithPort(
    [
      HUB_MAIN,
      '--data',
      join(hubDir, 'data'),
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
      '--relay',
      `ws://127.0.0.1:${relay.port}`,
    ],
    (e) =>
      typeof e.msg === 'string' && e.msg.startsWith('hub started') ? (e.ports as { http: number }).http : undefined,
  );
  try {
    const base = `http://127.0.0.1:${hub.port}`;
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const session = await post('/api/v1/setup', {
      username: 'owner',
      password: PASSWORD,
      setupCode: readSetupCode(join(hubDir, 'data')),
    });
    const token = session.accessToken as string;
    const keys = newDeviceKeys();
    const enrolment = await post(
      '/api/v1/remote/devices',
      { publicKey: toBase64(keys.sign.publicKey), boxPublicKey: toBase64(keys.box.publicKey), name: 'bench' },
      token,
    );
    const device = {
      seed: toBase64(keys.seed),
      deviceId: (enrolment.device as { id: string }).id,
      username: 'owner',
      hubId: enrolment.hubId as string,
      relayUrls: enrolment.relayUrls as string[],
      homeKey: enrolment.homeKey as string | null,
    };
    let client: RemoteClient | undefined;
    await waitFor(
      'the hub tunnel',
      async () => {
        client = await RemoteClient.connect(device).catch(() => undefined);
        if (client && !client.hubOnline) client.close();
        return client?.hubOnline === true;
      },
      20_000,
      200,
    );
    const direct: number[] = [];
    const relayed: number[] = [];
    const warmup = Math.min(300, calls);
    for (let i = 0; i < warmup + calls; i++) {
      let t = performance.now();
      const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      const d = performance.now() - t;
      t = performance.now();
      const r = await client!.call('GET', '/api/v1/me', { token });
      const rl = performance.now() - t;
      if (res.status !== 200 || r.status !== 200) throw new Error(`call failed: ${res.status} / ${r.status}`);
      if (i >= warmup) {
        direct.push(d);
        relayed.push(rl);
      }
    }
    client!.close();
    direct.sort((a, b) => a - b);
    relayed.sort((a, b) => a - b);
    const out = {
      directP50Ms: round(percentile(direct, 0.5), 3),
      directP99Ms: round(percentile(direct, 0.99), 3),
      relayedP50Ms: round(percentile(relayed, 0.5), 3),
      relayedP99Ms: round(percentile(relayed, 0.99), 3),
    };
    const added = {
      addedP50Ms: round(out.relayedP50Ms - out.directP50Ms, 3),
      addedP99Ms: round(out.relayedP99Ms - out.directP99Ms, 3),
    };
    ctx.log(
      `latency over ${calls} calls: direct p50 ${out.directP50Ms} ms p99 ${out.directP99Ms} ms; ` +
        `relayed p50 ${out.relayedP50Ms} ms p99 ${out.relayedP99Ms} ms; added p50 ` +
        `${added.addedP50Ms} ms p99 ${added.addedP99Ms} ms`,
    );
    return { ...out, ...added };
  } finally {
    await hub.stop();
    await relay.stop();
  }
}

async function idleMemory(ctx: BenchContext, tunnels: number): Promise<Record<string, number>> {
  const measure = async (proc: Proc, connect: () => Promise<WebSocket>) => {
    await sleep(ctx.smoke ? 100 : 500);
    const before = rssKiB(proc.pid);
    const sockets: WebSocket[] = [];
    const started = performance.now();
    await connectMany(tunnels, async () => sockets.push(await connect()));
    const connectS = (performance.now() - started) / 1000;
    await sleep(ctx.smoke ? 200 : 2000); // idle: let allocation settle (a smoke run's figure means nothing anyway)
    const after = rssKiB(proc.pid);
    for (const ws of sockets) ws.terminate();
    return { perKiB: (after - before) / tunnels, connectS };
  };

  const relay = await startRelay(['--data', makeTempDir('relay-mem'), '--tunnels-per-min', '100']);
  let relayResult;
  try {
    const url = `ws://127.0.0.1:${relay.port}`;
    relayResult = await measure(relay, async () => {
      const hub = new SimHub();
      await hub.connect(url);
      return hub.ws;
    });
  } finally {
    await relay.stop();
  }
  const peer = await spawnWithPort([PEER], (e) => (typeof e.port === 'number' ? e.port : undefined));
  let peerResult;
  try {
    peerResult = await measure(
      peer,
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${peer.port}`, { perMessageDeflate: false });
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        }),
    );
  } finally {
    await peer.stop();
  }
  ctx.log(
    `${tunnels} idle hub tunnels: ${round(relayResult.perKiB, 1)} KiB each on the relay ` +
      `(connected in ${round(relayResult.connectS, 1)} s); bare ws peer ` +
      `${round(peerResult.perKiB, 1)} KiB per connection`,
  );
  return {
    tunnels,
    kibPerTunnel: round(relayResult.perKiB, 2),
    peerKibPerConnection: round(peerResult.perKiB, 2),
    tunnelsConnectS: round(relayResult.connectS, 1),
  };
}

/** Sends `frames` 256-byte frames as fast as the socket takes them; resolves with frames/s once all arrived. */
async function pump(source: WebSocket, received: () => number, frames: number): Promise<number> {
  const payload = randomBytes(256);
  const started = performance.now();
  for (let sent = 0; sent < frames; ) {
    // Keep the socket fed without buffering everything at once.
    while (source.bufferedAmount < 1 << 20 && sent < frames) {
      source.send(payload);
      sent++;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  await waitFor('all frames', () => received() >= frames, 120_000, 5);
  return frames / ((performance.now() - started) / 1000);
}

/** A simulated hub on `hubUrl` and an enrolled simulated device on `deviceUrl`; device → hub frames/s. */
async function relayedFrames(hubUrl: string, deviceUrl: string, frames: number): Promise<number> {
  const hub = new SimHub();
  await hub.connect(hubUrl);
  let received = 0;
  hub.ws.on('message', (_data, isBinary) => {
    if (isBinary) received++;
  });
  const device = newDeviceKeys();
  const doc = JSON.stringify({
    hubId: hub.hubId,
    seq: Date.now(),
    keys: [toBase64(device.sign.publicKey)],
    revoked: [],
  });
  hub.ws.send(
    JSON.stringify({ type: 'devices', doc, sig: hub.sign(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)])) }),
  );
  await sleep(300);
  const deviceKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(device.seed)]),
    format: 'der',
    type: 'pkcs8',
  });
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(deviceUrl, { perMessageDeflate: false });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as { type: string; nonce?: string; hubOnline?: boolean };
      if (m.type === 'challenge') {
        const sig = toBase64(
          new Uint8Array(sign(null, relayAuthMessage('device', fromBase64(m.nonce!), hub.hubId), deviceKey)),
        );
        ws.send(
          JSON.stringify({
            type: 'hello',
            role: 'device',
            hubId: hub.hubId,
            key: toBase64(device.sign.publicKey),
            sig,
          }),
        );
      } else if (m.type === 'ready' && m.hubOnline) resolve(ws);
      else reject(new Error(`device refused: ${String(data)}`));
    });
    ws.once('error', reject);
  });
  try {
    return await pump(ws, () => received, frames);
  } finally {
    ws.terminate();
    hub.ws.terminate();
  }
}

/** Two nodes sharing a real redis-server: the hub on one, the device on the other. */
async function crossNodeFrames(ctx: BenchContext, frames: number): Promise<Record<string, number>> {
  const dir = makeTempDir('relay-redis');
  const port = await freePort();
  const redis = spawnTracked('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ]);
  redis.stderr!.resume();
  try {
    const url = `redis://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 20_000);
      createInterface({ input: redis.stdout! }).on('line', (line) => {
        if (/Ready to accept connections/i.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const a = await startRelay(['--redis', url, ...LIFTED]);
    const b = await startRelay(['--redis', url, ...LIFTED]);
    try {
      const fps = await relayedFrames(`ws://127.0.0.1:${a.port}`, `ws://127.0.0.1:${b.port}`, frames);
      ctx.log(`${frames} frames of 256 B device on node B → hub on node A over Redis pub/sub: ${round(fps)} frames/s`);
      return { crossNodeFramesPerS: round(fps) };
    } finally {
      await a.stop();
      await b.stop();
    }
  } finally {
    await stopChild(redis);
  }
}

async function throughput(ctx: BenchContext, frames: number): Promise<Record<string, number>> {
  const relay = await startRelay(['--data', makeTempDir('relay-fps'), ...LIFTED]);
  let relayFps: number;
  try {
    const url = `ws://127.0.0.1:${relay.port}`;
    relayFps = await relayedFrames(url, url, frames);
  } finally {
    await relay.stop();
  }
  const peer = await spawnWithPort([PEER], (e) => (typeof e.port === 'number' ? e.port : undefined));
  let peerFps: number;
  try {
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${peer.port}`, { perMessageDeflate: false });
        ws.once('message', () => resolve(ws));
        ws.once('error', reject);
      });
    const sink = await open();
    let received = 0;
    sink.on('message', (_d, isBinary) => {
      if (isBinary) received++;
    });
    sink.send('sink');
    const source = await open();
    await sleep(100);
    peerFps = await pump(source, () => received, frames);
    sink.terminate();
    source.terminate();
  } finally {
    await peer.stop();
  }
  ctx.log(
    `${frames} frames of 256 B device → hub: relay ${round(relayFps)} frames/s; bare ws forwarder ${round(peerFps)} frames/s`,
  );
  return { framesPerS: round(relayFps), peerFramesPerS: round(peerFps) };
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: { calls: { type: 'string' }, tunnels: { type: 'string' }, frames: { type: 'string' } },
    strict: true,
  });
  const calls = Number(values.calls ?? 2000);
  const tunnels = Number(values.tunnels ?? 5000);
  const frames = Number(values.frames ?? 100_000);
  const lat = await latency(ctx, calls);
  const mem = await idleMemory(ctx, tunnels);
  const fps = await throughput(ctx, frames);
  const cross = await crossNodeFrames(ctx, Math.min(frames, 50_000));
  return {
    calls,
    ...lat,
    ratioRelayedVsDirectP50: ratio(lat.relayedP50Ms, lat.directP50Ms),
    targetAddedP50Ms: TARGET_ADDED_P50_MS,
    addedP50Met: (lat.addedP50Ms ?? Infinity) < TARGET_ADDED_P50_MS,
    ...mem,
    ratioTunnelVsBareWs: ratio(mem.kibPerTunnel, mem.peerKibPerConnection),
    targetKibPerTunnel: TARGET_TUNNEL_KIB,
    tunnelMemoryMet: (mem.kibPerTunnel ?? Infinity) < TARGET_TUNNEL_KIB,
    ...fps,
    ratioFramesVsBareWs: ratio(fps.framesPerS, fps.peerFramesPerS),
    ...cross,
    ratioCrossNodeVsOneNode: ratio(cross.crossNodeFramesPerS, fps.framesPerS),
  };
}
