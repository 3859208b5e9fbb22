import type { FirmwareImage, PlugRollout as Rollout, PlugRolloutView, PlugRolloutStart } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from './form.tsx';

const PLUG_STATE: Record<Rollout['plugs'][number]['state'], string> = {
  pending: 'waiting',
  updating: 'updating',
  done: 'updated',
  failed: 'failed',
  skipped: 'skipped',
};
const ROLLOUT_STATE: Record<Rollout['state'], string> = {
  running: 'Running',
  paused: 'Paused',
  done: 'Finished',
  cancelled: 'Cancelled',
};

/**
 * Settings → Update plugs in waves (owners and admins): one stored image to every plug of its
 * model, one plug first, then groups; the hub pauses at the first failure and this card says
 * which plug and why, with each plug's outcome, and offers to carry on or stop.
 */
export function PlugRollout() {
  const [images, setImages] = useState<FirmwareImage[]>([]);
  const [rollout, setRollout] = useState<Rollout | null>(null);
  const [choice, setChoice] = useState('');
  const [waveSize, setWaveSize] = useState('5');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () =>
    api<PlugRolloutView>('GET', '/plugs/rollout').then(
      (r) => setRollout(r.rollout),
      (err) => setError(plainMessage(err)),
    );
  useEffect(() => {
    void load();
    void api<FirmwareImage[]>('GET', '/plugs/firmware').then(setImages, () => undefined);
  }, []);
  useEffect(() => {
    if (rollout?.state !== 'running') return;
    const timer = setInterval(() => void load(), 1500);
    return () => clearInterval(timer);
  }, [rollout?.state]);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await fn();
      await load();
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'validation_failed' ? err.message : plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const start = (e: Event) => {
    e.preventDefault();
    const image = images.find((i) => `${i.model}@${i.version}` === choice) ?? images[0];
    if (!image) return setError('Store a firmware image first (Plug firmware, above).');
    void act(() =>
      api('POST', '/plugs/rollout', {
        model: image.model,
        version: image.version,
        waveSize: Number(waveSize),
      } satisfies PlugRolloutStart),
    );
  };

  const open = rollout && (rollout.state === 'running' || rollout.state === 'paused');
  return (
    <form class="card" onSubmit={start} aria-labelledby="plug-rollout-title" noValidate>
      <h2 id="plug-rollout-title">Update plugs in waves</h2>
      <p class="muted">
        Every plug of the image's model gets it: one plug first, then the others in groups. The first plug that fails
        stops the rest until you decide.
      </p>
      {rollout && (
        <div role="status" aria-label="Rollout">
          <p>
            {ROLLOUT_STATE[rollout.state]}: {rollout.model} {rollout.version}, wave{' '}
            {Math.min(rollout.wave + 1, rollout.waves)} of {rollout.waves}.
            {rollout.pausedReason && ` ${rollout.pausedReason}.`}
          </p>
          <ul aria-label="Plugs in the rollout">
            {rollout.plugs.map((p) => (
              <li key={p.deviceId}>
                {p.deviceId}: {PLUG_STATE[p.state]}
                {p.error ? ` (${p.error})` : ''}
              </li>
            ))}
          </ul>
          {rollout.state === 'paused' && (
            <button type="button" disabled={busy} onClick={() => void act(() => api('POST', '/plugs/rollout/resume'))}>
              Carry on
            </button>
          )}{' '}
          {open && (
            <button type="button" disabled={busy} onClick={() => void act(() => api('POST', '/plugs/rollout/cancel'))}>
              Stop the rollout
            </button>
          )}
        </div>
      )}
      {!open && (
        <>
          <Field label="Image" id="rollout-image">
            <select
              id="rollout-image"
              value={choice}
              onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value)}
            >
              {images.map((i) => (
                <option key={`${i.model}@${i.version}`} value={`${i.model}@${i.version}`}>
                  {i.model} {i.version}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Plugs per wave after the first" id="rollout-wave">
            <input
              id="rollout-wave"
              type="number"
              min={1}
              max={50}
              value={waveSize}
              onInput={(e) => setWaveSize((e.currentTarget as HTMLInputElement).value)}
            />
          </Field>
          <button type="submit" disabled={busy || images.length === 0}>
            Start the rollout
          </button>
        </>
      )}
      <FormError message={error} />
    </form>
  );
}
