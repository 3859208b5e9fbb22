import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../core/data-dir.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { readJson } from './helper/state-file.ts';
import {
  checkPackage,
  checkVersionStep,
  parseReleaseFile,
  RELEASE_FILE_MAX_BYTES,
  verifyRelease,
  type ReleaseManifest,
} from './release.ts';
import { spoolPaths, type UpdateRequest, type UpdateStatus } from './spool.ts';

export interface UpdateServiceDeps {
  dataDir: string;
  /** The running hub's version (HUB_VERSION). */
  version: string;
  /** Release keys this hub trusts: update.releaseKeys and the package's hub/release-keys. */
  trustedKeys: string[];
  maxPackageBytes: number;
  /** Where releases are fetched from (update.url): the release file; the package is beside it. */
  url: string | null;
  /** The backup taken before each update (the owner's passphrase). */
  backup: (passphrase: string) => Promise<{ id: string }>;
  now: () => number;
  log: Logger;
  /** Test seam for fetching (the default is the global fetch). */
  fetch?: typeof fetch;
}

/** What `GET /api/v1/update` shows. */
export interface UpdateView {
  version: string;
  /** Whether update.url is set (POST /update/fetch works). */
  fetchConfigured: boolean;
  /** The package waiting in the spool (uploaded or fetched), if any. */
  staged: {
    bytes: number;
    sha256: string | null;
    release: Pick<ReleaseManifest, 'version' | 'minVersion'> | null;
  } | null;
  /** The request the helper has not taken yet, or the helper's last status. */
  update: (UpdateStatus & { queued?: boolean }) | null;
}

/**
 * The hub's half of a self-update (docs/update.md): takes the package (an upload or a fetch
 * from update.url) into DATA/update, checks the release against the keys it trusts and the
 * version step, makes a backup, and leaves the request for the privileged helper, which checks
 * everything again itself. The hub never installs anything: it keeps NoNewPrivileges.
 */
export class UpdateService {
  readonly #d: UpdateServiceDeps;
  readonly #spool: ReturnType<typeof spoolPaths>;
  #busy = false;
  #stagedSha: string | null = null;

  constructor(deps: UpdateServiceDeps) {
    this.#d = deps;
    this.#spool = spoolPaths(deps.dataDir);
    rmSync(`${this.#spool.package}.partial`, { force: true });
  }

  /** An update is queued for the helper or under way: no new package, no new request. */
  #inProgress(): boolean {
    return existsSync(this.#spool.request) || readJson<UpdateStatus>(this.#spool.status)?.state === 'running';
  }

  #claim(): void {
    if (this.#busy || this.#inProgress())
      throw new HubError('update_in_progress', 'an update is being received or installed; wait for its outcome');
    this.#busy = true;
  }

  /**
   * Streams a package into the spool (`package.deb.partial`, renamed when complete), hashing it
   * on the way; more than maxPackageBytes is refused with `update_package_too_large` and nothing
   * kept.
   */
  async receivePackage(body: Readable, declaredBytes?: number): Promise<{ bytes: number; sha256: string }> {
    if (declaredBytes !== undefined && declaredBytes > this.#d.maxPackageBytes) {
      body.resume();
      throw this.#tooLarge();
    }
    this.#claim();
    try {
      return await this.#receive(body);
    } finally {
      this.#busy = false;
    }
  }

