import type { Camera, Scene, User, ShareCreate } from '@hearth/model/api';
import type { Share, ShareAccess, ShareKind } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api/client.ts';
import { plainMessage } from '../../api/errors.ts';
import { formatTime } from '../../format.ts';
import { devices, rooms } from '../../live.ts';
import { useStore } from '../../store.ts';
import { Field, FormError } from '../form.tsx';

const ACCESS_NAMES: Record<ShareAccess, string> = { view: 'View only', control: 'View and control' };

/** Scenes and cameras by id, for their names (owners and admins may list both; absent parts give none). */
function useNamed(path: '/scenes' | '/cameras'): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    api<(Scene | Camera)[]>('GET', path).then(
      (list) => setNames(new Map(list.map((x) => [x.id, x.name]))),
      () => {},
    );
  }, [path]);
  return names;
}

/**
 * Settings → People → one person: what they can reach. A member reaches everything by their role;
 * a guest reaches only what is shared with them (hub/src/devices/sharing.ts), listed here with how
 * far and until when, each ended with one button, and a form to share one more thing.
 */
export function PersonReach(props: { user: User }) {
  const { user } = props;
  const deviceMap = useStore(devices);
  const roomList = useStore(rooms);
  const scenes = useNamed('/scenes');
  const cameras = useNamed('/cameras');
  const [shares, setShares] = useState<Share[] | null>(null);
  const [target, setTarget] = useState('');
  const [access, setAccess] = useState<ShareAccess>('view');
  const [until, setUntil] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<Share[]>('GET', `/shares?userId=${encodeURIComponent(user.id)}`).then(setShares, (err) =>
      setError(plainMessage(err)),
    );
  useEffect(() => {
    if (user.role === 'guest') void load();
  }, [user.id, user.role]);

  if (user.role !== 'guest') {
    return (
      <p class="muted" data-testid={`reach-${user.username}`}>
        {user.role === 'member' ? 'Reaches every device, room, scene and camera as a member.' : 'Reaches everything.'}
      </p>
    );
  }

  const nameOf = (kind: ShareKind, id: string): string =>
    (kind === 'device'
      ? deviceMap.get(id)?.name
      : kind === 'room'
        ? roomList.find((r) => r.id === id)?.name
        : kind === 'scene'
          ? scenes.get(id)
          : cameras.get(id)) ?? id;

  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const [kind, id] = target.split(':') as [ShareKind, string];
    if (!id) {
      setError('Pick what to share.');
      return;
    }
    try {
      await api('POST', '/shares', {
        userId: user.id,
        [kind]: id,
        access,
        ...(until ? { until: new Date(until).toISOString() } : {}),
      } satisfies ShareCreate);
      setTarget('');
      setUntil('');
      void load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  const end = async (share: Share) => {
    try {
      await api('DELETE', `/shares/${encodeURIComponent(share.id)}`);
      void load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  const key = user.id;
  return (
    <div class="reach" data-testid={`reach-${user.username}`}>
      <h3 id={`reach-${key}-title`}>What {user.username} can reach</h3>
      {shares && shares.length === 0 && <p class="muted">Nothing is shared with {user.username} yet.</p>}
      {shares && shares.length > 0 && (
        <ul aria-labelledby={`reach-${key}-title`}>
          {shares.map((s) => (
            <li data-testid="share" class="row">
              <span>
                {s.kind} <strong>{nameOf(s.kind, s.targetId)}</strong>: {ACCESS_NAMES[s.access]}
                {s.until ? `, until ${formatTime(s.until)}` : ''}
                {s.windows.length > 0
                  ? `, ${s.windows.map((w) => `${w.days.join(' ')} ${w.from}–${w.to}`).join('; ')}`
                  : ''}
                {s.active ? '' : ' (not open now)'}
              </span>
              <button type="button" class="danger" onClick={() => void end(s)}>
                Stop sharing {nameOf(s.kind, s.targetId)}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="row" onSubmit={add} noValidate>
        <Field label={`Share with ${user.username}`} id={`reach-${key}-target`}>
          <select id={`reach-${key}-target`} value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">Choose…</option>
            <optgroup label="Devices">
              {[...deviceMap.values()].map((d) => (
                <option value={`device:${d.id}`}>{d.name}</option>
              ))}
            </optgroup>
            <optgroup label="Rooms">
              {roomList.map((r) => (
                <option value={`room:${r.id}`}>{r.name}</option>
              ))}
            </optgroup>
            <optgroup label="Scenes">
              {[...scenes].map(([id, name]) => (
                <option value={`scene:${id}`}>{name}</option>
              ))}
            </optgroup>
            <optgroup label="Cameras">
              {[...cameras].map(([id, name]) => (
                <option value={`camera:${id}`}>{name}</option>
              ))}
            </optgroup>
          </select>
        </Field>
        <Field label={`Access for ${user.username}`} id={`reach-${key}-access`}>
          <select
            id={`reach-${key}-access`}
            value={access}
            onChange={(e) => setAccess(e.currentTarget.value as ShareAccess)}
          >
            <option value="view">{ACCESS_NAMES.view}</option>
            <option value="control">{ACCESS_NAMES.control}</option>
          </select>
        </Field>
        <Field label="Until (optional)" id={`reach-${key}-until`}>
          <input
            id={`reach-${key}-until`}
            type="datetime-local"
            value={until}
            onInput={(e) => setUntil(e.currentTarget.value)}
          />
        </Field>
        <button type="submit">Share</button>
      </form>
      <FormError message={error} />
    </div>
  );
}
