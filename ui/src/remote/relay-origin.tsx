import { useState } from 'preact/hooks';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { saveDevice } from '../api/keystore.ts';
import { defaultDeviceName } from './device-name.ts';
import { enrolmentChanged } from '../api/transport.ts';
import type { ErrorCode } from '@hearth/model/errors';
import type { ProtocolErrorCode } from '@hearth/protocol/errors';

/** The invite in this page's address (`#invite=<hubId>.<seed>`), or null. */
export function inviteInLocation(): string | null {
  return /(?:^#|&)invite=/.test(location.hash) ? location.href : null;
}

/** By code: the relay protocol's or the hub's (a renamed code fails the type check). */
const INVITE_TEXT: Partial<Record<ProtocolErrorCode | ErrorCode, string>> = {
  invalid_invite: 'This link is not a complete Hearth invite. Copy the whole link, or scan the code again.',
  device_not_enrolled:
    'This invite was already used, withdrawn, or has expired. Ask for a new one at home (Settings → Away from home).',
  invite_not_found:
    'This invite was already used, withdrawn, or has expired. Ask for a new one at home (Settings → Away from home).',
  hub_offline:
    'The hub is not connected to the relay right now, so the invite cannot be used. Try again when it is back online.',
};

/**
 * The app opened from an invite link on the relay's web origin: names this device, then trades
 * the link's one-time key for this browser's own keys (@hearth/protocol/invite). The link is taken out
 * of the address bar at once, so it is not left in the history for someone else to find.
 */
export function RedeemInvite(props: { link: string; onDone: (username: string) => void }) {
  const [name, setName] = useState(defaultDeviceName());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const redeem = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { parseInviteLink, redeemInvite } = await import('@hearth/protocol/invite');
      const device = await redeemInvite(parseInviteLink(props.link), name.trim() || defaultDeviceName());
      await saveDevice(device);
      history.replaceState(null, '', location.pathname);
      enrolmentChanged();
      props.onDone(device.username);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      setError((typeof code === 'string' && INVITE_TEXT[code as keyof typeof INVITE_TEXT]) || plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="welcome">
      <h1>Hearth</h1>
      <form onSubmit={redeem} aria-labelledby="invite-title">
        <h2 id="invite-title">Set up this device</h2>
        <p>
          You were invited to reach your home from anywhere. This device makes its own keys; the relay passes on only
          encrypted traffic it cannot read. You will log in with your own password next.
        </p>
        <Field label="Name of this device" id="invite-name">
          <input id="invite-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <FormError message={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Set up this device
          </button>
          {busy && <Spinner label="Setting up" />}
        </div>
      </form>
    </main>
  );
}

/** The relay's web origin opened with no enrolment here and no invite in the address. */
export function NeedsInvite() {
  return (
    <main class="welcome">
      <h1>Hearth</h1>
      <section class="card" aria-labelledby="needs-invite-title">
        <h2 id="needs-invite-title">This device is not set up yet</h2>
        <p>
          To reach your home from here, someone at home makes an invite for you: in the Hearth app on the home network,
          Settings → Away from home → Invite a device. Open that link (or scan its code) on this device.
        </p>
      </section>
    </main>
  );
}
