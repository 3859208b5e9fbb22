import type { HubUpdate as UpdateStatus, HubUpdateView as UpdateView, HubUpdateStart } from '@hearth/model/api';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ensureAccess } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { connection } from '../api/transport.ts';
import { formatTime } from '../format.ts';
import { Field, FormError } from './form.tsx';
import { formatSize } from './plug-firmware.tsx';

/** The helper's steps in words (docs/update.md "Flow"). */
const STEPS: Record<string, string> = {
  accept: 'Taking the package',
  verify: 'Checking the signature',
  stop: 'Stopping the hub',
  snapshot: 'Keeping a copy of the database',
  install: 'Installing',
  start: 'Starting the new version',
  health: 'Waiting for the hub and its devices',
  rollback_stop: 'Going back: stopping',
  rollback_restore: 'Going back: restoring the database',
  rollback_install: 'Going back: reinstalling the previous version',
  rollback_start: 'Going back: starting',
  rollback_health: 'Going back: waiting for the hub',
};

const REFUSED: Record<string, string> = {
  update_release_invalid:
    'The release is not signed by a key this hub trusts, or its file was changed. Only signed Hearth releases can be installed.',
  update_package_mismatch:
    'The package is not the one the release was signed for (it is damaged or altered, or the release belongs to another package).',
  update_package_too_large: 'The package is larger than this hub accepts (update.maxPackageMb).',
  update_too_old: 'This release cannot be installed on this version directly: install the version it names first.',
  update_in_progress: 'An update is already under way. Wait for its outcome.',
  update_fetch_failed: 'The release could not be fetched from the configured address.',
  local_only: 'Updates can only be started on the home network.',
};

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'update_downgrade')
      return 'This release is not newer than the version the hub runs. Tick "Install an older version" to install it anyway.';
    if (REFUSED[err.code]) return REFUSED[err.code]!;
  }
  return plainMessage(err);
}

function outcomeText(u: UpdateStatus): string {
  if (u.state === 'done') return `Updated from ${u.from} to ${u.to}.`;
  if (u.state === 'rolled_back')
    return (
      `Version ${u.to} did not come up healthy, so the hub went back to ${u.from} with its data ` +
      `as before` +
      `${u.missingDevices.length ? ` (${u.missingDevices.length} devices did not come back)` : ''}.`
    );
  if (u.state === 'refused')
    return `The update to ${u.to} was refused, nothing changed: ${u.error ? (REFUSED[u.error.code] ?? u.error.message) : ''}`;
  if (u.state === 'failed')
    return `The update to ${u.to} failed: ${u.error?.message ?? ''} See journalctl -u hearth-update on the hub.`;
  return u.queued ? `Waiting for the update helper to take ${u.to}…` : `${STEPS[u.step] ?? u.step}…`;
}

/**
 * Settings → Update the hub, for the owner on the home network: a signed release (the .deb and its
 * .release.json) uploaded, or fetched from the hub's configured address; a backup with the
 * passphrase given is made first. Progress is polled; while the hub restarts it cannot answer,
 * which the card says rather than showing an error.
 */
