import type {
  Device,
  FirmwareImage,
  PlugUpdateProgress as PlugUpdateEvent,
  PlugUpdateState as UpdateState,
  PlugUpdateView as UpdateView,
  User,
  PlugUpdateStart,
} from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { onHubEvent } from '../live.ts';
import { FormError, Spinner } from './form.tsx';
import { compareVersions, formatSize } from './plug-firmware.tsx';

const ACTIVE: readonly UpdateState[] = ['sending', 'downloading', 'rebooting'];
/** Besides the events, while an update runs the page asks the hub for its state this often. */
const POLL_MS = 3000;

/** Why an update failed (the plug's codes and the hub's, docs/plug-protocol.md "Firmware update"), in plain words. */
const FAILED: Record<string, string> = {
  timeout:
    'The plug stopped answering during the update; it keeps its old firmware. Check its power and Wi-Fi, then try again.',
  bad_hash:
    'The image arrived damaged (it did not match its signed checksum), so the plug threw it away and keeps its old firmware. Try again.',
  wrong_model: 'This image is for another plug model; the plug refused it and keeps its old firmware.',
  bad_signature: 'The plug refused the image: it is not signed by a key the plug trusts. It keeps its old firmware.',
  downgrade: 'The plug refused to go back to an older version.',
  too_large: "The image does not fit in the plug's update space; it keeps its old firmware.",
  unsupported: 'This plug cannot install updates (its firmware was built without a release key).',
  write_failed:
    'The plug could not write the image to its memory; it keeps its old firmware. Try again; if it fails again the plug may be faulty.',
  boot_failed: 'The plug started the new firmware but it did not run, so the plug went back to its old firmware.',
  interrupted: 'The plug restarted without finishing the update; it keeps its old firmware. Try again.',
  malformed: 'The plug did not understand the update request. It keeps its old firmware.',
};

function failedText(error: string | null): string {
  if (error && FAILED[error]) return FAILED[error]!;
  if (error?.startsWith('command_')) {
    const why = error.slice('command_'.length);
    if (why === 'stale')
      return 'The plug refused the update request because its clock was off. Wait a moment and try again.';
    return `The plug refused the update request (${why}). It keeps its old firmware.`;
  }
  return `The update failed (${error ?? 'unknown reason'}). The plug keeps its old firmware.`;
}

/** The newer of two views of the same update (an event may have overtaken an answer); else `next`. */
function newest(old: UpdateView | null, next: UpdateView): UpdateView {
  const a = old?.update;
  const b = next.update;
  return a && b && a.version === b.version && a.startedAt === b.startedAt && a.updatedAt > b.updatedAt ? old : next;
}

function startError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'update_in_progress') return 'An update of this plug is already running. Wait for it to finish.';
    if (err.code === 'firmware_current') return 'The plug runs this version already.';
    if (err.code === 'firmware_not_found')
      return 'That image is no longer stored on the hub. Upload it again in Settings → Plug firmware.';
    if (err.code === 'validation_failed') return 'That is an older version: confirm the downgrade to install it.';
  }
  return plainMessage(err);
}

function stateText(u: NonNullable<UpdateView['update']>, percent: number): string {
  switch (u.state) {
    case 'sending':
      return `Asking the plug to start the update to ${u.version}…`;
    case 'downloading':
      return `Sending ${u.version} to the plug: ${percent} % of ${formatSize(u.size)}.`;
    case 'rebooting':
      return `The plug checked the image and is restarting into ${u.version}…`;
    case 'done':
      return `Updated to ${u.version}.`;
    case 'failed':
      return failedText(u.error);
  }
}

/**
 * A plug's firmware on its device page (owners and admins): the version it runs, "Update to X"
 * when the hub stores a newer signed image for its model (an older one only after an explicit
 * confirmation), and the update's progress and outcome from `plug.update` events (and
 * `GET /plugs/:id/update` every few seconds while one runs).
 */
export function PlugUpdate(props: { device: Device }) {
  const { device } = props;
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    if (device.driver !== 'plug') return;
    void api<User>('GET', '/me').then(
      (me) => setAdmin(me.role === 'owner' || me.role === 'admin' || me.role === 'installer'),
      () => setAdmin(false),
    );
  }, [device.driver]);
  if (device.driver !== 'plug' || !admin) return null;
  return <PlugUpdateCard deviceId={device.id} available={device.available} />;
}

