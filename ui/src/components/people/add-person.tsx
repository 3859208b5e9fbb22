import type { GrantableRole } from '@hearth/model/values';
import type { User, UserCreate } from '@hearth/model/api';
import { useState } from 'preact/hooks';
import { api } from '../../api/client.ts';
import { Field, FormError } from '../form.tsx';
import { grantable, peopleError, ROLE_NAMES } from './roles.ts';

/** Adds a person: username, first password and a role the signed-in user may give. */
export function AddPerson(props: { me: User; onAdded: (user: User) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<GrantableRole>('member');
  const [errors, setErrors] = useState<{ username?: string; password?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState<string | null>(null);

  const add = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setAdded(null);
    const local: typeof errors = {};
    if (!username.trim()) local.username = 'Enter a username.';
    if ([...password].length < 8) local.password = 'A password needs at least 8 characters.';
    setErrors(local);
    if (Object.keys(local).length) {
      document.getElementById(local.username ? 'person-username' : 'person-password')?.focus();
      return;
    }
    setBusy(true);
    try {
      const user = await api<User>('POST', '/users', {
        username: username.trim(),
        password,
        role,
      } satisfies UserCreate);
      setUsername('');
      setPassword('');
      setAdded(user.username);
      props.onAdded(user);
    } catch (err) {
      const { field, message } = peopleError(err);
      setErrors(field ? { [field]: message } : { form: message });
      if (field) document.getElementById(`person-${field}`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  const invalid = (field: 'username' | 'password') =>
    errors[field] ? { 'aria-invalid': true, 'aria-describedby': `person-${field}-error` } : {};

  return (
    <form onSubmit={add} aria-labelledby="add-person-title" noValidate>
      <h3 id="add-person-title">Add a person</h3>
      <div class="row add-person-fields">
        <Field label="Username" id="person-username" error={errors.username}>
          <input
            id="person-username"
            autoComplete="off"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            {...invalid('username')}
          />
        </Field>
        <Field
          label="Password"
          id="person-password"
          error={errors.password}
          hint="At least 8 characters. Tell it to them; they can log in with it at once."
        >
          <input
            id="person-password"
            type="password"
            autoComplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            {...invalid('password')}
          />
        </Field>
        <Field label="Role" id="person-role">
          <select id="person-role" value={role} onChange={(e) => setRole(e.currentTarget.value as GrantableRole)}>
            {grantable(props.me.role).map((r) => (
              <option value={r}>{ROLE_NAMES[r]}</option>
            ))}
          </select>
        </Field>
      </div>
      <FormError message={errors.form ?? null} />
      {added && (
        <p role="status" class="ok">
          Added {added}.
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Add person
      </button>
    </form>
  );
}
