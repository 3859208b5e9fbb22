import { useState } from 'preact/hooks';
import { createOwner, login } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from '../components/form.tsx';
import { AcceptOwnerInvite } from './accept-owner-invite.tsx';
import { FirstRunRestore } from './first-run-restore.tsx';

/**
 * The two doors into the app: first run creates the owner (`POST /setup`), later runs log in.
 * Creating the owner needs the hub's one-time setup code (its log, DATA/setup-code, `hearth-admin
 * setup-code`), so a stranger on the network who opens a new hub first cannot take it over.
 * Both leave the user logged in; the app shell takes over from there. An account with two-step
 * login answers `totp_required` (whether the password was right or not: the hub tells nobody
 * before the code is checked): the form then also asks for the code from the authenticator app,
 * or one of the recovery codes, and logs in with both; a wrong password or code is then one
 * answer, `invalid_credentials`.
 */
export function Welcome(props: {
  setup: boolean;
  username?: string;
  onDone: () => void;
  ownerInvite?: boolean;
  https?: { port: number; sha256: string; strict: boolean } | null;
}) {
  const [username, setUsername] = useState(props.username ?? '');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [setupCode, setSetupCode] = useState('');
  const [installer, setInstaller] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Two-step login: null until the hub asks for a code; then which kind the person enters.
  const [second, setSecond] = useState<'totp' | 'recovery' | null>(null);
  const [code, setCode] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (props.setup && password !== repeat) {
      setError('The two passwords are different.');
      return;
    }
    const totp = code.replace(/\s/g, '');
    if (second === 'totp' && !/^\d{6}$/.test(totp)) {
      setError('The code from the app has 6 digits.');
      document.getElementById('totp')?.focus();
      return;
    }
    if (second === 'recovery' && !code.trim()) {
      setError('Enter one of your recovery codes.');
      document.getElementById('recovery-code')?.focus();
      return;
    }
    setBusy(true);
    try {
      if (props.setup) {
        await createOwner(username, password, setupCode.trim(), installer ? 'installer' : 'owner');
        // Strict: from now on this hub answers plain http only with a redirect; go to its https
        // address (a new origin: the person logs in there, their password over TLS).
        if (props.https?.strict && location.protocol === 'http:')
          return location.assign(secureAddress(props.https.port));
      } else
        await login(
          username,
          password,
          second === 'totp' ? { totp } : second === 'recovery' ? { recoveryCode: code.trim() } : {},
        );
      props.onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') {
        // The account needs its second step (the password is checked with the code). Not an error yet.
        setSecond('totp');
        setCode('');
        requestAnimationFrame(() => document.getElementById('totp')?.focus());
      } else if (
        err instanceof ApiError &&
        (err.code === 'invalid_credentials' || err.code === 'totp_invalid') &&
        second
      ) {
        setError(
          second === 'recovery'
            ? 'The password or the recovery code is not right (each recovery code works once). Check both and try again.'
            : 'The password or the code is not right (each code works once). Check your password and enter the newest code from your authenticator app.',
        );
      } else if (err instanceof ApiError && err.code === 'setup_code_invalid') {
        setError(plainMessage(err));
        document.getElementById('setup-code')?.focus();
      } else if (err instanceof ApiError && err.code === 'too_many_requests' && second) {
        setError('Too many wrong codes. Wait a few minutes and try again.');
      } else {
        setError(
          props.setup && (err as { code?: string }).code === 'validation_failed'
            ? setupHint(err as { details?: Record<string, unknown> })
            : plainMessage(err),
        );
      }
    } finally {
      setBusy(false);
    }
  };

  const switchSecond = () => {
    setSecond(second === 'totp' ? 'recovery' : 'totp');
    setCode('');
    setError(null);
  };

  return (
    <main class="welcome">
      <h1>Hearth</h1>
      <form onSubmit={submit} aria-labelledby="welcome-title">
        <h2 id="welcome-title">{props.setup ? 'Create the owner account' : 'Log in'}</h2>
        {props.setup && <p>This hub is new. The first account owns the home and can invite others later.</p>}
        {props.setup && (
          <div class="field">
            <label>
              <input
                type="checkbox"
                checked={installer}
                onChange={(e) => setInstaller(e.currentTarget.checked)}
                aria-describedby="installer-hint"
              />{' '}
              I am setting this hub up for someone else (installer)
            </label>
            <small id="installer-hint">
              You get an installer account to set the home up, then invite the homeowner as owner from Settings. Your
              access ends when they accept.
            </small>
          </div>
        )}
        {props.setup && (
          <Field
            label="Setup code"
            id="setup-code"
            hint={
              "Proves you are at the hub. It is printed in the hub's log when it starts, kept in the file " +
              'setup-code in its data folder, and shown by running hearth-admin setup-code on the hub.'
            }
          >
            <input
              id="setup-code"
              name="setup-code"
              autocomplete="off"
              autocapitalize="characters"
              spellcheck={false}
              required
              value={setupCode}
              onInput={(e) => setSetupCode(e.currentTarget.value)}
              aria-describedby="setup-code-hint"
            />
          </Field>
        )}
        <Field label="Username" id="username">
          <input
            id="username"
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </Field>
        <Field label="Password" id="password" {...(props.setup ? { hint: 'At least 8 characters.' } : {})}>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete={props.setup ? 'new-password' : 'current-password'}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {props.setup && (
          <Field label="Repeat password" id="repeat">
            <input
              id="repeat"
              type="password"
              autocomplete="new-password"
              required
              value={repeat}
              onInput={(e) => setRepeat(e.currentTarget.value)}
            />
          </Field>
        )}
        {second === 'totp' && (
          <Field
            label="Code from your authenticator app"
            id="totp"
            hint="This account uses two-step login: open your authenticator app and enter the 6-digit code it shows for Hearth."
          >
            <input
              id="totp"
              name="totp"
              autocomplete="one-time-code"
              inputMode="numeric"
              pattern="[0-9 ]*"
              maxLength={7}
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
              aria-describedby="totp-hint"
            />
          </Field>
        )}
        {second === 'recovery' && (
          <Field
            label="Recovery code"
            id="recovery-code"
            hint="One of the recovery codes you saved when you turned two-step login on. Each works once."
          >
            <input
              id="recovery-code"
              name="recovery-code"
              autocomplete="off"
              autocapitalize="none"
              spellcheck={false}
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
              aria-describedby="recovery-code-hint"
            />
          </Field>
        )}
        {second && (
          <p>
            <button type="button" class="link" onClick={switchSecond}>
              {second === 'totp' ? 'Use a recovery code instead' : 'Use the code from the app instead'}
            </button>
          </p>
        )}
        <FormError message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {props.setup ? 'Create account' : 'Log in'}
        </button>
      </form>
      {!props.setup && props.ownerInvite && <AcceptOwnerInvite onDone={props.onDone} />}
      {props.setup && props.https && <SecureAddress {...props.https} />}
      {props.setup && <FirstRunRestore />}
    </main>
  );
}

