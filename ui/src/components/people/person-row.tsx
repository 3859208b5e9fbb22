import type { Role } from '@hearth/model/values';
import type { User, UserPatch } from '@hearth/model/api';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client.ts';
import { Field, FormError } from '../form.tsx';
import { PersonReach } from './person-reach.tsx';
import { grantable, manageable, peopleError, ROLE_NAMES } from './roles.ts';

type Mode = 'idle' | 'password' | 'remove';

/**
 * One person: their role (changeable), a password reset and removal after a confirmation.
 * Every hub refusal (last_owner, self_change_refused, forbidden, user_not_found) is shown here,
 * in the row it concerns.
 */
export function PersonRow(props: { me: User; user: User; onChanged: () => void }) {
  const { me, user } = props;
  const [role, setRole] = useState<Role>(user.role);
  const [mode, setMode] = useState<Mode>('idle');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  useEffect(() => setRole(user.role), [user.role]);
  useEffect(() => {
    if (mode === 'remove') cancelRef.current?.focus();
    if (mode === 'password') passwordRef.current?.focus();
  }, [mode]);

  const key = user.id;
  const act = async (fn: () => Promise<string | null>) => {
    setError(null);
    setPasswordError(null);
    setDone(null);
    setBusy(true);
    try {
      setDone(await fn());
      setMode('idle');
      props.onChanged();
    } catch (err) {
      const { field, message } = peopleError(err);
      if (field === 'password') setPasswordError(message);
      else setError(message);
    } finally {
      setBusy(false);
    }
  };

  const changeRole = () =>
    act(async () => {
      // The select offers only grantable roles, and the button waits for a change: never 'installer'.
      if (role === 'installer') return null;
      await api('PATCH', `/users/${user.id}`, { role } satisfies UserPatch);
      return `${user.username} is now ${ROLE_NAMES[role].toLowerCase()}. Their remote devices were disconnected; they enable remote access again at home.`;
    });
  const resetPassword = (e: Event) => {
    e.preventDefault();
    if ([...password].length < 8) {
      setPasswordError('A password needs at least 8 characters.');
      passwordRef.current?.focus();
      return;
    }
    void act(async () => {
      await api('PATCH', `/users/${user.id}`, { password } satisfies UserPatch);
      setPassword('');
      return `New password set for ${user.username}. They are logged out everywhere within 15 minutes.`;
    });
  };
  const remove = () =>
    act(async () => {
      await api('DELETE', `/users/${user.id}`);
      return null;
    });

  const canManage = manageable(me, user);
  // The hub decides; a role outside what this user may give is still shown as it is.
  const mine: Role[] = grantable(me.role);
  const roles = mine.includes(user.role) ? mine : [user.role, ...mine];

  return (
    <li class="person" aria-labelledby={`person-${key}-name`}>
      <div class="row">
        <strong id={`person-${key}-name`} class="person-name">
          {user.username}
        </strong>
        <span data-testid={`role-${user.username}`}>
          {ROLE_NAMES[user.role]}
          {user.id === me.id ? ' (you)' : ''}
        </span>
      </div>
      {!canManage && (
        <p class="muted">
          {user.id === me.id
            ? 'You cannot change your own role or remove yourself.'
            : 'Only an owner can change an owner.'}
        </p>
      )}
      {canManage && (
        <div class="row person-actions">
          <Field label={`Role for ${user.username}`} id={`person-${key}-role`}>
            <select id={`person-${key}-role`} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {roles.map((r) => (
                <option value={r}>{ROLE_NAMES[r]}</option>
              ))}
            </select>
          </Field>
          <button type="button" disabled={busy || role === user.role} onClick={() => void changeRole()}>
            Change role
          </button>
          <button
            type="button"
            aria-expanded={mode === 'password'}
            onClick={() => setMode(mode === 'password' ? 'idle' : 'password')}
          >
            Reset password
          </button>
          <button type="button" class="danger" aria-label={`Remove ${user.username}`} onClick={() => setMode('remove')}>
            Remove
          </button>
        </div>
      )}
      {mode === 'password' && (
        <form class="row" onSubmit={resetPassword} noValidate>
          <Field
            label={`New password for ${user.username}`}
            id={`person-${key}-password`}
            error={passwordError ?? undefined}
          >
            <input
              ref={passwordRef}
              id={`person-${key}-password`}
              type="password"
              autoComplete="new-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              aria-invalid={passwordError ? true : undefined}
              aria-describedby={passwordError ? `person-${key}-password-error` : undefined}
            />
          </Field>
          <button type="submit" class="primary" disabled={busy}>
            Set password
          </button>
          <button type="button" onClick={() => setMode('idle')}>
            Cancel
          </button>
        </form>
      )}
      {mode === 'remove' && (
        <div class="confirm" role="group" aria-labelledby={`person-${key}-confirm`}>
          <p id={`person-${key}-confirm`}>
            Remove <strong>{user.username}</strong>? Their sessions and remote devices end at once: every browser and
            app they use is logged out.
          </p>
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              Yes, remove {user.username}
            </button>
            <button type="button" ref={cancelRef} onClick={() => setMode('idle')}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <PersonReach user={user} />
      <FormError message={error} />
      {done && (
        <p role="status" class="ok">
          {done}
        </p>
      )}
    </li>
  );
}