export function HubUpdate() {
  const [view, setView] = useState<UpdateView | null>(null);
  const [offline, setOffline] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [downgrade, setDowngrade] = useState(false);
  const pkg = useRef<HTMLInputElement>(null);
  const rel = useRef<HTMLInputElement>(null);

  const load = () =>
    api<UpdateView>('GET', '/update').then(
      (v) => {
        setView(v);
        setOffline(false);
      },
      () => setOffline(true),
    );
  useEffect(() => void load(), []);
  const running = view?.update?.state === 'running' || offline;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [running]);

  const start = async (release: HubUpdateStart['release']) => {
    if ([...passphrase].length < 8)
      throw new ApiError(400, 'validation_failed', 'A passphrase for the backup needs at least 8 characters.');
    await api('POST', '/update', {
      passphrase,
      ...(release ? { release } : {}),
      ...(downgrade ? { confirmDowngrade: true } : {}),
    } satisfies HubUpdateStart);
    setPassphrase('');
    await load();
  };

  const upload = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const file = pkg.current?.files?.[0];
    const releaseFile = rel.current?.files?.[0];
    if (!file || !releaseFile) return setError('Choose the package (.deb) and its release file (.release.json).');
    if (connection.get().mode !== 'lan') return setError(REFUSED.local_only!);
    setBusy('Uploading the package…');
    try {
      let release: HubUpdateStart['release']; // the hub checks its fields and signature
      try {
        release = JSON.parse(await releaseFile.text());
      } catch {
        throw new ApiError(400, 'update_release_invalid', 'not JSON');
      }
      const token = await ensureAccess();
      const res = await fetch('/api/v1/update/package', {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: file,
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        throw new ApiError(res.status, body.error?.code ?? `http_${res.status}`, body.error?.message ?? res.statusText);
      }
      setBusy('Checking the release and making a backup…');
      await start(release);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'validation_failed' ? err.message : errorText(err));
    } finally {
      setBusy(null);
    }
  };

  const fetchLatest = async () => {
    setError(null);
    setBusy('Fetching the latest release…');
    try {
      await api('POST', '/update/fetch');
      setBusy('Checking the release and making a backup…');
      await start(undefined);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'validation_failed' ? err.message : errorText(err));
    } finally {
      setBusy(null);
    }
  };

  const u = view?.update ?? null;
  return (
    <form class="card" onSubmit={upload} aria-labelledby="hub-update-title" noValidate>
      <h2 id="hub-update-title">Update the hub</h2>
      <p class="muted">
        The hub runs version <strong>{view?.version ?? '…'}</strong>. It installs only releases signed by a Hearth
        release key it trusts. A backup is made first; if the new version does not come up healthy with its devices, the
        hub goes back to this one.
      </p>
      {offline && (
        <p role="status">The hub is restarting for the update. This page carries on when it answers again.</p>
      )}
      {u && !offline && (
        <div
          role="status"
          aria-label="Update progress"
          class={u.state === 'done' ? 'ok' : u.state === 'running' ? '' : 'form-error'}
        >
          <p>{outcomeText(u)}</p>
          {u.steps.length > 0 && (
            <ol aria-label="Update steps">
              {u.steps.map((s) => (
                <li key={`${s.step}-${s.at}`}>
                  {STEPS[s.step] ?? s.step} <small class="muted">{formatTime(s.at)}</small>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
      <Field label="Package (.deb)" id="update-package">
        <input
          id="update-package"
          type="file"
          accept=".deb,application/vnd.debian.binary-package"
          ref={pkg}
          disabled={running || !!busy}
        />
      </Field>
      <Field label="Release file (.release.json)" id="update-release">
        <input id="update-release" type="file" accept=".json,application/json" ref={rel} disabled={running || !!busy} />
      </Field>
      <Field
        label="Backup passphrase"
        id="update-passphrase"
        hint="The backup made before the update is encrypted with it (at least 8 characters)."
      >
        <input
          id="update-passphrase"
          type="password"
          autoComplete="new-password"
          value={passphrase}
          onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)}
          disabled={running || !!busy}
        />
      </Field>
      <label>
        <input
          type="checkbox"
          checked={downgrade}
          onChange={(e) => setDowngrade((e.currentTarget as HTMLInputElement).checked)}
        />{' '}
        Install an older version (or the same one again)
      </label>
      <FormError message={error} />
      {busy && <p role="status">{busy}</p>}
      <button type="submit" disabled={running || !!busy}>
        Upload and update
      </button>{' '}
      {view?.fetchConfigured && (
        <button type="button" onClick={() => void fetchLatest()} disabled={running || !!busy}>
          Fetch the latest release and update
        </button>
      )}
      {view?.staged && !running && (
        <p class="muted">
          A package of {formatSize(view.staged.bytes)}
          {view.staged.release ? ` (version ${view.staged.release.version})` : ''} is waiting on the hub.
        </p>
      )}
    </form>
  );
}
