import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { RtspCamera } from '../helpers/rtsp-camera.ts';
import { tempDir } from '../helpers/temp.ts';

const PASSPHRASE = 'our long backup passphrase é';

/**
 * "Restore from a backup" on a new hub (POST /api/v1/setup/restore): only before setup, only
 * with the setup code; a wrong passphrase, a damaged file or a wrong code change nothing; the
 * right one restarts the hub (exit 75) on the restored home, the new hub's dir kept aside.
 */
describe('first-run restore over the API (real hubs)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let old: HubProcess;
  let fresh: HubProcess;
  let file: Buffer;
  let ruleId: string;
  let camera: Record<string, unknown>;
  /** A real RTSP camera (the hub probes it when it is added). */
  const porch = new RtspCamera({ width: 160, height: 120, fps: 5 });
  beforeAll(async () => {
    tmp = tempDir('hearth-first-run-restore-');
    old = await startHub(join(tmp.dir, 'old'));
    const token = await setupOwner(old, 'olivia', 'a long enough password');
    const room = await api(old.baseUrl, 'POST', '/api/v1/rooms', { token, body: { name: 'Kitchen' } });
    expect(room.status).toBe(201);
    // A rule edited once (two versions) and a camera's settings: they come back as they were.
    await porch.start();
    const rule = (name: string) => ({
      name,
      mode: 'single',
      triggers: [{ type: 'time', at: '07:30' }],
      conditions: [],
      actions: [{ type: 'notify', message: 'good morning' }],
    });
    const made1 = await api(old.baseUrl, 'POST', '/api/v1/rules', { token, body: rule('Morning') });
    expect(made1.status, JSON.stringify(made1.body)).toBe(201);
    ruleId = made1.body.id;
    const edited = await api(old.baseUrl, 'PUT', `/api/v1/rules/${ruleId}`, { token, body: rule('Morning, edited') });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const cam = await api(old.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Porch', url: porch.url() },
    });
    expect(cam.status, JSON.stringify(cam.body)).toBe(201);
    camera = cam.body;
    const made = await api(old.baseUrl, 'POST', '/api/v1/backups', { token, body: { passphrase: PASSPHRASE } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    file = readFileSync(join(old.dataDir, 'backups', `${made.body.id}.hbk`));
    await old.stop();
    fresh = await startHub(join(tmp.dir, 'fresh'));
  }, 120_000);
  afterAll(async () => {
    await porch.stop();
    await fresh?.stop();
    tmp.cleanup();
  });

  const send = (body: Buffer, headers: Record<string, string>) =>
    fetch(`${fresh.baseUrl}/api/v1/setup/restore`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));

  it('refuses a wrong setup code, a missing or wrong passphrase and a damaged file, changing nothing', async () => {
    const code = readFileSync(join(fresh.dataDir, 'setup-code'), 'utf8').trim();
    const passphrase = encodeURIComponent(PASSPHRASE);
    const noCode = await send(file, { 'x-backup-passphrase': passphrase });
    expect([noCode.status, noCode.body.error.code]).toEqual([403, 'setup_code_invalid']);
    const wrongCode = await send(file, { 'x-setup-code': 'WRONG-CODE', 'x-backup-passphrase': passphrase });
    expect([wrongCode.status, wrongCode.body.error.code]).toEqual([403, 'setup_code_invalid']);
    const noPass = await send(file, { 'x-setup-code': code });
    expect([noPass.status, noPass.body.error.code, noPass.body.error.details?.field]).toEqual([
      400,
      'validation_failed',
      'passphrase',
    ]);
    const wrongPass = await send(file, { 'x-setup-code': code, 'x-backup-passphrase': 'not%20it' });
    expect([wrongPass.status, wrongPass.body.error.code]).toEqual([403, 'backup_passphrase_wrong']);
    const damaged = Buffer.from(file);
    damaged[damaged.length - 40]! ^= 1;
    const bad = await send(damaged, { 'x-setup-code': code, 'x-backup-passphrase': passphrase });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'backup_corrupt']);
    const cut = await send(file.subarray(0, file.length - 100), {
      'x-setup-code': code,
      'x-backup-passphrase': passphrase,
    });
    expect([cut.status, cut.body.error.code]).toEqual([422, 'backup_corrupt']);
    // Still a new hub, nothing left behind.
    expect((await api(fresh.baseUrl, 'GET', '/api/v1/rooms')).body.error.code).toBe('setup_required');
    expect(readdirSync(join(fresh.dataDir, 'backups'))).toEqual([]);
  }, 120_000);

  it('restores with the right passphrase: the hub restarts on the old home', async () => {
    const code = readFileSync(join(fresh.dataDir, 'setup-code'), 'utf8').trim();
    const ok = await send(file, { 'x-setup-code': code, 'x-backup-passphrase': encodeURIComponent(PASSPHRASE) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(ok.body).toMatchObject({ restarting: true, home: 'Home', counts: { users: 1 } });
    expect(await fresh.stop()).toBe(75);
    const safety = readdirSync(dirname(fresh.dataDir)).filter((n) => n.startsWith('fresh.before-restore-'));
    expect(safety).toHaveLength(1);
    expect(existsSync(join(fresh.dataDir, 'setup-code'))).toBe(false);

    // What systemd does: start it again, on the restored home.
    fresh = await startHub(fresh.dataDir);
    const login = await api(fresh.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'olivia', password: 'a long enough password' },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const rooms = await api(fresh.baseUrl, 'GET', '/api/v1/rooms', { token: login.body.accessToken });
    expect(rooms.body.map((r: { name: string }) => r.name)).toContain('Kitchen');
    const auth = { token: login.body.accessToken };
    const rule = await api(fresh.baseUrl, 'GET', `/api/v1/rules/${ruleId}`, auth);
    expect([rule.status, rule.body.name]).toEqual([200, 'Morning, edited']);
    const versions = await api(fresh.baseUrl, 'GET', `/api/v1/rules/${ruleId}/versions`, auth);
    expect(versions.body).toHaveLength(2);
    const cameras = await api(fresh.baseUrl, 'GET', '/api/v1/cameras', auth);
    expect(cameras.body).toEqual([expect.objectContaining({ id: camera.id, name: 'Porch', url: camera.url })]);
    // Set up now: the route is closed.
    const again = await send(file, { 'x-setup-code': code, 'x-backup-passphrase': encodeURIComponent(PASSPHRASE) });
    expect([again.status, again.body.error.code]).toEqual([409, 'already_set_up']);
  }, 120_000);
});
