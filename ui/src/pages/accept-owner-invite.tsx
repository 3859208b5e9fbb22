import { useState } from 'preact/hooks';
import { acceptOwnerInvite } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from '../components/form.tsx';

/**
 * On the login screen: the homeowner creates the owner account with the one-time invite the
 * installer gave them (hub/src/auth/handover.ts). Folded away behind a button, since most people
 * here only log in. The hub accepts it only on the home network.
 */
export function AcceptOwnerInvite(props: { onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState({ code: '', username: '', password: '', repeat: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof values) => (e: Event) =>
    setValues({ ...values, [key]: (e.currentTarget as HTMLInputElement).value });

  if (!open)
    return (
      <p>
        <button type="button" class="link" onClick={() => setOpen(true)}>
          I have an owner invite from my installer
        </button>
      </p>
    );

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (values.password !== values.repeat) return setError('The two passwords are different.');
    setBusy(true);
    try {
      await acceptOwnerInvite(values.code.trim(), values.username, values.password);
      props.onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'owner_invite_invalid') {
        setError('That invite code is wrong, already used or older than 7 days. Ask your installer for a new one.');
        document.getElementById('owner-invite-code')?.focus();
      } else if (err instanceof ApiError && err.code === 'already_set_up')
        setError('This home already has an owner. Log in instead.');
      else if (err instanceof ApiError && err.code === 'validation_failed')
        setError(
          err.details?.field === 'password'
            ? 'The password needs at least 8 characters.'
            : 'The username may contain letters, digits, dots, dashes, @ and underscores only.',
        );
      else setError(plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby="owner-invite-title">
      <h2 id="owner-invite-title">Become the owner</h2>
      <p>
        Your installer set this home up and gave you a one-time code. Choose your own username and password: the home
        becomes yours.
      </p>
      <Field label="Owner invite code" id="owner-invite-code">
        <input
          id="owner-invite-code"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          required
          value={values.code}
          onInput={set('code')}
        />
      </Field>
      <Field label="Your username" id="owner-username">
        <input id="owner-username" autocomplete="username" required value={values.username} onInput={set('username')} />
      </Field>
      <Field label="Your password" id="owner-password" hint="At least 8 characters.">
        <input
          id="owner-password"
          type="password"
          autocomplete="new-password"
          required
          value={values.password}
          onInput={set('password')}
          aria-describedby="owner-password-hint"
        />
      </Field>
      <Field label="Repeat your password" id="owner-repeat">
        <input
          id="owner-repeat"
          type="password"
          autocomplete="new-password"
          required
          value={values.repeat}
          onInput={set('repeat')}
        />
      </Field>
      <FormError message={error} />
      <button type="submit" class="primary" disabled={busy}>
        Become the owner
      </button>
    </form>
  );
}
