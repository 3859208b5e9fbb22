import type {
  HandoverInvite as Invite,
  HandoverStatus as Status,
  User,
  HandoverInviteCreate,
  SupportExtend,
} from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { Field, FormError } from './form.tsx';

const SUPPORT_DAYS_MAX = 90;

/**
 * Settings → Handover (hub/src/auth/handover.ts). The installer makes the one-time owner invite
 * (the code is shown once); the owner sees each installer's support grant, extends it and
 * revokes it. Hidden from an owner whose home never had an installer.
 */
export function Handover(props: { me: User }) {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<Status>('GET', '/handover').then(setStatus, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), []);
  if (!status) return error ? <FormError message={error} /> : null;
  if (props.me.role === 'installer') return <InviteOwner status={status} onChange={load} />;
  if (props.me.role !== 'owner' || status.installers.length === 0) return null;
  return <SupportGrants status={status} onChange={load} />;
}

function InviteOwner(props: { status: Status; onChange: () => void }) {
  const [days, setDays] = useState('30');
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [invite, setInvite] = useState<Invite | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const supportDays = Number(days);
    if (!/^\d+$/.test(days) || supportDays > SUPPORT_DAYS_MAX) {
      setFieldError(`Support access is 0 to ${SUPPORT_DAYS_MAX} whole days.`);
      document.getElementById('handover-days')?.focus();
      return;
    }
    setFieldError(undefined);
    try {
      setInvite(await api<Invite>('POST', '/handover/owner-invite', { supportDays } satisfies HandoverInviteCreate));
      setError(null);
      props.onChange();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <form class="card" onSubmit={submit} aria-labelledby="handover-title" noValidate>
      <h2 id="handover-title">Hand the home over</h2>
      <p class="muted">
        When the home is set up, make a one-time invite for the homeowner. They open this hub on the home network and
        create the owner account with it (valid 7 days, usable once). Then your account stops working, or keeps support
        access for the days below, which the owner can extend or end.
      </p>
      {props.status.pendingInvite && !invite && (
        <p>An invite is waiting until {formatTime(props.status.pendingInvite.expiresAt)}; a new one replaces it.</p>
      )}
      <Field
        label="Support access after handover (days)"
        id="handover-days"
        error={fieldError}
        hint={`0 for none, at most ${SUPPORT_DAYS_MAX}.`}
      >
        <input
          id="handover-days"
          inputMode="numeric"
          value={days}
          onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)}
          {...(fieldError ? { 'aria-invalid': true, 'aria-describedby': 'handover-days-error' } : {})}
        />
      </Field>
      <FormError message={error} />
      <button type="submit">Make the owner invite</button>
      {invite && (
        <p role="status">
          Give the homeowner this code: <code data-testid="owner-invite-code">{invite.code}</code> (valid until{' '}
          {formatTime(invite.expiresAt)}). It is not shown again.
        </p>
      )}
    </form>
  );
}

function SupportGrants(props: { status: Status; onChange: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const act = async (method: 'PUT' | 'DELETE', id: string, body?: SupportExtend) => {
    try {
      await api(method, `/handover/support/${encodeURIComponent(id)}`, body);
      setError(null);
      props.onChange();
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  return (
    <section class="card" aria-labelledby="support-title">
      <h2 id="support-title">Installer access</h2>
      <p class="muted">Who set this home up, and whether they can still get in to help.</p>
      <ul aria-label="Installers">
        {props.status.installers.map((i) => (
          <li key={i.id}>
            <strong>{i.username}</strong>:{' '}
            {i.supportGrant?.active ? `support access until ${formatTime(i.supportGrant.expiresAt)}` : 'no access'}{' '}
            {/* Accessible names start with the visible text (WCAG 2.5.3), then say whose access. */}
            <button
              type="button"
              onClick={() => void act('PUT', i.id, { days: 30 } satisfies SupportExtend)}
              aria-label={`${i.supportGrant?.active ? 'Extend 30 days' : 'Allow 30 days'} of support access for ${i.username}`}
            >
              {i.supportGrant?.active ? 'Extend 30 days' : 'Allow 30 days'}
            </button>{' '}
            {i.supportGrant && (
              <button
                type="button"
                onClick={() => void act('DELETE', i.id)}
                aria-label={`End access for ${i.username}`}
              >
                End access
              </button>
            )}
          </li>
        ))}
      </ul>
      <FormError message={error} />
    </section>
  );
}
