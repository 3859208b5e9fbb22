import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SETUP_CODE_MAX_FAILURES } from '../../src/auth/service.ts';
import { harness, OWNER, type Harness } from '../api/harness.ts';
import { api, readSetupCode } from '../helpers/http.ts';
import { startHub } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';

const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));

/**
 * First-run takeover (issue 12): the first owner can only be created over HTTP with the one-time
 * setup code the person at the hub can read (DATA/setup-code 0600, the log, `hearth-admin
 * setup-code`). A guest who reaches a new hub first, or a rebinding web page, gets 403
 * `setup_code_invalid`, and guessing is bounded per address and in all.
 */
describe('first-run setup code', () => {
  it('is written 0600, logged and printed by hearth-admin; the API refuses a missing or wrong code and accepts it once', async () => {
    const t = tempDir();
    const dataDir = join(t.dir, 'data');
    const hub = await startHub(dataDir);
    try {
      const file = join(dataDir, 'setup-code');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const code = readSetupCode(dataDir);
      expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
      expect(hub.logs.some((l) => typeof l.msg === 'string' && l.msg.includes(code))).toBe(true);
      const printed = spawnSync(process.execPath, [ADMIN, 'setup-code', '--data', dataDir], { encoding: 'utf8' });
      expect([printed.status, printed.stdout.trim()]).toEqual([0, code]);

      const missing = await api(hub.baseUrl, 'POST', '/api/v1/setup', { body: OWNER });
      expect([missing.status, missing.body.error.code]).toEqual([403, 'setup_code_invalid']);
      const wrong = await api(hub.baseUrl, 'POST', '/api/v1/setup', {
        body: { ...OWNER, setupCode: 'AAAA-BBBB-CCCC' },
      });
      expect([wrong.status, wrong.body.error.code]).toEqual([403, 'setup_code_invalid']);
      // Still no owner: every other route says so.
      expect((await api(hub.baseUrl, 'GET', '/api/v1/devices')).body.error.code).toBe('setup_required');

      // Typed by hand: lower case and without dashes is the same code.
      const ok = await api(hub.baseUrl, 'POST', '/api/v1/setup', {
        body: { ...OWNER, setupCode: code.toLowerCase().replaceAll('-', '') },
      });
      expect(ok.status).toBe(201);
      expect(existsSync(file)).toBe(false);
      const again = await api(hub.baseUrl, 'POST', '/api/v1/setup', { body: { ...OWNER, setupCode: code } });
      expect([again.status, again.body.error.code]).toEqual([409, 'already_set_up']);
      const after = spawnSync(process.execPath, [ADMIN, 'setup-code', '--data', dataDir], { encoding: 'utf8' });
      expect([after.status, after.stderr]).toEqual([1, expect.stringContaining('already_set_up')]);
    } finally {
      await hub.kill9();
      t.cleanup();
    }
  });

  it('hearth-admin create-owner needs no code and removes it', async () => {
    const t = tempDir();
    try {
      const printed = spawnSync(process.execPath, [ADMIN, 'setup-code', '--data', t.dir], { encoding: 'utf8' });
      expect(printed.status).toBe(0);
      expect(existsSync(join(t.dir, 'setup-code'))).toBe(true);
      const made = spawnSync(process.execPath, [ADMIN, 'create-owner', '--data', t.dir, '--username', 'ann'], {
        input: 'a long passphrase\n',
        encoding: 'utf8',
      });
      expect(made.status).toBe(0);
      expect(existsSync(join(t.dir, 'setup-code'))).toBe(false);
    } finally {
      t.cleanup();
    }
  });

  describe('bounded guessing', () => {
    let h: Harness;
    afterEach(async () => {
      await h.close();
    });

    const guess = (address: string, setupCode: string) =>
      h.app.inject({ method: 'POST', url: '/api/v1/setup', remoteAddress: address, payload: { ...OWNER, setupCode } });

    it('refuses an address after its budget (429) and replaces the code after too many wrong ones in all', async () => {
      // No slow-down (the test clock does not run by itself); a ban after 5 failures.
      h = await harness({ config: { auth: { loginSlowAfter: 100, loginBanAfter: 5 } } });
      const original = readSetupCode(h.config.dataDir);
      for (let i = 0; i < 5; i++) {
        const res = await guess('10.0.0.1', `WRNG-CODE-00${i}A`);
        expect([res.statusCode, res.json().error.code]).toEqual([403, 'setup_code_invalid']);
      }
      // The sixth try from that address is refused before the code is even compared: the right
      // code does not help it.
      const banned = await guess('10.0.0.1', original);
      expect([banned.statusCode, banned.json().error.code]).toEqual([429, 'too_many_requests']);

      // A guess spread over many addresses: after SETUP_CODE_MAX_FAILURES wrong codes in all, the
      // code is replaced, so the guesser starts over against a new one.
      let failures = 5;
      for (let a = 2; failures < SETUP_CODE_MAX_FAILURES; a++) {
        for (let i = 0; i < 5 && failures < SETUP_CODE_MAX_FAILURES; i++, failures++) {
          const res = await guess(`10.0.0.${a}`, `WRNG-CODE-${a}${i}AB`);
          expect([res.statusCode, res.json().error.code]).toEqual([403, 'setup_code_invalid']);
        }
      }
      const replaced = readSetupCode(h.config.dataDir);
      expect(replaced).not.toBe(original);
      const stale = await guess('10.0.1.1', original);
      expect([stale.statusCode, stale.json().error.code]).toEqual([403, 'setup_code_invalid']);
      const ok = await guess('10.0.1.2', replaced);
      expect(ok.statusCode).toBe(201);
    });
  });
});
