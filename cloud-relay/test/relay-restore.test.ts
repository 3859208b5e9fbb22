import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, readSetupCode, setupOwner } from '../../hub/test/helpers/http.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { mountTmpfs, unmount } from '../../hub/test/helpers/tmpfs.ts';
import { remote, startRelay, waitFor, type RelayProcess } from './helpers/processes.ts';

const PASSWORD = 'correct horse battery';
const PASSPHRASE = 'the schedule passphrase';
const ROOM = 'Boiler Room';

/**
 * An off-site backup onto a new hub in one step (`hearth-remote restore-to`): the old hub stored
 * its scheduled backup at a real relay and is gone; the owner's phone fetches it from the relay
 * and hands it to a new hub's first-run restore. Refused with codes, the new hub unchanged: a
 * member's and a guest's phone (the relay: `not_owner`), a wrong passphrase and a wrong setup
 * code (the new hub), and a backup larger than the new hub's disk allows (`backup_storage_full`).
 */
describe('hearth-remote restore-to: off-site backup onto a new hub in one step', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;
  let oldHub: HubProcess | undefined;
  let newHub: HubProcess | undefined;
  let smallHub: HubProcess | undefined;
  let smallDir: string | undefined;
  const keys: Record<string, string> = {};
  let backupId: string;
  let phoneTmp: string;

  const restoreTo = (who: string, hub: HubProcess, opts: { code?: string; passphrase?: string } = {}) => {
    const pass = join(tmp.dir, `pass-${who}-${Math.random()}`);
    writeFileSync(pass, `${opts.passphrase ?? PASSPHRASE}\n`);
    // The phone's temp dir, to see that the fetched file does not stay there.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = phoneTmp;
    const run = remote([
      'restore-to',
      '--keys',
      keys[who]!,
      '--hub',
      hub.baseUrl,
      '--setup-code',
      opts.code ?? readSetupCode(hub.dataDir),
      '--passphrase-file',
      pass,
    ]);
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    return run;
  };
  /** Still a new hub: every API but setup answers setup_required, and no backup was kept. */
  const untouched = async (hub: HubProcess) => {
    const res = await api(hub.baseUrl, 'GET', '/api/v1/rooms');
    expect([res.status, res.body.error?.code]).toEqual([409, 'setup_required']);
    const kept = existsSync(join(hub.dataDir, 'backups')) ? readdirSync(join(hub.dataDir, 'backups')) : [];
    expect(kept.filter((n) => n.endsWith('.hbk') || n.endsWith('.upload'))).toEqual([]);
  };

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-restore-');
    phoneTmp = join(tmp.dir, 'phone-tmp');
    mkdirSync(phoneTmp);
    relay = await startRelay(['--data', join(tmp.dir, 'relay')]);
    oldHub = await startHub(join(tmp.dir, 'old'), ['--relay', relay.url]);
    const owner = await setupOwner(oldHub, 'owner', PASSWORD);
    expect((await api(oldHub.baseUrl, 'POST', '/api/v1/rooms', { token: owner, body: { name: ROOM } })).status).toBe(
      201,
    );
    for (const [username, role] of [
      ['mia', 'member'],
      ['gus', 'guest'],
    ] as const) {
      const add = await api(oldHub.baseUrl, 'POST', '/api/v1/users', {
        token: owner,
        body: { username, password: PASSWORD, role },
      });
      expect(add.status, JSON.stringify(add.body)).toBe(201);
    }
    await waitFor(async () => (oldHub!.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'tunnel up');
    for (const username of ['owner', 'mia', 'gus']) {
      keys[username] = join(tmp.dir, `${username}-phone.json`);
      const enrolled = await remote([
        'enroll',
        '--hub',
        oldHub.baseUrl,
        '--username',
        username,
        '--password',
        PASSWORD,
        '--keys',
        keys[username]!,
      ]);
      expect(enrolled.code, enrolled.stderr).toBe(0);
    }
    // 6 MiB in the firmware store: larger than the small disk below lets a restore upload be.
    mkdirSync(join(oldHub.dataDir, 'firmware'), { recursive: true });
    writeFileSync(join(oldHub.dataDir, 'firmware', 'image.bin'), randomBytes(6 * 1024 * 1024));
    const on = await api(oldHub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
      token: owner,
      body: { enabled: true, time: '03:00', keep: 3, offsite: true, passphrase: PASSPHRASE },
    });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const run = await api(oldHub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token: owner });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    backupId = run.body.id;
    const status = await api(oldHub.baseUrl, 'GET', '/api/v1/backups/schedule', { token: owner });
    expect(status.body).toMatchObject({ lastOffsite: backupId, lastError: null });
    // The old hub dies with its card.
    await oldHub.kill9();
    oldHub = undefined;
    newHub = await startHub(join(tmp.dir, 'new'));
  }, 180_000);

  afterAll(async () => {
    await smallHub?.stop();
    if (smallDir) unmount(smallDir);
    await newHub?.stop();
    await oldHub?.kill9();
    await relay?.kill9();
    tmp?.cleanup();
  });

  it("a member's and a guest's phone get nothing from the relay; the new hub is unchanged", async () => {
    for (const who of ['mia', 'gus']) {
      const res = await restoreTo(who, newHub!);
      expect([res.code, res.stderr.trim()], who).toEqual([3, 'hearth-remote: not_owner']);
    }
    await untouched(newHub!);
  }, 60_000);

  it('the owner’s phone with a wrong passphrase or a wrong setup code: refused by the new hub, nothing changes', async () => {
    const wrongPass = await restoreTo('owner', newHub!, { passphrase: 'not the passphrase' });
    expect([wrongPass.code, wrongPass.stderr.trim()]).toEqual([1, 'hearth-remote: backup_passphrase_wrong']);
    await untouched(newHub!);
    const wrongCode = await restoreTo('owner', newHub!, { code: 'WRONG-CODE' });
    expect([wrongCode.code, wrongCode.stderr.trim()]).toEqual([1, 'hearth-remote: setup_code_invalid']);
    await untouched(newHub!);
    // Nothing of the sealed file stays on the phone either.
    expect(readdirSync(phoneTmp)).toEqual([]);
  }, 120_000);

  it('a new hub whose disk cannot hold the backup refuses it (backup_storage_full)', async (ctx) => {
    smallDir = join(tmp.dir, 'small');
    const why = mountTmpfs(smallDir, 24);
    if (why) {
      smallDir = undefined;
      ctx.skip();
      return;
    }
    smallHub = await startHub(join(smallDir, 'data'));
    const res = await restoreTo('owner', smallHub);
    expect([res.code, res.stderr.trim()]).toEqual([1, 'hearth-remote: backup_storage_full']);
    await untouched(smallHub);
  }, 120_000);

  it('the owner’s phone restores the newest off-site backup in one step: the new hub restarts on the old home', async () => {
    const res = await restoreTo('owner', newHub!);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ id: backupId, hub: { restarting: true, counts: { users: 3 } } });
    expect(out.bytes).toBeGreaterThan(6 * 1024 * 1024);
    expect(readdirSync(phoneTmp)).toEqual([]);
    expect(await newHub!.stop()).toBe(75);
    newHub = await startHub(newHub!.dataDir);
    const login = await api(newHub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const rooms = await api(newHub.baseUrl, 'GET', '/api/v1/rooms', { token: login.body.accessToken });
    expect((rooms.body as { name: string }[]).map((r) => r.name)).toContain(ROOM);
    expect(readFileSync(join(newHub.dataDir, 'firmware', 'image.bin')).length).toBe(6 * 1024 * 1024);
  }, 180_000);

  it('the phones enrolled with the old hub keep working through the relay with the restored one, no enrolling again', async () => {
    // The restored hub joins the relay as the old one (the relay identity came back with the
    // backup): the phones' end-to-end handshake checks the hub key their keys file pinned.
    await newHub!.stop();
    newHub = await startHub(newHub!.dataDir, ['--relay', relay.url]);
    await waitFor(async () => (newHub!.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'tunnel up');
    // Logging in through the relay (the keys file keeps no session): the enrolment, not a new one.
    const rooms = await remote(['call', '--keys', keys.owner!, '--password', PASSWORD, 'GET', '/api/v1/rooms']);
    expect(rooms.code, rooms.stderr + rooms.stdout).toBe(0);
    expect((JSON.parse(rooms.stdout) as { name: string }[]).map((r) => r.name)).toContain(ROOM);
    const me = await remote(['call', '--keys', keys.mia!, '--password', PASSWORD, 'GET', '/api/v1/me']);
    expect(me.code, me.stderr + me.stdout).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ username: 'mia', role: 'member' });
    // Still refused what it was refused before: a member cannot list the people.
    const users = await remote(['call', '--keys', keys.mia!, '--password', PASSWORD, 'GET', '/api/v1/users']);
    expect(users.code).toBe(1);
    expect(JSON.parse(users.stdout).error.code).toBe('forbidden');
  }, 180_000);
});