  async #receive(body: Readable): Promise<{ bytes: number; sha256: string }> {
    mkdirSync(this.#spool.dir, { recursive: true, mode: 0o700 });
    rmSync(this.#spool.release, { force: true });
    rmSync(this.#spool.package, { force: true });
    this.#stagedSha = null;
    const partial = `${this.#spool.package}.partial`;
    const hash = createHash('sha256');
    let bytes = 0;
    const max = this.#d.maxPackageBytes;
    const tooLarge = this.#tooLarge();
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > max) return done(tooLarge);
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(partial, { mode: 0o600 }));
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
    if (bytes === 0) {
      rmSync(partial, { force: true });
      throw new HubError('validation_failed', 'the package is empty');
    }
    renameSync(partial, this.#spool.package);
    this.#stagedSha = hash.digest('hex');
    this.#d.log.info({ bytes, sha256: this.#stagedSha }, 'update package received');
    return { bytes, sha256: this.#stagedSha };
  }

  #tooLarge(): HubError {
    return new HubError(
      'update_package_too_large',
      `a package is at most ${this.#d.maxPackageBytes} bytes (update.maxPackageMb)`,
      { maxBytes: this.#d.maxPackageBytes },
    );
  }

  /**
   * Fetches the release file at update.url and the package named in it (beside it), checks
   * both, and leaves them staged: the owner then starts the update as after an upload.
   */
  async fetchRelease(): Promise<{ version: string; minVersion: string; bytes: number }> {
    const url = this.#d.url;
    if (!url) throw new HubError('update_not_configured', 'no update.url is configured; upload a package instead');
    this.#claim();
    try {
      const get = this.#d.fetch ?? fetch;
      const res = await get(url, { signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => {
        throw new HubError('update_fetch_failed', `could not fetch ${url}: ${(err as Error).message}`);
      });
      if (!res.ok || !res.body)
        throw new HubError('update_fetch_failed', `${url} answered ${res.status}`, { status: res.status });
      const text = await readBounded(res, RELEASE_FILE_MAX_BYTES * 2);
      const release = parseReleaseFile(text);
      const manifest = verifyRelease(release, this.#d.trustedKeys);
      const pkgUrl = new URL(manifest.package.name, url);
      const pkg = await get(pkgUrl, { signal: AbortSignal.timeout(30 * 60_000) }).catch((err: unknown) => {
        throw new HubError('update_fetch_failed', `could not fetch ${pkgUrl.href}: ${(err as Error).message}`);
      });
      if (!pkg.ok || !pkg.body)
        throw new HubError('update_fetch_failed', `${pkgUrl.href} answered ${pkg.status}`, { status: pkg.status });
      const declared = Number(pkg.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > this.#d.maxPackageBytes) throw this.#tooLarge();
      await this.#receive(Readable.fromWeb(pkg.body as never));
      await checkPackage(this.#spool.package, manifest).catch((err: unknown) => {
        rmSync(this.#spool.package, { force: true });
        throw err;
      });
      writeFileAtomic(this.#spool.release, JSON.stringify(release));
      return { version: manifest.version, minVersion: manifest.minVersion, bytes: manifest.package.bytes };
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Starts the update of the staged package: the release must be signed by a trusted key, the
   * package must be its bytes, the version step allowed (`confirmDowngrade` for older or the
   * same version). Then a backup, then the request for the helper. Nothing is changed by a
   * refusal.
   */
  async start(body: {
    release?: unknown;
    confirmDowngrade?: boolean;
    passphrase: string;
  }): Promise<UpdateStatus & { queued: true }> {
    this.#claim();
    try {
      const release = body.release ?? readJson<unknown>(this.#spool.release);
      if (release === undefined)
        throw new HubError('validation_failed', 'a release is needed: upload one with the package, or fetch one');
      const manifest = verifyRelease(release, this.#d.trustedKeys);
      await checkPackage(this.#spool.package, manifest);
      checkVersionStep(this.#d.version, manifest, body.confirmDowngrade === true);
      const backup = await this.#d.backup(body.passphrase);
      const now = this.#d.now();
      const request: UpdateRequest = {
        id: `upd-${randomBytes(6).toString('hex')}`,
        version: manifest.version,
        from: this.#d.version,
        confirmDowngrade: body.confirmDowngrade === true,
        backupId: backup.id,
        requestedAt: now,
      };
      writeFileAtomic(this.#spool.release, JSON.stringify(release));
      // Last: the path unit starts the helper when this appears.
      writeFileAtomic(this.#spool.request, JSON.stringify(request));
      this.#d.log.info(
        { id: request.id, from: request.from, to: request.version, backup: backup.id },
        'update requested',
      );
      return { ...this.#queuedStatus(request), queued: true };
    } finally {
      this.#busy = false;
    }
  }

  view(): UpdateView {
    let staged: UpdateView['staged'] = null;
    const size = statSync(this.#spool.package, { throwIfNoEntry: false })?.size;
    if (size !== undefined) {
      let release: Pick<ReleaseManifest, 'version' | 'minVersion'> | null = null;
      try {
        const m = verifyRelease(readJson<unknown>(this.#spool.release), this.#d.trustedKeys);
        release = { version: m.version, minVersion: m.minVersion };
      } catch {
        // no release staged with it (an upload): the owner sends it with the start
      }
      staged = { bytes: size, sha256: this.#stagedSha, release };
    }
    const request = readJson<UpdateRequest>(this.#spool.request);
    const update = request
      ? { ...this.#queuedStatus(request), queued: true }
      : (readJson<UpdateStatus>(this.#spool.status) ?? null);
    return { version: this.#d.version, fetchConfigured: this.#d.url !== null, staged, update };
  }

  #queuedStatus(r: UpdateRequest): UpdateStatus {
    return {
      id: r.id,
      from: r.from,
      to: r.version,
      state: 'running',
      step: 'accept',
      steps: [],
      error: null,
      missingDevices: [],
      backupId: r.backupId,
      startedAt: r.requestedAt,
      updatedAt: r.requestedAt,
    };
  }
}

async function readBounded(res: Response, max: number): Promise<Buffer> {
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > max) {
      await reader.cancel();
      throw new HubError('update_release_invalid', 'the release file is too large to be one', { reason: 'malformed' });
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}