/**
 * The hub's own https address and its certificate's fingerprint. No public authority can vouch
 * for a hub on the home network, so the browser warns the first time; the fingerprint shown here
 * (read over the connection the person chose to trust for setup) is what they compare with the
 * browser's certificate details before accepting it.
 */
function SecureAddress(props: { port: number; sha256: string }) {
  const secure = location.protocol === 'https:';
  const address = secureAddress(props.port);
  return (
    <section class="secure-address" aria-labelledby="secure-address-title" data-testid="https-fingerprint-card">
      <h2 id="secure-address-title">Secure address</h2>
      {secure ? (
        <p>You are on the hub's encrypted address. Its certificate should show this fingerprint (SHA-256):</p>
      ) : (
        <p>
          This hub also answers encrypted at{' '}
          <a href={address} data-testid="https-address">
            {address}
          </a>
          . Your browser will warn that it cannot check the hub's certificate: open the certificate details and continue
          only if they show this fingerprint (SHA-256):
        </p>
      )}
      <p>
        <code class="fingerprint" data-testid="https-fingerprint">
          {props.sha256}
        </code>
      </p>
    </section>
  );
}

/** The hub's https address under the name this page was opened with. */
function secureAddress(port: number): string {
  return `https://${location.hostname}:${port}/`;
}

/** The hub names the field that failed; say what that field needs. */
function setupHint(err: { details?: Record<string, unknown> }): string {
  if (err.details?.field === 'password') return 'The password needs at least 8 characters.';
  return 'The username may contain letters, digits, dots, dashes, @ and underscores only.';
}
