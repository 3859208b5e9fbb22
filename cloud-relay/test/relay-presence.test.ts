import { generateKeyPairSync, sign } from 'node:crypto';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { relayAuthMessage } from '@hearth/protocol/keys';
import { startRedis, startRelay, type RedisProcess, type RelayProcess } from './helpers/processes.ts';

/**
 * One hub, two tunnels on two nodes (its old connection on node 1 may be half-dead while it
 * reconnected through node 2): the newest tunnel keeps the hub, the older node lets go of it
 * rather than the two overwriting the hub's presence in turn.
 */
describe('relay presence across nodes', () => {
  let tmp: ReturnType<typeof tempDir>;
  let redis: RedisProcess;
  let node1: RelayProcess;
  let node2: RelayProcess;

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-presence-');
    redis = await startRedis(tmp.dir);
    node1 = await startRelay(['--redis', redis.url]);
    node2 = await startRelay(['--redis', redis.url]);
  });

  afterAll(async () => {
    await node1?.kill9();
    await node2?.kill9();
    await redis?.stop();
    tmp?.cleanup();
  });

  it('the newest tunnel of a hub wins across nodes', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hubId = publicKey.export({ format: 'jwk' }).x!;
    const open = (url: string) =>
      new Promise<{ ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<number> }>(
        (resolve, reject) => {
          const ws = new WebSocket(url);
          const messages: Record<string, unknown>[] = [];
          const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
          ws.on('message', (data) => {
            const m = JSON.parse(String(data)) as Record<string, unknown>;
            messages.push(m);
            if (m.type === 'challenge') {
              const sig = toBase64(
                new Uint8Array(sign(null, relayAuthMessage('hub', fromBase64(m.nonce as string), hubId), privateKey)),
              );
              ws.send(JSON.stringify({ type: 'hello', role: 'hub', hubId, sig }));
            } else if (m.type === 'ready') resolve({ ws, messages, closed });
          });
          ws.once('error', reject);
        },
      );
    const older = await open(node1.url);
    const newer = await open(node2.url);
    // Node 1 finds the hub taken at its next presence renewal (every 5 s) and closes its tunnel.
    expect(await older.closed).toBe(4409);
    expect(older.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'replaced' }));
    const client = new Redis(redis.url);
    try {
      expect(await client.get(`hearth:{${hubId}}:presence`)).toBe(node2.node);
    } finally {
      client.disconnect();
    }
    expect(newer.ws.readyState).toBe(WebSocket.OPEN);
    newer.ws.close();
  });
});
