import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { connectMqtt } from '../../hub/test/helpers/mqtt.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { toBase64, utf8 } from '@hearth/protocol/encoding';
import { CONTEXT, newDeviceKeys, relayAuthMessage } from '@hearth/protocol/keys';
import { readKeys } from '../src/cli/keys-file.ts';
import {
  redisCli,
  remote,
  startRedisCluster,
  startRelay,
  waitFor,
  type RedisClusterProcess,
  type RelayProcess,
} from './helpers/processes.ts';
import { handshake } from './helpers/raw-peer.ts';

const PASSWORD = 'correct horse battery';
const SECRET_NAME = 'Porch Lamp Zanzibar';

/**
 * Two relay nodes on a real Redis Cluster of three primaries (`redis-cluster://`): a real hub
 * tunnelled to node 1, hearth-remote enrolled on the LAN calling through node 2 (frames cross
 * nodes by sharded pub/sub), a second home whose keys live on another shard, and the last-known
 * state kept after the hub stops.
 */
describe('relay: two nodes on a Redis Cluster', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cluster: RedisClusterProcess;
  let node1: RelayProcess;
  let node2: RelayProcess;
  let hub: HubProcess;
  let token: string;
  let keys: string;
  let deviceId: string;
  let hubId: string;
  const mqttClients: MqttClient[] = [];

  /** The port of the primary serving `slot`, from CLUSTER SLOTS. */
  async function ownerOf(slot: number): Promise<number> {
    const client = new Redis({ host: '127.0.0.1', port: cluster.nodes[0]!.port, lazyConnect: true });
    await client.connect();
    try {
      const slots = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]]][];
      return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
    } finally {
      client.disconnect();
    }
  }

  const keySlot = async (key: string) =>
    Number((await redisCli(['-p', String(cluster.nodes[0]!.port), 'cluster', 'keyslot', key])).trim());
  const keysOn = async (port: number, pattern: string) =>
    (await redisCli(['-p', String(port), '--raw', 'keys', pattern])).split('\n').filter(Boolean).sort();
  /** Relay log lines that would mean the backplane misbehaved on the Cluster. */
  const backplaneTrouble = (relay: RelayProcess) =>
    relay.output.filter((l) =>
      /CROSSSLOT|backplane send failed|redis connection error|unreadable backplane|handshake failed/i.test(l),
    );

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-cluster-');
    mkdirSync(join(tmp.dir, 'cluster'));
    cluster = await startRedisCluster(join(tmp.dir, 'cluster'));
    [node1, node2] = await Promise.all([startRelay(['--redis', cluster.url]), startRelay(['--redis', cluster.url])]);
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ devices: { commandTimeoutMs: 3000 } }));
    hub = await startHub(join(tmp.dir, 'hub'), ['--config', config, '--relay', node1.url]);
    token = await setupOwner(hub, 'owner', PASSWORD);

    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: SECRET_NAME, driver: 'mqtt', capabilities: ['switch'] },
    });
    expect(created.status).toBe(201);
    deviceId = created.body.device.id;
    const device = await connectMqtt(hub.mqtt, {
      clientId: deviceId,
      username: deviceId,
      password: created.body.mqtt.password as string,
    });
    mqttClients.push(device);
    await device.subscribeAsync(`hearth/${deviceId}/cmd`, { qos: 1 });
    device.on('message', (topic, payload) => {
      if (topic !== `hearth/${deviceId}/cmd`) return;
      const cmd = JSON.parse(payload.toString());
      device.publish(`hearth/${deviceId}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
    });
    await device.publishAsync(`hearth/${deviceId}/status`, 'online', { qos: 1, retain: true });
    await waitFor(
      async () =>
        (await api(hub.baseUrl, 'GET', `/api/v1/devices/${deviceId}`, { token })).body.available ? true : undefined,
      'device online',
    );
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');

    keys = join(tmp.dir, 'phone.json');
    const enrolled = await remote([
      'enroll',
      '--hub',
      hub.baseUrl,
      '--username',
      'owner',
      '--password',
      PASSWORD,
      '--keys',
      keys,
      '--name',
      'phone',
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    hubId = readKeys(keys).hubId;
  });

  afterAll(async () => {
    for (const c of mqttClients) c.end(true);
    await hub?.kill9();
    await node1?.kill9();
    await node2?.kill9();
    await cluster?.kill9();
    tmp?.cleanup();
  });

  it('through node 2: logs in, toggles the plug on the hub tunnelled to node 1 and reads it back', async () => {
    const login = await remote(['login', '--keys', keys, '--relay', node2.url, '--password', PASSWORD]);
    expect(login.code, login.stderr).toBe(0);
    const toggled = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      `/api/v1/devices/${deviceId}/commands`,
      JSON.stringify({ capability: 'switch', value: true }),
    ]);
    expect(toggled.code, toggled.stderr).toBe(0);
    expect(JSON.parse(toggled.stdout).state.switch).toBe(true);
    const read = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', `/api/v1/devices/${deviceId}`]);
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ id: deviceId, name: SECRET_NAME, state: { switch: true } });
  });

  it('a second home on another shard: its keys in their own slot, both presences renewed by node 1', async () => {
    const slotA = await keySlot(`hearth:{${hubId}}:presence`);
    const ownerA = await ownerOf(slotA);
    // A hub identity whose keys hash to a primary other than home A's.
    let homeB: { id: string; sign: (m: Uint8Array) => string; slot: number; owner: number };
    for (;;) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const id = publicKey.export({ format: 'jwk' }).x!;
      const slot = await keySlot(`hearth:{${id}}:presence`);
      const owner = await ownerOf(slot);
      if (owner === ownerA) continue;
      homeB = { id, slot, owner, sign: (m) => toBase64(new Uint8Array(sign(null, m, privateKey as KeyObject))) };
      break;
    }
    // Home B's tunnel on node 1 as well: node 1 then renews presences on two shards.
    const hubB = await handshake(node1.url, (nonce) => ({
      type: 'hello',
      role: 'hub',
      hubId: homeB.id,
      sig: homeB.sign(relayAuthMessage('hub', nonce, homeB.id)),
    }));
    try {
      expect(hubB.answer.type).toBe('ready');
      const phoneB = newDeviceKeys();
      const doc = JSON.stringify({ hubId: homeB.id, seq: 1, keys: [toBase64(phoneB.sign.publicKey)], revoked: [] });
      hubB.ws.send(
        JSON.stringify({
          type: 'devices',
          doc,
          sig: homeB.sign(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)])),
        }),
      );
      // Its phone through node 2: admitted from the list on B's shard, the hub online on node 1.
      const deviceHello = (nonce: Uint8Array) => ({
        type: 'hello',
        role: 'device',
        hubId: homeB.id,
        key: toBase64(phoneB.sign.publicKey),
        sig: toBase64(nacl.sign.detached(relayAuthMessage('device', nonce, homeB.id), phoneB.sign.secretKey)),
      });
      const admitted = await waitFor(async () => {
        const { ws, answer } = await handshake(node2.url, deviceHello);
        ws.close();
        return answer.type === 'ready' && answer.hubOnline === true ? answer : undefined;
      }, "home B's phone admitted through node 2");
      expect(admitted).toMatchObject({ type: 'ready', hubOnline: true });

      // Each home's keys share one slot, on its own primary and nowhere else.
      expect(homeB.slot).not.toBe(slotA);
      for (const [id, slot, owner] of [
        [hubId, slotA, ownerA],
        [homeB.id, homeB.slot, homeB.owner],
      ] as const) {
        for (const suffix of ['presence', 'offline', 'devices', 'state'])
          expect(await keySlot(`hearth:{${id}}:${suffix}`)).toBe(slot);
        for (const node of cluster.nodes) {
          const found = await keysOn(node.port, `hearth:{${id}}:*`);
          if (node.port === owner)
            expect(found).toEqual(expect.arrayContaining([`hearth:{${id}}:devices`, `hearth:{${id}}:presence`]));
          else expect(found).toEqual([]);
        }
      }
      expect(await keysOn(ownerA, `hearth:{${hubId}}:*`)).toContain(`hearth:{${hubId}}:state`);

      // Stretch both presences' TTLs: node 1's next renewal (every 5 s) puts both back to 15 s,
      // which a pipeline across the two shards would not (the Cluster refuses it).
      const ttl = async (id: string, port: number) =>
        Number((await redisCli(['-p', String(port), 'ttl', `hearth:{${id}}:presence`])).trim());
      await redisCli(['-p', String(ownerA), 'expire', `hearth:{${hubId}}:presence`, '1000']);
      await redisCli(['-p', String(homeB.owner), 'expire', `hearth:{${homeB.id}}:presence`, '1000']);
      await waitFor(
        async () => ((await ttl(hubId, ownerA)) <= 15 && (await ttl(homeB.id, homeB.owner)) <= 15 ? true : undefined),
        'both presences renewed',
        12_000,
        200,
      );
      expect(await ttl(hubId, ownerA)).toBeGreaterThan(0);
      expect(await ttl(homeB.id, homeB.owner)).toBeGreaterThan(0);
    } finally {
      hubB.ws.close();
    }
    expect(backplaneTrouble(node1)).toEqual([]);
    expect(backplaneTrouble(node2)).toEqual([]);
  });

  it('hub stopped: the client gets the last-known state through node 2', async () => {
    const before = Date.now();
    await hub.stop();
    const offline = await waitFor(async () => {
      const r = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/devices']);
      return r.code === 0 && r.stdout.includes('"offline":true') ? r : undefined;
    }, 'the offline answer');
    const body = JSON.parse(offline.stdout);
    expect(body.offlineSince).toBeGreaterThanOrEqual(before);
    expect(body.devices).toEqual([
      expect.objectContaining({ id: deviceId, name: SECRET_NAME, state: expect.objectContaining({ switch: true }) }),
    ]);
    expect(backplaneTrouble(node1)).toEqual([]);
    expect(backplaneTrouble(node2)).toEqual([]);
  });

  it('Cluster gone: a device gets relay_unavailable, the node keeps running', async () => {
    await cluster.kill9();
    await expect(RemoteClient.connect(readKeys(keys), node2.url)).rejects.toMatchObject({ code: 'relay_unavailable' });
    expect((await fetch(`http://127.0.0.1:${node2.port}/health`)).status).toBe(200);
  });
});
