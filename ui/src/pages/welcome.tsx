import { useState } from 'preact/hooks';
import { createOwner, login } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError } from '../components/form.tsx';

/**
 * The two doors into the app: first run creates the owner (`POST /setup`), later runs log in.
 * Both leave the user logged in; the app shell takes over from there.
 */
export function Welcome(props: { setup: boolean; username?: string; onDone: () => void }) {
  const [username, setUsername] = useState(props.username ?? '');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (props.setup && password !== repeat) {
      setError('The two passwords are different.');
      return;
    }
    setBusy(true);
    try {
      if (props.setup) await createOwner(username, password);
      else await login(username, password);
      props.onDone();
    } catch (err) {
      setError(props.setup && (err as { code?: string }).code === 'validation_failed' ? setupHint(err as { details?: Record<string, unknown> }) : plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="welcome">
      <h1>Hearth</h1>
      <form onSubmit={submit} aria-labelledby="welcome-title">
        <h2 id="welcome-title">{props.setup ? 'Create the owner account' : 'Log in'}</h2>
        {props.setup && <p>This hub is new. The first account owns the home and can invite others later.</p>}
        <Field label="Username" id="username">
          <input id="username" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </Field>
        <Field label="Password" id="password" {...(props.setup ? { hint: 'At least 8 characters.' } : {})}>
          <input id="password" name="password" type="password" autocomplete={props.setup ? 'new-password' : 'current-password'} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        {props.setup && (
          <Field label="Repeat password" id="repeat">
            <input id="repeat" type="password" autocomplete="new-password" required value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
          </Field>
        )}
        <FormError message={error} />
        <button type="submit" class="primary" disabled={busy}>{props.setup ? 'Create account' : 'Log in'}</button>
      </form>
    </main>
  );
}

/** The hub names the field that failed; say what that field needs. */
function setupHint(err: { details?: Record<string, unknown> }): string {
  if (err.details?.field === 'password') return 'The password needs at least 8 characters.';
  return 'The username may contain letters, digits, dots, dashes, @ and underscores only.';
}