function PlugUpdateCard(props: { deviceId: string; available: boolean }) {
  const [view, setView] = useState<UpdateView | null>(null);
  const [images, setImages] = useState<FirmwareImage[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [confirmDown, setConfirmDown] = useState<string | null>(null);
  const [other, setOther] = useState('');
  const path = `/plugs/${encodeURIComponent(props.deviceId)}/update`;

  const load = async () => {
    try {
      const [v, list] = await Promise.all([
        api<UpdateView>('GET', path),
        api<FirmwareImage[]>('GET', '/plugs/firmware'),
      ]);
      setView((old) => newest(old, v));
      setImages(list);
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  // Again when the plug comes back online: after an update's restart it reports what it runs.
  useEffect(() => void load(), [props.deviceId, props.available]);

  // Progress arrives as `plug.update` events on the one events stream; when the update ends the
  // view is loaded again for the firmware the plug now runs.
  useEffect(
    () =>
      onHubEvent((event) => {
        if (event.type !== 'plug.update' || event.deviceId !== props.deviceId) return;
        const e = event as unknown as PlugUpdateEvent;
        setView((v) => {
          if (!v?.update || v.update.version !== e.version || e.at < v.update.updatedAt) return v;
          return {
            ...v,
            update: {
              ...v.update,
              state: e.state,
              offset: e.offset,
              size: e.size,
              error: e.error,
              progress: e.size ? e.offset / e.size : 0,
              updatedAt: e.at,
            },
          };
        });
        // A new update (maybe started elsewhere) or its end: the whole view again.
        if (e.state === 'sending' || !ACTIVE.includes(e.state)) void load();
      }),
    [props.deviceId],
  );

  // While one runs, the state is also asked for now and then: events missed while the stream
  // reconnected are never replayed, and an update started elsewhere is then seen too.
  const active = view?.update ? ACTIVE.includes(view.update.state) : false;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const v = await api<UpdateView>('GET', path);
        if (stopped) return;
        setView((old) => newest(old, v));
      } catch {
        // the next round asks again
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, path]);

  if (!view) {
    return (
      <section class="card" aria-labelledby="firmware-title">
        <h2 id="firmware-title">Firmware</h2>
        {error ? (
          <p class="form-error" role="alert">
            {error}
          </p>
        ) : (
          <Spinner label="Loading firmware" />
        )}
      </section>
    );
  }

  const running = view.firmware;
  const own = images.filter((i) => i.model === view.model);
  const newer = own
    .filter((i) => !running || compareVersions(i.version, running) > 0)
    .sort((a, b) => compareVersions(b.version, a.version));
  const latest = newer[0];
  const others = own.filter((i) => i.version !== running && i !== latest);

  const start = async (version: string, downgrade: boolean) => {
    setError(null);
    setConfirmDown(null);
    setStarting(true);
    try {
      const started = await api<UpdateView>(
        'POST',
        path,
        (downgrade ? { version, downgrade: true } : { version }) satisfies PlugUpdateStart,
      );
      // Events of this update may have arrived before the answer: keep the newer state.
      setView((old) => newest(old, started));
    } catch (err) {
      setError(startError(err));
      if (err instanceof ApiError && err.code === 'update_in_progress') void load();
    } finally {
      setStarting(false);
    }
  };
  const install = (version: string) => {
    if (running && compareVersions(version, running) < 0) setConfirmDown(version);
    else void start(version, false);
  };

  const u = view.update;
  const percent = u
    ? u.state === 'done' || u.state === 'rebooting'
      ? 100
      : Math.floor((u.progress ?? (u.size ? u.offset / u.size : 0)) * 100)
    : 0;
  const busy = active || starting;
  // An offline plug cannot start an update (the hub would answer device_unavailable).
  const offline = !props.available;

  return (
    <section class="card" aria-labelledby="firmware-title">
      <h2 id="firmware-title">Firmware</h2>
      <p data-testid="firmware-version">
        Runs firmware <strong>{running ?? 'unknown'}</strong> ({view.model}).
      </p>
      {u && (
        <div class="plug-update" data-state={u.state}>
          {u.state !== 'failed' && (
            <div
              class="progress"
              role="progressbar"
              aria-label={`Update to ${u.version}`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={percent}
            >
              <span style={{ width: `${percent}%` }} />
            </div>
          )}
          <p
            role="status"
            class={u.state === 'failed' ? 'bad' : u.state === 'done' ? 'ok' : undefined}
            data-testid="update-status"
          >
            {stateText(u, percent)}
          </p>
        </div>
      )}
      {latest && (
        <button type="button" class="primary" disabled={busy || offline} onClick={() => install(latest.version)}>
          Update to {latest.version}
        </button>
      )}
      {offline && !active && own.some((i) => i.version !== running) && (
        <p class="muted" data-testid="update-offline">
          The plug is offline; it can be updated once it is back.
        </p>
      )}
      {!latest && own.length > 0 && !busy && <p class="muted">This plug runs the newest stored firmware.</p>}
      {own.length === 0 && (
        <p class="muted">No firmware for {view.model} is stored. Upload one in Settings → Plug firmware.</p>
      )}
      {others.length > 0 && (
        <details>
          <summary>Install another stored version</summary>
          <div class="row">
            <select aria-label="Stored version" value={other} onChange={(e) => setOther(e.currentTarget.value)}>
              <option value="">Choose a version</option>
              {others.map((i) => (
                <option value={i.version}>{i.version}</option>
              ))}
            </select>
            <button type="button" disabled={busy || offline || !other} onClick={() => install(other)}>
              Install
            </button>
          </div>
        </details>
      )}
      {confirmDown && (
        <div class="confirm" role="group" aria-labelledby="downgrade-confirm">
          <p id="downgrade-confirm">
            Go back from {running} to the older {confirmDown}? Fixes made since may be lost. The plug restarts when it
            is done.
          </p>
          <div class="row">
            <button type="button" class="danger" onClick={() => void start(confirmDown, true)}>
              Yes, install {confirmDown}
            </button>
            <button type="button" onClick={() => setConfirmDown(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <FormError message={error} />
    </section>
  );
}
