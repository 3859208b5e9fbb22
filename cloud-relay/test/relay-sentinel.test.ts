import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { toBase64, utf8 } from '@hearth/protocol/encoding';
import { CONTEXT, newDeviceKeys, relayAuthMessage } from '@hearth/protocol/keys';
import {
  startRedis,
  startRelay,
  startSentinel,
  waitFor,
  type RedisProcess,
  type RelayProcess,
} from './helpers/processes.ts';
import { handshake } from './helpers/raw-peer.ts';

/**
 * A relay node that finds Redis through Sentinel (`redis-sentinel://...`): it keeps routing
 * after the primary is killed and Sentinel promotes the replica.
 */
describe('relay on Redis with Sentinel', () => {
  let tmp: ReturnType<typeof tempDir>;
  let primary: RedisProcess;
  let replica: RedisProcess;
  let sentinel: RedisProcess;
  let relay: RelayProcess;

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-sentinel-');
    for (const d of ['primary', 'replica', 'sentinel']) mkdirSync(join(tmp.dir, d));
    primary = await startRedis(join(tmp.dir, 'primary'));
    replica = await startRedis(join(tmp.dir, 'replica'), ['--replicaof', '127.0.0.1', String(primary.port)]);
    sentinel = await startSentinel(join(tmp.dir, 'sentinel'), 'hearth', primary.port);
    relay = await startRelay(['--redis', `redis-sentinel://127.0.0.1:${sentinel.port}/hearth`]);
  });

  afterAll(async () => {
    await relay?.kill9();
    await sentinel?.kill9();
    await replica?.kill9();
    await primary?.kill9();
    tmp?.cleanup();
  });

  it('admits an enrolled device before and after a failover', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hubId = publicKey.export({ format: 'jwk' }).x!;
    const hubSign = (m: Uint8Array) => toBase64(new Uint8Array(sign(null, m, privateKey as KeyObject)));
    const hub = await handshake(relay.url, (nonce) => ({
      type: 'hello',
      role: 'hub',
      hubId,
      sig: hubSign(relayAuthMessage('hub', nonce, hubId)),
    }));
    expect(hub.answer.type).toBe('ready');
    const device = newDeviceKeys();
    const doc = JSON.stringify({ hubId, seq: 1, keys: [toBase64(device.sign.publicKey)], revoked: [] });
    hub.ws.send(
      JSON.stringify({ type: 'devices', doc, sig: hubSign(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)])) }),
    );
    const deviceHello = (nonce: Uint8Array) => ({
      type: 'hello',
      role: 'device',
      hubId,
      key: toBase64(device.sign.publicKey),
      sig: toBase64(nacl.sign.detached(relayAuthMessage('device', nonce, hubId), device.sign.secretKey)),
    });
    let lastAnswer: unknown;
    const admitted = async () => {
      const { ws, answer } = await handshake(relay.url, deviceHello);
      ws.close();
      lastAnswer = answer;
      return answer.type === 'ready' && answer.hubOnline === true ? answer : undefined;
    };
    await waitFor(admitted, 'the device admitted through the primary');

    // Sentinel learns about replicas from the primary's INFO (every few seconds): a failover needs
    // one it knows, in sync.
    const ask = new Redis({ port: sentinel.port, host: '127.0.0.1', lazyConnect: true });
    await ask.connect();
    try {
      await waitFor(
        async () => {
          const replicas = (await ask.call('SENTINEL', 'replicas', 'hearth')) as string[][];
          // A replica counts for promotion only with a recent INFO reply (within 5 s of the failover).
          const field = (r: string[], name: string) => r[r.indexOf(name) + 1];
          return replicas.some(
            (r) =>
              field(r, 'port') === String(replica.port) &&
              field(r, 'flags') === 'slave' &&
              Number(field(r, 'info-refresh')) < 1500,
          )
            ? true
            : undefined;
        },
        'Sentinel to know the replica',
        30_000,
        100,
      );
    } finally {
      ask.disconnect();
    }
    await primary.kill9();
    // Sentinel notices (1 s), promotes the replica; ioredis asks it for the new primary. If the
    // replica had not received the device list yet (asynchronous replication), the node holding
    // the tunnel writes it back within 10 s: either way the device gets in again.
    const after = await waitFor(admitted, 'the device admitted after the failover', 45_000).catch((err: Error) => {
      throw new Error(
        `${err.message} ${JSON.stringify(lastAnswer)}\n${relay.output.slice(-5).join('\n')}\n${sentinel.output.slice(-25).join('\n')}`,
      );
    });
    expect(after).toMatchObject({ type: 'ready', hubOnline: true });
    hub.ws.close();
  });
});
