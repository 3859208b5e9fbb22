import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/hub-process.ts';
import { api } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';

const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));

/**
 * A headless install (issue 15): `hearth-admin create-installer` and `invite-owner` on the hub's
 * machine, then the real hub over a real socket: the installer sets up, the homeowner accepts the
 * printed invite, and the installer is refused from then on.
 */
describe('hearth-admin create-installer and invite-owner', () => {
  it('hands a home set up from the console to its owner', { timeout: 90_000 }, async () => {
    const t = tempDir();
    const admin = (args: string[], input = '') =>
      spawnSync(process.execPath, [ADMIN, ...args], { input, encoding: 'utf8' });
    try {
      expect(admin(['create-installer', '--data', t.dir]).status).toBe(2);
      expect(admin(['invite-owner', '--data', t.dir, '--support-days', 'soon']).status).toBe(2);
      expect(
        admin(['create-installer', '--data', t.dir, '--username', 'fitter'], 'installer passphrase\n').status,
      ).toBe(0);
      const again = admin(['create-installer', '--data', t.dir, '--username', 'other'], 'another passphrase\n');
      expect([again.status, again.stderr]).toEqual([1, expect.stringContaining('already_set_up')]);
      const tooLong = admin(['invite-owner', '--data', t.dir, '--support-days', '91']);
      expect([tooLong.status, tooLong.stderr]).toEqual([1, expect.stringContaining('validation_failed')]);
      const invited = admin(['invite-owner', '--data', t.dir]);
      expect(invited.status).toBe(0);
      const code = invited.stdout.split('\n')[0]!;
      expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);

      const hub = await startHub(t.dir);
      try {
        const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
          body: { username: 'fitter', password: 'installer passphrase' },
        });
        expect(login.status).toBe(200);
        const room = await api(hub.baseUrl, 'POST', '/api/v1/rooms', {
          token: login.body.accessToken,
          body: { name: 'Hall' },
        });
        expect(room.status).toBe(201);

        const accepted = await api(hub.baseUrl, 'POST', '/api/v1/handover/accept', {
          body: { code: code.toLowerCase(), username: 'alex', password: 'homeowner passphrase' },
        });
        expect(accepted.status).toBe(201);
        const refused = await api(hub.baseUrl, 'GET', '/api/v1/rooms', { token: login.body.accessToken });
        expect([refused.status, refused.body.error.code]).toEqual([401, 'unauthorized']); // sessions ended at handover
        const relogin = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
          body: { username: 'fitter', password: 'installer passphrase' },
        });
        expect([relogin.status, relogin.body.error.code]).toEqual([403, 'installer_access_ended']);
        const audit = await api(hub.baseUrl, 'GET', '/api/v1/audit', { token: accepted.body.accessToken });
        const invite = audit.body.entries.find((e: { action: string }) => e.action === 'handover.invite');
        expect(invite.actor).toEqual({ kind: 'system', part: 'console' });
        expect(audit.body.entries.find((e: { action: string }) => e.action === 'room.add').actor).toMatchObject({
          username: 'fitter',
          role: 'installer',
        });
      } finally {
        await hub.kill9();
      }
      const late = admin(['invite-owner', '--data', t.dir]);
      expect([late.status, late.stderr]).toEqual([1, expect.stringContaining('already_set_up')]);
    } finally {
      t.cleanup();
    }
  });
});
