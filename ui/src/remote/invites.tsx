import type { OpenInvite, IssuedInvite, RemoteInviteCreate } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { formatTime } from '../format.ts';

/**
 * Settings → Away from home → "Invite a device": a one-time link (and its QR code) that sets up a
 * phone or laptop for this user from anywhere, in the app the relay serves on its https origin
 * (docs/relay-protocol.md "Enrolment by invite"). Made on the LAN only; the hub refuses it remotely.
 */
export function Invites() {
  const [open, setOpen] = useState<OpenInvite[] | null>(null);
  const [issued, setIssued] = useState<(IssuedInvite & { qr: string }) | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const reload = () => api<OpenInvite[]>('GET', '/remote/invites').then(setOpen, (err) => setError(plainMessage(err)));
  useEffect(() => void reload(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCopied(false);
    try {
      const invite = await api<IssuedInvite>(
        'POST',
        '/remote/invites',
        (name.trim() ? { name: name.trim() } : {}) satisfies RemoteInviteCreate,
      );
      // The QR encoder is only needed here: loaded on demand, not in the first page.
      const { renderSVG } = await import('uqr');
      setIssued({
        ...invite,
        qr: `data:image/svg+xml;utf8,${encodeURIComponent(renderSVG(invite.link, { border: 2 }))}`,
      });
      setName('');
      await reload();
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const withdraw = async (id: string) => {
    setError(null);
    try {
      await api('DELETE', `/remote/invites/${encodeURIComponent(id)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'invite_not_found') setError(plainMessage(err));
    }
    if (issued?.id === id) setIssued(null);
    await reload();
  };

  const copy = async () => {
    if (!issued) return;
    try {
      await navigator.clipboard.writeText(issued.link);
      setCopied(true);
    } catch {
      // No clipboard (plain http): the link is selected in its field for copying by hand.
      (document.getElementById('invite-link') as HTMLInputElement | null)?.select();
    }
  };

  return (
    <div class="invites">
      <h3>Invite a device</h3>
      <p class="muted">
        Makes a link for one phone or computer of yours, valid for 30 minutes and only once. Open it on that device (or
        scan the code): it sets the app up there, and you log in with your own password.
      </p>
      <form onSubmit={create}>
        <Field label="Name of the invited device (optional)" id="invite-device-name">
          <input
            id="invite-device-name"
            value={name}
            placeholder="My phone"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <div class="row">
          <button type="submit" disabled={busy}>
            Make an invite link
          </button>
          {busy && <Spinner label="Making the link" />}
        </div>
      </form>
      {issued && (
        <div class="invite-issued" role="status">
          <img class="qr" src={issued.qr} alt="QR code of the invite link" width={200} height={200} />
          <Field label="Invite link" id="invite-link" hint={`Works once, until ${formatTime(issued.expiresAt)}.`}>
            <input id="invite-link" readOnly value={issued.link} onFocus={(e) => e.currentTarget.select()} />
          </Field>
          <button type="button" onClick={() => void copy()}>
            {copied ? 'Copied' : 'Copy link'}
          </button>
        </div>
      )}
      {open && open.length > 0 && (
        <ul class="invite-list" aria-label="Open invites">
          {open.map((invite) => (
            <li key={invite.id}>
              <span>
                {invite.name} ({invite.username}), until {formatTime(invite.expiresAt)}
              </span>
              <button type="button" class="link" onClick={() => void withdraw(invite.id)}>
                Withdraw
              </button>
            </li>
          ))}
        </ul>
      )}
      <FormError message={error} />
    </div>
  );
}
