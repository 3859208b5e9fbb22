import type { DevicePerson as Person } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { FormError } from './form.tsx';

/**
 * A device's page: who can reach it and how (GET /devices/:id/people, owners and admins): everyone
 * at member or above by their role, and each guest's share of the device or of its room. Shown
 * only to those who may read it (a 403 hides the card).
 */
export function WhoCanReach(props: { deviceId: string }) {
  const [people, setPeople] = useState<Person[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<Person[]>('GET', `/devices/${encodeURIComponent(props.deviceId)}/people`).then(setPeople, (err) => {
      if (!(err instanceof ApiError && err.code === 'forbidden')) setError(plainMessage(err));
    });
  }, [props.deviceId]);
  if (!people && !error) return null;
  return (
    <section class="card" aria-labelledby="who-title">
      <h2 id="who-title">Who can reach it</h2>
      <FormError message={error} />
      {people && (
        <ul>
          {people.map((p) => (
            <li data-testid="reach-person">
              <strong>{p.username}</strong> ({p.role}): {p.access === 'control' ? 'view and control' : 'view only'}
              {p.via === 'role' ? ', by role' : `, shared ${p.via === 'room' ? 'through its room' : 'directly'}`}
              {p.share?.until ? ` until ${formatTime(p.share.until)}` : ''}
              {p.share && !p.share.active ? ' (not open now)' : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
