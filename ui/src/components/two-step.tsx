import type { TotpSetup, TotpDisable } from '@hearth/model/api';
import { useState } from 'preact/hooks';
import { api, enableTwoStep } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from './form.tsx';

/** The hub's secret with the QR code drawn from its URI here. */
type Setup = TotpSetup & { qr: string };

/** The secret in groups of four, easier to type into an app by hand. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

/**
 * Settings → Two-step login, for everyone. Turning it on: the hub makes a secret (not active yet),
 * shown as text and as a QR code for the authenticator app; a code from the app and the password
 * confirm it (a session alone is not enough), and the hub answers ten recovery codes, shown here
 * once, and a fresh session: every other session of the person ends (client.enableTwoStep adopts
 * it). Turning it off needs the password too. The hub keeps the rules
 * (hub/src/auth/two-factor.ts, service.ts); this only asks in plain words.
 */
export function TwoStep(props: { on: boolean; onChange: (on: boolean) => void }) {
  const [setup, setSetup] = useState<Setup | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<{ field: 'code' | 'password' | 'form'; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [turnedOff, setTurnedOff] = useState(false);

  const run = async (fn: () => Promise<void>) => {
    if (busy) return;
    setError(null);
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
    }
  };

  const start = () =>
    run(async () => {
      setTurnedOff(false);
      try {
        const answer = await api<TotpSetup>('POST', '/me/totp/setup');
        // The QR encoder is only needed here: loaded on demand, not in the first page.
        const { renderSVG } = await import('uqr');
        setSetup({
          ...answer,
          qr: `data:image/svg+xml;utf8,${encodeURIComponent(renderSVG(answer.uri, { border: 2 }))}`,
        });
        setCode('');
        requestAnimationFrame(() => document.getElementById('two-step-code')?.focus());
      } catch (err) {
        setError({ field: 'form', message: plainMessage(err) });
      }
    });

  const confirm = (e: Event) => {
    e.preventDefault();
    const digits = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(digits)) {
      setError({ field: 'code', message: 'The code from the app has 6 digits.' });
      document.getElementById('two-step-code')?.focus();
      return;
    }
    if (!password) {
      setError({ field: 'password', message: 'Enter your password.' });
      document.getElementById('two-step-password')?.focus();
      return;
    }
    void run(async () => {
      try {
        const codes = await enableTwoStep(digits, password);
        setSetup(null);
        setCode('');
        setPassword('');
        setRecoveryCodes(codes);
        props.onChange(true);
      } catch (err) {
        const failed = err instanceof ApiError ? err.code : '';
        if (failed === 'wrong_password' || failed === 'too_many_requests') {
          setError({
            field: 'password',
            message:
              failed === 'wrong_password'
                ? 'That is not your password.'
                : 'Too many wrong passwords. Wait a few minutes and try again.',
          });
          document.getElementById('two-step-password')?.focus();
        } else if (err instanceof ApiError && (err.code === 'totp_code_wrong' || err.code === 'validation_failed')) {
          setError({
            field: 'code',
            message: 'That code does not match. Check the app shows the Hearth entry and enter its newest code.',
          });
          document.getElementById('two-step-code')?.focus();
        } else setError({ field: 'form', message: plainMessage(err) });
      }
    });
  };

  const turnOff = (e: Event) => {
    e.preventDefault();
    if (!password) {
      setError({ field: 'password', message: 'Enter your password.' });
      document.getElementById('two-step-password')?.focus();
      return;
    }
    void run(async () => {
      try {
        await api('POST', '/me/totp/disable', { password } satisfies TotpDisable);
        setPassword('');
        setRecoveryCodes(null);
        setTurnedOff(true);
        props.onChange(false);
      } catch (err) {
        const code = err instanceof ApiError ? err.code : '';
        if (code === 'wrong_password' || code === 'too_many_requests') {
          setError({
            field: 'password',
            message:
              code === 'wrong_password'
                ? 'That is not your password.'
                : 'Too many wrong passwords. Wait a few minutes and try again.',
          });
          document.getElementById('two-step-password')?.focus();
        } else setError({ field: 'form', message: plainMessage(err) });
      }
    });
  };

  const fieldError = (field: 'code' | 'password') => (error?.field === field ? error.message : undefined);
  const invalid = (field: 'code' | 'password', id: string) =>
    error?.field === field ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : {};

  return (
    <section class="card two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step login</h2>
      {recoveryCodes && (
        <div class="two-step-recovery" data-testid="recovery-codes">
          <p role="status" class="ok">
            Two-step login is on. From now on, logging in asks for the code from your app. Your other devices were
            logged out.
          </p>
          <p>
            <strong>Save these recovery codes now</strong> (print them or keep them in a password manager). Each one
            logs you in once if your phone is lost. They are not shown again.
          </p>
          <ul class="recovery-codes">
            {recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <div class="row">
            <button type="button" onClick={() => setRecoveryCodes(null)}>
              I have saved them
            </button>
          </div>
        </div>
      )}
      {!props.on && !setup && (
        <>
          <p class="muted">
            Besides your password, logging in also asks for a 6-digit code from an authenticator app on your phone (any
            app that does "TOTP").
          </p>
          {turnedOff && (
            <p role="status" class="ok">
              Two-step login is off.
            </p>
          )}
          <FormError message={error?.field === 'form' ? error.message : null} />
          <div class="row">
            <button type="button" class="primary" disabled={busy} onClick={start}>
              Turn on two-step login
            </button>
          </div>
        </>
      )}
      {!props.on && setup && (
        <form onSubmit={confirm} noValidate>
          <p>Scan this code with your authenticator app, or type the key into it.</p>
          <img class="qr" src={setup.qr} alt="QR code for your authenticator app" width={200} height={200} />
          <p>
            Key:{' '}
            <code data-testid="totp-secret" data-secret={setup.secret}>
              {grouped(setup.secret)}
            </code>
          </p>
          <Field
            label="Code from the app"
            id="two-step-code"
            error={fieldError('code')}
            hint="The 6 digits the app now shows for Hearth."
          >
            <input
              id="two-step-code"
              autoComplete="one-time-code"
              inputMode="numeric"
              maxLength={7}
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
              {...invalid('code', 'two-step-code')}
            />
          </Field>
          <Field
            label="Password to turn it on"
            id="two-step-password"
            error={fieldError('password')}
            hint="Your login password. Turning two-step login on logs you out everywhere else."
          >
            <input
              id="two-step-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              {...invalid('password', 'two-step-password')}
            />
          </Field>
          <FormError message={error?.field === 'form' ? error.message : null} />
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              Confirm and turn on
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setSetup(null);
                setError(null);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
      {props.on && (
        <form onSubmit={turnOff} noValidate>
          {!recoveryCodes && <p>Two-step login is on: logging in asks for the code from your authenticator app.</p>}
          <Field
            label="Password to turn it off"
            id="two-step-password"
            error={fieldError('password')}
            hint="Your login password."
          >
            <input
              id="two-step-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              {...invalid('password', 'two-step-password')}
            />
          </Field>
          <FormError message={error?.field === 'form' ? error.message : null} />
          <div class="row">
            <button type="submit" disabled={busy}>
              Turn off two-step login
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
