import type { User } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api/client.ts';
import { plainMessage } from '../../api/errors.ts';
import { FormError, Spinner } from '../form.tsx';
import { AddPerson } from './add-person.tsx';
import { PersonRow } from './person-row.tsx';

/** Settings → People: owners and admins list, add, re-role, reset and remove users. */
export function People(props: { me: User }) {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<User[]>('GET', '/users').then(
      (list) => {
        setUsers(list);
        setError(null);
      },
      (err) => setError(plainMessage(err)),
    );
  useEffect(() => void load(), []);

  return (
    <section class="card" aria-labelledby="people-title">
      <h2 id="people-title">People</h2>
      <p class="muted">
        Who can use this hub. Owners and admins manage people; only an owner makes or changes an owner.
      </p>
      <FormError message={error} />
      {!users && !error && <Spinner label="Loading people" />}
      {users && (
        <ul class="people" aria-label="People">
          {users.map((u) => (
            <PersonRow key={u.id} me={props.me} user={u} onChanged={() => void load()} />
          ))}
        </ul>
      )}
      <AddPerson me={props.me} onAdded={() => void load()} />
    </section>
  );
}
