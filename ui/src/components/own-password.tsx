import { useState } from 'preact/hooks';
import { changePassword } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from './form.tsx';

type FieldName = 'current' | 'next' | 'repeat';
type Errors = Partial<Record<FieldName | 'form', string>>;

const ID: Record<FieldName, string> = {
  current: 'own-password-current',
  next: 'own-password-new',
  repeat: 'own-password-repeat',
};

/** Plain words for a refused change, at the field it belongs to when there is one. */
function changeError(err: unknown): Errors {
  if (err instanceof ApiError) {
    if (err.code === 'wrong_password') return { current: 'That is not your current password.' };
    if (err.code === 'validation_failed' && err.details?.field === 'newPassword')
      return { next: 'A password needs 8 to 256 characters.' };
    if (err.code === 'validation_failed' && err.details?.field === 'currentPassword')
      return { current: 'Enter your current password.' };
    if (err.code === 'too_many_requests')
      return { current: 'Too many wrong passwords. Wait a few minutes and try again.' };
  }
  return { form: plainMessage(err) };
}

/**
 * Settings → Your password, for everyone: change one's own password with the current one. The hub
 * ends the person's other sessions and hands this page a fresh one (client.changePassword), so
 * this page stays logged in and every other browser or phone logs in again with the new password.
 */
export function OwnPassword() {
  const [values, setValues] = useState<Record<FieldName, string>>({ current: '', next: '', repeat: '' });
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const set = (field: FieldName) => (e: Event) =>
    setValues({ ...values, [field]: (e.currentTarget as HTMLInputElement).value });
  const show = (found: Errors) => {
    setErrors(found);
    const first = (['current', 'next', 'repeat'] as const).find((f) => found[f]);
    if (first) document.getElementById(ID[first])?.focus();
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setDone(false);
    const local: Errors = {};
    if (!values.current) local.current = 'Enter your current password.';
    const length = [...values.next].length;
    if (length < 8) local.next = 'A password needs at least 8 characters.';
    else if (values.next.length > 256) local.next = 'A password has at most 256 characters.';
    else if (values.next === values.current) local.next = 'The new password is the same as the current one.';
    if (!local.next && values.repeat !== values.next) local.repeat = 'The two new passwords are not the same.';
    show(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await changePassword(values.current, values.next);
      setValues({ current: '', next: '', repeat: '' });
      setDone(true);
    } catch (err) {
      show(changeError(err));
    } finally {
      setBusy(false);
    }
  };

  const invalid = (field: FieldName) =>
    errors[field] ? { 'aria-invalid': true, 'aria-describedby': `${ID[field]}-error` } : {};

  return (
    <form class="card" onSubmit={submit} aria-labelledby="own-password-title" noValidate>
      <h2 id="own-password-title">Your password</h2>
      <Field label="Current password" id={ID.current} error={errors.current}>
        <input
          id={ID.current}
          type="password"
          autoComplete="current-password"
          value={values.current}
          onInput={set('current')}
          {...invalid('current')}
        />
      </Field>
      <Field label="New password" id={ID.next} error={errors.next} hint="At least 8 characters.">
        <input
          id={ID.next}
          type="password"
          autoComplete="new-password"
          value={values.next}
          onInput={set('next')}
          {...invalid('next')}
        />
      </Field>
      <Field label="Repeat the new password" id={ID.repeat} error={errors.repeat}>
        <input
          id={ID.repeat}
          type="password"
          autoComplete="new-password"
          value={values.repeat}
          onInput={set('repeat')}
          {...invalid('repeat')}
        />
      </Field>
      <FormError message={errors.form ?? null} />
      {done && (
        <p role="status" class="ok">
          Your password is changed. Your other browsers and phones are logged out: log in there with the new password.
        </p>
      )}
      <p class="muted">Changing it logs you out everywhere else; this page stays logged in.</p>
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}
