import type { Scene, SceneActivation, SceneBody } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { toggleOf } from '../format.ts';
import { devices } from '../live.ts';
import { useStore } from '../store.ts';
import { Spinner } from './form.tsx';

const PLAIN_CODE = (code: string) => plainMessage(new ApiError(0, code, code));

/**
 * Scenes on the home page: one tap sets several devices; the outcome of each device is shown
 * once all of them answered. "Save as scene" stores how every switch is set right now.
 */
export function ScenesBar() {
  const [scenes, setScenes] = useState<Scene[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const all = useStore(devices);

  const load = () => api<Scene[]>('GET', '/scenes').then(setScenes, () => undefined);
  useEffect(() => void load(), []);

  const activate = async (scene: Scene) => {
    setBusy(scene.id);
    setOutcome(null);
    setError(null);
    try {
      const { results } = await api<SceneActivation>('POST', `/scenes/${scene.id}/activate`);
      const failed = results.filter((r) => r.result !== 'ok');
      const name = (id: string) => all.get(id)?.name ?? id;
      setOutcome(
        failed.length === 0
          ? `${scene.name}: done (${results.length} of ${results.length} devices).`
          : `${scene.name}: ${results.length - failed.length} of ${results.length} devices done. ` +
              `${failed.map((f) => `${name(f.device)}: ${PLAIN_CODE(f.result)}`).join(' ')}`,
      );
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const saveCurrent = async () => {
    const states = [...all.values()].flatMap((d) => {
      const cap = toggleOf(d.capabilities);
      return cap && typeof d.state[cap] === 'boolean'
        ? [{ device: d.id, capability: cap, value: d.state[cap] as boolean }]
        : [];
    });
    if (!states.length) return setError('No switch has a known state to save yet.');
    const name = prompt('Name of the scene', 'Evening');
    if (!name?.trim()) return;
    setError(null);
    try {
      await api('POST', '/scenes', { name: name.trim(), states } satisfies SceneBody);
      await load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section aria-labelledby="scenes-title">
      <h2 id="scenes-title">Scenes</h2>
      <div class="row">
        {scenes.map((s) => (
          <button type="button" disabled={busy !== null} onClick={() => void activate(s)}>
            {s.name} {busy === s.id && <Spinner label={`Setting ${s.name}`} />}
          </button>
        ))}
        <button type="button" onClick={() => void saveCurrent()}>
          Save as scene
        </button>
      </div>
      {outcome && (
        <p role="status" data-testid="scene-outcome">
          {outcome}
        </p>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
