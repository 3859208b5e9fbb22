import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKey, type ReleaseFile } from '../../src/update/release.ts';
import { spoolPaths } from '../../src/update/spool.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';
import { release } from './fixtures.ts';

const PASSPHRASE = 'our long backup passphrase';

/** PUT /update/package with the bytes as the raw body; `chunked` leaves out Content-Length. */
async function upload(
  baseUrl: string,
  token: string | undefined,
  bytes: Buffer,
  chunked = false,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const body = chunked
    ? new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 65536) c.enqueue(bytes.subarray(i, i + 65536));
          c.close();
        },
      })
    : bytes;
  const res = await fetch(`${baseUrl}/api/v1/update/package`, {
    method: 'PUT',
    headers,
    body,
    ...(chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('hub update over the API (a real hub; the helper is not run here)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let hub: HubProcess;
  let owner: string;
  const tokens: Record<string, string> = {};
  const key = generateReleaseKey();
  const pkg = randomBytes(300 * 1024);
  let pkgFile: string;
  let server: Server;
  const served: Record<string, Buffer> = {};
  const spool = () => spoolPaths(hub.dataDir);
  const signed = async (
    version: string,
    o: { min?: string; privatePem?: string; bytes?: Buffer } = {},
  ): Promise<ReleaseFile> => {
    writeFileSync(pkgFile, o.bytes ?? pkg);
    return release(pkgFile, version, o.privatePem ?? key.privatePem, o.min);
  };

  beforeAll(async () => {
    tmp = tempDir('hearth-update-api-');
    pkgFile = join(tmp.dir, 'hearth_0.2.0_all.deb');
    server = createServer((req, res) => {
      const body = served[req.url ?? ''];
      if (!body) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = join(tmp.dir, 'hearth.json');
    // The package's own bound, not the API's body limit (64 KB here, below the 300 KB package): an
    // upload is streamed to disk, never parsed.
    writeFileSync(
      config,
      JSON.stringify({
        http: { bodyLimitBytes: 65536 },
        update: { releaseKeys: [key.publicB64], maxPackageMb: 1, url: `http://127.0.0.1:${port}/releases/latest.json` },
      }),
    );
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
    owner = await setupOwner(hub);
    for (const role of ['admin', 'member', 'guest'] as const) {
      const add = await api(hub.baseUrl, 'POST', '/api/v1/users', {
        token: owner,
        body: { username: role, password: 'a long enough password', role },
      });
      expect(add.status, JSON.stringify(add.body)).toBe(201);
      tokens[role] = (
        await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
          body: { username: role, password: 'a long enough password' },
        })
      ).body.accessToken as string;
    }
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    server?.close();
    tmp?.cleanup();
  });

  it('only the owner may upload, start, fetch or watch an update', async () => {
    for (const role of ['admin', 'member', 'guest']) {
      expect([(await upload(hub.baseUrl, tokens[role], pkg)).body.error.code]).toEqual(['forbidden']);
      const start = await api(hub.baseUrl, 'POST', '/api/v1/update', {
        token: tokens[role]!,
        body: { passphrase: PASSPHRASE },
      });
      expect([start.status, start.body.error.code]).toEqual([403, 'forbidden']);
      expect((await api(hub.baseUrl, 'POST', '/api/v1/update/fetch', { token: tokens[role]! })).status).toBe(403);
      expect((await api(hub.baseUrl, 'GET', '/api/v1/update', { token: tokens[role]! })).status).toBe(403);
    }
    expect((await upload(hub.baseUrl, undefined, pkg)).status).toBe(401);
    expect(existsSync(spool().dir)).toBe(false);
  });

  it('refuses a package over update.maxPackageMb, declared or streamed, and keeps nothing', async () => {
    const big = randomBytes(1024 * 1024 + 1);
    for (const chunked of [false, true]) {
      const res = await upload(hub.baseUrl, owner, big, chunked);
      expect([chunked, res.status, res.body.error.code]).toEqual([chunked, 413, 'update_package_too_large']);
    }
    expect(existsSync(spool().package)).toBe(false);
    expect(existsSync(`${spool().package}.partial`)).toBe(false);
  });

  it('refuses a foreign signature, an edited manifest, a tampered package and a version step not allowed; nothing changes', async () => {
    const put = await upload(hub.baseUrl, owner, pkg);
    expect([put.status, put.body]).toEqual([
      201,
      { bytes: pkg.length, sha256: createHash('sha256').update(pkg).digest('hex') },
    ]);
    const start = (body: Record<string, unknown>) =>
      api(hub.baseUrl, 'POST', '/api/v1/update', { token: owner, body: { passphrase: PASSPHRASE, ...body } });

    const foreign = await start({ release: await signed('0.2.0', { privatePem: generateReleaseKey().privatePem }) });
    expect([foreign.status, foreign.body.error.code, foreign.body.error.details.reason]).toEqual([
      422,
      'update_release_invalid',
      'bad_signature',
    ]);
    const good = await signed('0.2.0');
    const edited = await start({
      release: { ...good, manifest: good.manifest.replace('"minVersion":"0.0.1"', '"minVersion":"0.0.0"') },
    });
    expect([edited.status, edited.body.error.code]).toEqual([422, 'update_release_invalid']);
    // The release of other bytes than those uploaded.
    const other = await start({ release: await signed('0.2.0', { bytes: randomBytes(1000) }) });
    expect([other.status, other.body.error.code]).toEqual([422, 'update_package_mismatch']);
    const same = await start({ release: await signed('0.1.0') });
    expect([same.status, same.body.error.code]).toEqual([409, 'update_downgrade']);
    const older = await start({ release: await signed('0.0.9') });
    expect([older.status, older.body.error.code]).toEqual([409, 'update_downgrade']);
    const tooOld = await start({ release: await signed('0.3.0', { min: '0.2.0' }) });
    expect([tooOld.status, tooOld.body.error.code]).toEqual([409, 'update_too_old']);
    const noRelease = await start({});
    expect([noRelease.status, noRelease.body.error.code]).toEqual([400, 'validation_failed']);
    // No request for the helper, no backup taken.
    expect(existsSync(spool().request)).toBe(false);
    expect(
      existsSync(join(hub.dataDir, 'backups'))
        ? readdirSync(join(hub.dataDir, 'backups')).filter((n) => n.endsWith('.hbk'))
        : [],
    ).toEqual([]);
  }, 60_000);

  it('starts a signed update: a backup first, then the request the helper picks up; one at a time', async () => {
    const started = await api(hub.baseUrl, 'POST', '/api/v1/update', {
      token: owner,
      body: { passphrase: PASSPHRASE, release: await signed('0.2.0') },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ from: '0.1.0', to: '0.2.0', state: 'running', queued: true });
    const request = JSON.parse(readFileSync(spool().request, 'utf8'));
    expect(request).toMatchObject({
      id: started.body.id,
      version: '0.2.0',
      from: '0.1.0',
      confirmDowngrade: false,
      backupId: started.body.backupId,
    });
    const backups = await api(hub.baseUrl, 'GET', '/api/v1/backups', { token: owner });
    expect(backups.body.map((b: { id: string }) => b.id)).toEqual([started.body.backupId]);
    expect(readFileSync(spool().package).equals(pkg)).toBe(true);
    const view = await api(hub.baseUrl, 'GET', '/api/v1/update', { token: owner });
    expect(view.body).toMatchObject({
      version: '0.1.0',
      staged: { bytes: pkg.length, release: { version: '0.2.0' } },
      update: { id: started.body.id, queued: true },
    });
    // While it waits for the helper: no second request, no new package.
    const again = await api(hub.baseUrl, 'POST', '/api/v1/update', {
      token: owner,
      body: { passphrase: PASSPHRASE, release: await signed('0.2.0') },
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'update_in_progress']);
    expect((await upload(hub.baseUrl, owner, pkg)).body.error.code).toBe('update_in_progress');
    // The helper's answer is what GET shows once it took the request.
    rmSync(spool().request);
    writeFileSync(
      spool().status,
      JSON.stringify({
        id: started.body.id,
        from: '0.1.0',
        to: '0.2.0',
        state: 'rolled_back',
        step: 'rollback_health',
        steps: [],
        error: { code: 'update_unhealthy', message: 'x' },
        missingDevices: [],
        backupId: null,
        startedAt: 1,
        updatedAt: 2,
      }),
    );
    expect((await api(hub.baseUrl, 'GET', '/api/v1/update', { token: owner })).body.update).toMatchObject({
      state: 'rolled_back',
      error: { code: 'update_unhealthy' },
    });
  }, 60_000);

  it('fetches a release and its package from update.url, refusing a package that is not the signed one', async () => {
    const good = await signed('0.2.0');
    served['/releases/latest.json'] = Buffer.from(JSON.stringify(good));
    served['/releases/hearth_0.2.0_all.deb'] = Buffer.concat([
      pkg.subarray(0, 1000),
      Buffer.from([pkg[1000]! ^ 1]),
      pkg.subarray(1001),
    ]);
    const tampered = await api(hub.baseUrl, 'POST', '/api/v1/update/fetch', { token: owner });
    expect([tampered.status, tampered.body.error.code]).toEqual([422, 'update_package_mismatch']);
    expect(existsSync(spool().package)).toBe(false);
    served['/releases/hearth_0.2.0_all.deb'] = pkg;
    const fetched = await api(hub.baseUrl, 'POST', '/api/v1/update/fetch', { token: owner });
    expect([fetched.status, fetched.body]).toEqual([200, { version: '0.2.0', minVersion: '0.0.1', bytes: pkg.length }]);
    const started = await api(hub.baseUrl, 'POST', '/api/v1/update', {
      token: owner,
      body: { passphrase: PASSPHRASE },
    });
    expect([started.status, started.body.to]).toEqual([202, '0.2.0']);
    delete served['/releases/latest.json'];
    rmSync(spool().request);
    const gone = await api(hub.baseUrl, 'POST', '/api/v1/update/fetch', { token: owner });
    expect([gone.status, gone.body.error.code]).toEqual([502, 'update_fetch_failed']);
  }, 60_000);
});
