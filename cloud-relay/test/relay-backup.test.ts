import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { readKeys } from '../src/cli/keys-file.ts';
import { remote, startRedis, startRelay, waitFor, type RedisProcess, type RelayProcess } from './helpers/processes.ts';

const PASSWORD = 'correct horse battery';
const PASSPHRASE = 'the schedule passphrase';
const SECRET_ROOM = 'Attic Zanzibar Room';

/**
 * Off-site backups (docs/relay-protocol.md "Off-site backups"): a real hub stores its scheduled
 * backups at a real relay on a real Redis, within the home's quota; the owner's phone lists and
 * fetches them, also with the hub gone; a member's phone, another home and over-quota or
 * over-size uploads are refused with codes; Redis holds only sealed bytes.
 */
describe('relay: off-site backups on Redis', () => {
  let tmp: ReturnType<typeof tempDir>;
  let redis: RedisProcess;
  let relay: RelayProcess;
  let hub: HubProcess;
  let owner: string;
  let ownerKeys: string;
  let memberKeys: string;
  const runs: { id: string; bytes: number }[] = [];

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-backup-');
    redis = await startRedis(tmp.dir);
    relay = await startRelay(['--redis', redis.url, '--backups-per-hub', '2']);
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url]);
    owner = await setupOwner(hub, 'owner', PASSWORD);
    const room = await api(hub.baseUrl, 'POST', '/api/v1/rooms', { token: owner, body: { name: SECRET_ROOM } });
    expect(room.status, JSON.stringify(room.body)).toBe(201);
    const member = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token: owner,
      body: { username: 'mia', password: PASSWORD, role: 'member' },
    });
    expect(member.status).toBe(201);
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    ownerKeys = join(tmp.dir, 'owner-phone.json');
    memberKeys = join(tmp.dir, 'member-phone.json');
    for (const [username, keys] of [
      ['owner', ownerKeys],
      ['mia', memberKeys],
    ] as const) {
      const enrolled = await remote([
        'enroll',
        '--hub',
        hub.baseUrl,
        '--username',
        username,
        '--password',
        PASSWORD,
        '--keys',
        keys,
        '--name',
        `${username} phone`,
      ]);
      expect(enrolled.code, enrolled.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await hub?.kill9();
    await relay?.kill9();
    await redis?.stop();
    tmp?.cleanup();
  });

  it('each scheduled backup is stored at the relay; the hub makes room within the quota', async () => {
    // A few MB (a firmware image in the store), so a backup crosses the relay in many pieces.
    mkdirSync(join(hub.dataDir, 'firmware'), { recursive: true });
    writeFileSync(join(hub.dataDir, 'firmware', 'big.bin'), randomBytes(3 * 1024 * 1024));
    const on = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
      token: owner,
      body: { enabled: true, time: '03:00', keep: 5, offsite: true, passphrase: PASSPHRASE },
    });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    for (let i = 0; i < 3; i++) {
      const run = await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token: owner });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      runs.push(run.body);
      expect(run.body.bytes).toBeGreaterThan(3 * 1024 * 1024);
      const status = await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token: owner });
      expect(status.body).toMatchObject({ lastGood: run.body.id, lastOffsite: run.body.id, lastError: null });
    }
    const list = await remote(['backups', '--keys', ownerKeys]);
    expect(list.code, list.stderr).toBe(0);
    const { backups, quota } = JSON.parse(list.stdout);
    expect(quota.count).toBe(2);
    // The oldest went to make room for the newest: the relay keeps two.
    expect(backups.map((b: { id: string }) => b.id)).toEqual([runs[1]!.id, runs[2]!.id]);
    expect(backups.map((b: { bytes: number }) => b.bytes)).toEqual([runs[1]!.bytes, runs[2]!.bytes]);
  }, 120_000);

  it('Redis holds sealed bytes only: no room name, and the pieces start with the .hbk header', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('hearth:*backup*');
      // Two backups of 48+ pieces each, and the index.
      expect(keys.length).toBeGreaterThan(2 * 48);
      for (const key of keys) {
        const value =
          (await client.type(key)) === 'hash'
            ? Buffer.from(JSON.stringify(await client.hgetall(key)))
            : (await client.getBuffer(key))!;
        expect(value.includes(SECRET_ROOM), key).toBe(false);
      }
      const hubId = readKeys(ownerKeys).hubId;
      expect((await client.getBuffer(`hearth:{${hubId}}:backup:${runs[2]!.id}:0`))!.subarray(0, 8).toString()).toBe(
        'HEARTHBK',
      );
      // Complete backups do not expire; nothing is left of the one removed for room.
      expect(await client.ttl(`hearth:{${hubId}}:backup:${runs[2]!.id}:0`)).toBe(-1);
      expect(await client.exists(`hearth:{${hubId}}:backup:${runs[0]!.id}:0`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it("a member's phone and another home are refused; the owner's phone gets the file, also with the hub gone", async () => {
    const member = await remote(['backups', '--keys', memberKeys]);
    expect([member.code, member.stderr.trim()]).toEqual([3, 'hearth-remote: not_owner']);
    const memberGet = await remote([
      'backup-get',
      '--keys',
      memberKeys,
      '--id',
      runs[2]!.id,
      '--out',
      join(tmp.dir, 'stolen.hbk'),
    ]);
    expect([memberGet.code, memberGet.stderr.trim()]).toEqual([3, 'hearth-remote: not_owner']);

    const missing = await remote([
      'backup-get',
      '--keys',
      ownerKeys,
      '--id',
      'hearth-home-20200101T000000000Z',
      '--out',
      join(tmp.dir, 'none.hbk'),
    ]);
    expect([missing.code, missing.stderr.trim()]).toEqual([3, 'hearth-remote: backup_not_found']);

    // A home the relay does not know (the keys file pointed at another hub id).
    const other = join(tmp.dir, 'other-home.json');
    const keys = JSON.parse(readFileSync(ownerKeys, 'utf8'));
    writeFileSync(other, JSON.stringify({ ...keys, hubId: 'A'.repeat(43) }));
    const unknown = await remote(['backups', '--keys', other]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr.trim()).toBe('hearth-remote: device_not_enrolled');

    await hub.kill9();
    const out = join(tmp.dir, 'fetched.hbk');
    const got = await remote(['backup-get', '--keys', ownerKeys, '--id', runs[2]!.id, '--out', out]);
    expect(got.code, got.stderr).toBe(0);
    expect(
      readFileSync(out).equals(readFileSync(join(hub.dataDir, 'backups', 'scheduled', `${runs[2]!.id}.hbk`))),
    ).toBe(true);
  }, 120_000);

  it("the browser's client (RemoteClient) lists and fetches them for the owner, with the hub gone; a member: not_owner", async () => {
    // The web UI's Settings → Backups away from home runs this same code (ui/src/api/offsite-backups.ts).
    const ownerPhone = await RemoteClient.connect(readKeys(ownerKeys));
    try {
      expect(ownerPhone.hubOnline).toBe(false);
      const { backups, quota } = await ownerPhone.offsiteBackups();
      expect(backups.map((b) => [b.id, b.bytes])).toEqual([
        [runs[1]!.id, runs[1]!.bytes],
        [runs[2]!.id, runs[2]!.bytes],
      ]);
      expect(quota.count).toBe(2);
      const pieces: Uint8Array[] = [];
      const bytes = await ownerPhone.offsiteBackup(runs[2]!.id, (data) => pieces.push(data));
      expect(bytes).toBe(runs[2]!.bytes);
      expect(pieces.length).toBeGreaterThan(48);
      expect(
        Buffer.concat(pieces).equals(readFileSync(join(hub.dataDir, 'backups', 'scheduled', `${runs[2]!.id}.hbk`))),
      ).toBe(true);
      await expect(ownerPhone.offsiteBackup('hearth-home-20200101T000000000Z', () => {})).rejects.toMatchObject({
        code: 'backup_not_found',
      });
      // The refusal ended that request only: the connection still answers.
      expect((await ownerPhone.offsiteBackups()).backups).toHaveLength(2);
    } finally {
      ownerPhone.close();
    }
    const memberPhone = await RemoteClient.connect(readKeys(memberKeys));
    try {
      await expect(memberPhone.offsiteBackups()).rejects.toMatchObject({ code: 'not_owner' });
      const got: Uint8Array[] = [];
      await expect(memberPhone.offsiteBackup(runs[2]!.id, (data) => got.push(data))).rejects.toMatchObject({
        code: 'not_owner',
      });
      expect(got).toEqual([]);
    } finally {
      memberPhone.close();
    }
  }, 120_000);
});

describe('relay: off-site backups on one node without Redis (SQLite)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess | undefined;
  const relays: RelayProcess[] = [];
  afterAll(async () => {
    await hub?.kill9();
    for (const r of relays) await r.kill9();
    tmp?.cleanup();
  });

  it("too large and over the home's quota: refused with codes, the backup stays on the hub", async () => {
    tmp = tempDir('hearth-relay-backup-refused-');
    const small = await startRelay(['--data', join(tmp.dir, 'relay-a'), '--max-backup-bytes', '1000']);
    const tight = await startRelay(['--data', join(tmp.dir, 'relay-b'), '--backup-bytes', '1000']);
    relays.push(small, tight);
    const dataDir = join(tmp.dir, 'hub');
    for (const [relay, reason] of [
      [small, 'backup_too_large'],
      [tight, 'backup_quota_exceeded'],
    ] as const) {
      hub = await startHub(dataDir, ['--relay', relay.url]);
      const token =
        reason === 'backup_too_large'
          ? await setupOwner(hub, 'owner', PASSWORD)
          : (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner', password: PASSWORD } }))
              .body.accessToken;
      await waitFor(
        async () => (hub!.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
        'hub tunnel up',
      );
      const on = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
        token,
        body: { enabled: true, time: '03:00', keep: 5, offsite: true, passphrase: PASSPHRASE },
      });
      expect(on.status).toBe(200);
      const run = await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token });
      expect(run.status, reason).toBe(201);
      const status = await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token });
      expect(status.body.lastError, reason).toMatchObject({ code: 'backup_offsite_failed', reason, file: run.body.id });
      expect(status.body.lastGood).toBe(run.body.id);
      await hub.stop();
      hub = undefined;
    }
  }, 180_000);

  it('a single node without Redis (SQLite) stores and hands back the same file', async () => {
    const relay = await startRelay(['--data', join(tmp.dir, 'relay-c')]);
    relays.push(relay);
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url]);
    const token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner', password: PASSWORD } })
    ).body.accessToken;
    await waitFor(async () => (hub!.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    const keys = join(tmp.dir, 'phone.json');
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
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const run = await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token })).body).toMatchObject({
      lastOffsite: run.body.id,
      lastError: null,
    });
    const out = join(tmp.dir, 'from-sqlite.hbk');
    const got = await remote(['backup-get', '--keys', keys, '--id', run.body.id, '--out', out]);
    expect(got.code, got.stderr).toBe(0);
    expect(
      readFileSync(out).equals(readFileSync(join(hub.dataDir, 'backups', 'scheduled', `${run.body.id}.hbk`))),
    ).toBe(true);
  }, 180_000);
});
