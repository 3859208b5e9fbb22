import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import type { PresenceView, User, PresenceSet } from '@hearth/model/api';
import { formatTime } from '../format.ts';
import { FormError } from './form.tsx';

const HOME_WORDS = {
  someone_home: 'Someone is home.',
  everyone_away: 'Everyone is away.',
  unknown: 'Nobody shares whether they are home.',
} as const;

/**
 * Settings → Presence (hub/src/devices/presence.ts): the person says whether they are home (rules
 * can act on it: "when everyone is away"), or stops sharing it. Members and up also see everyone's
 * and the home's state; a guest only their own. Only home or away is kept, never where.
 */
export function PresenceCard(props: { me: User }) {
  const [view, setView] = useState<PresenceView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<PresenceView>('GET', '/presence').then(setView, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), []);
  const mine = view?.people.find((p) => p.userId === props.me.id);

  const set = async (state: 'home' | 'away' | null) => {
    setError(null);
    try {
      if (state === null) await api('DELETE', '/me/presence');
      else await api('PUT', '/me/presence', { state } satisfies PresenceSet);
      await load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section class="card" aria-labelledby="presence-title">
      <h2 id="presence-title">Presence</h2>
      <p class="muted">
        Whether you are home, for rules such as “when everyone is away”. Only home or away is kept, never where you are.
      </p>
      <p data-testid="my-presence">
        {mine
          ? `You are ${mine.state === 'home' ? 'home' : 'away'} (since ${formatTime(mine.changedAt)}).`
          : 'You do not share whether you are home.'}
      </p>
      <div class="row">
        <button type="button" aria-pressed={mine?.state === 'home'} onClick={() => void set('home')}>
          I am home
        </button>
        <button type="button" aria-pressed={mine?.state === 'away'} onClick={() => void set('away')}>
          I am away
        </button>
        {mine && (
          <button type="button" onClick={() => void set(null)}>
            Stop sharing my presence
          </button>
        )}
      </div>
      {view?.home && <p data-testid="home-presence">{HOME_WORDS[view.home]}</p>}
      {view?.home && view.people.length > 0 && (
        <ul aria-label="Who is home">
          {view.people.map((p) => (
            <li data-testid="person-presence">
              {p.username}: {p.state}
            </li>
          ))}
        </ul>
      )}
      <FormError message={error} />
    </section>
  );
}
