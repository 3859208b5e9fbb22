import type {
  ZigbeeStatus,
  ZigbeeJoinStatus as JoinStatus,
  ZigbeeJoiner as Joiner,
  ZigbeePermitJoin,
} from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import type { HubEvent } from '../api/types.ts';
import { devices, onHubEvent } from '../live.ts';
import { href } from '../router.ts';
import { useStore } from '../store.ts';
import { FormError, Spinner } from './form.tsx';

/** How long one press of "Start pairing" keeps the network open (Zigbee allows at most 254 s). */
export const PAIRING_SECONDS = 120;
const STARTING_POLL_MS = 3000;

/** The permit-join failures in words a person can act on. */
function zigbeeMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'not_ready')
      return 'The Zigbee radio is not ready. Check that the Zigbee stick is plugged into the hub; the hub keeps trying to reach it. Try again in a minute.';
    if (err.code === 'internal_error')
      return 'The Zigbee radio did not accept the request. Try again; if it keeps failing, restart the hub.';
  }
  return plainMessage(err);
}

function remaining(until: number | null, now: number): number {
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

function clock(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Pairing a Zigbee device (admins; the hub answers GET /zigbee only to them): opening the
 * network for new devices with a countdown and "Stop", and what happens to each device that
 * joins while the page is open (`zigbee.device` events), ending in a link to the new device.
 * Nothing shows when the hub has no Zigbee radio configured or the person may not pair.
 */
export function ZigbeePairing() {
  const [status, setStatus] = useState<ZigbeeStatus | null>(null);
  const [hidden, setHidden] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [until, setUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [joiners, setJoiners] = useState<Joiner[]>([]);
  const known = useStore(devices);

  const show = (s: ZigbeeStatus, localUntil?: number) => {
    setStatus(s);
    setNow(Date.now());
    setUntil(s.permitJoin ? (localUntil ?? s.permitJoinUntil ?? null) : null);
  };

  const load = async () => {
    try {
      show(await api<ZigbeeStatus>('GET', '/zigbee'));
      setLoadError(null);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) setHidden(true);
      else setLoadError(plainMessage(err));
    }
  };

  useEffect(() => void load(), []);

  // A radio that is still starting (or failed and being retried) is asked again now and then.
  const waiting = status !== null && status.state !== 'running' && status.state !== 'off';
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => void load(), STARTING_POLL_MS);
    return () => clearInterval(timer);
  }, [waiting]);

  // The countdown; at zero the hub closed the network itself (it says so with an event too).
  const open = until !== null && remaining(until, now) > 0;
  useEffect(() => {
    if (until === null) return;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (remaining(until, t) === 0) {
        clearInterval(timer);
        void load();
      }
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);

  useEffect(
    () =>
      onHubEvent((event: HubEvent) => {
        if (event.type === 'zigbee.permit_join') {
          if (event.permitted === false) setUntil(null);
          else if (typeof event.seconds === 'number') setUntil(Date.now() + event.seconds * 1000);
        } else if (event.type === 'zigbee.device' && typeof event.ieee === 'string') {
          const next: Joiner = {
            ieee: event.ieee,
            status: event.status as JoinStatus,
            ...(event.deviceId ? { deviceId: event.deviceId } : {}),
            ...(typeof event.model === 'string' ? { model: event.model } : {}),
          };
          setJoiners((list) => {
            const before = list.find((j) => j.ieee === next.ieee);
            const merged = before
              ? { ...before, ...next }
              : { ...next, rejoined: devices.get().has(deviceIdFor(next.ieee)) };
            return before ? list.map((j) => (j.ieee === next.ieee ? merged : j)) : [...list, merged];
          });
        }
      }),
    [],
  );

  const permitJoin = async (seconds: number) => {
    setError(null);
    setBusy(true);
    try {
      const s = await api<ZigbeeStatus>('POST', '/zigbee/permit-join', { seconds } satisfies ZigbeePermitJoin);
      // Counted from this device's clock: the hub's may differ.
      show(s, s.permitJoin ? Date.now() + seconds * 1000 : undefined);
    } catch (err) {
      setError(zigbeeMessage(err));
      if (err instanceof ApiError && err.code === 'not_ready') void load();
    } finally {
      setBusy(false);
    }
  };

  if (hidden || status?.state === 'off') return null;
  if (!status)
    return loadError ? (
      <section class="card">
        <FormError message={loadError} />
      </section>
    ) : null;

  const left = remaining(until, now);
  // A start that is a retry after failures (each attempt takes a while) is still "cannot reach".
  const unreachable =
    status.state === 'failed' ||
    status.state === 'stopped' ||
    (status.state === 'starting' && (status.failures ?? 0) > 0);
  return (
    <section class="card" aria-labelledby="zigbee-title">
      <h2 id="zigbee-title">Pair a Zigbee device</h2>
      {status.state === 'starting' && !unreachable && (
        <p data-testid="zigbee-state">
          <Spinner label="Starting" /> The hub is starting its Zigbee radio. This takes a few seconds.
        </p>
      )}
      {unreachable && (
        <p class="bad" data-testid="zigbee-state">
          The hub cannot reach its Zigbee radio
          {status.port ? (
            <>
              {' '}
              (<code>{status.port}</code>)
            </>
          ) : null}
          . Check that the Zigbee stick is plugged into the hub. The hub keeps trying and this page updates by itself.
        </p>
      )}
      {status.state === 'running' && (
        <>
          {open ? (
            <div role="status" data-testid="zigbee-open">
              <p>
                <strong>
                  Open for new devices: <span data-testid="zigbee-countdown">{clock(left)}</span> left.
                </strong>
              </p>
              <p>
                Now put the device in pairing mode. Usually: hold its button for 5 seconds until its light blinks. A new
                bulb is often in pairing mode as soon as it gets power; an old one needs to be switched on and off 5 or
                6 times. Keep it close to the hub.
              </p>
            </div>
          ) : (
            <p>
              Lights, plugs and sensors that speak Zigbee join through the hub's Zigbee radio. Start pairing, then put
              the device in pairing mode.
            </p>
          )}
          <FormError message={error} />
          <div class="row">
            {open ? (
              <button type="button" disabled={busy} onClick={() => void permitJoin(0)}>
                Stop
              </button>
            ) : (
              <button type="button" class="primary" disabled={busy} onClick={() => void permitJoin(PAIRING_SECONDS)}>
                Start pairing
              </button>
            )}
            {busy && <Spinner label="Asking the Zigbee radio" />}
          </div>
        </>
      )}
      {status.state !== 'running' && <FormError message={error} />}
      {joiners.length > 0 && (
        <>
          <h3>Devices seen</h3>
          <ul class="steps" aria-live="polite" data-testid="zigbee-joiners">
            {joiners.map((j) => {
              const id = j.deviceId ?? deviceIdFor(j.ieee);
              return <JoinerRow joiner={j} deviceId={id} name={known.get(id)?.name} />;
            })}
          </ul>
        </>
      )}
    </section>
  );
}

/** The Hearth device a Zigbee device becomes (hub/src/drivers/zigbee/driver.ts deviceIdFor). */
function deviceIdFor(ieee: string): string {
  return `zb-${ieee.replace(/^0x/, '').toLowerCase()}`;
}

function JoinerRow(props: { joiner: Joiner; deviceId: string; name: string | undefined }) {
  const { joiner, name } = props;
  // A device that is already Hearth's and rejoined (reset, moved): herdsman interviews it again
  // but nothing new is added.
  if (joiner.rejoined && (joiner.status === 'joined' || joiner.status === 'interviewing') && name) {
    return (
      <li class="ok" data-ieee={joiner.ieee} data-status={joiner.status}>
        <a href={href(`/devices/${props.deviceId}`)}>{name}</a> rejoined the network. It is already one of your devices.
      </li>
    );
  }
  const what = joiner.model ? `A new device (${joiner.model})` : 'A new device';
  const cls =
    joiner.status === 'added'
      ? 'ok'
      : joiner.status === 'interview_failed' || joiner.status === 'unsupported'
        ? 'bad'
        : undefined;
  let text;
  switch (joiner.status) {
    case 'joined':
      text = (
        <>
          {what} joined the network. <Spinner label="Waiting" /> The hub is getting to know it…
        </>
      );
      break;
    case 'interviewing':
      text = (
        <>
          {what} joined. <Spinner label="Waiting" /> The hub is asking it what it is and what it can do…
        </>
      );
      break;
    case 'added':
      text = (
        <>
          Added:{' '}
          {joiner.deviceId ? (
            <a href={href(`/devices/${joiner.deviceId}`)}>{name ?? joiner.model ?? joiner.deviceId}</a>
          ) : (
            (name ?? joiner.model)
          )}
          . It is on your home page now.
        </>
      );
      break;
    case 'interview_failed':
      text = (
        <>
          {what} joined but did not answer the hub's questions, so it was not added. Bring it closer to the hub and put
          it in pairing mode again while pairing is open.
        </>
      );
      break;
    case 'unsupported':
      text = <>{what} joined, but it has nothing Hearth can switch or read yet, so it was not added.</>;
      break;
    case 'left':
      text = <>{name ?? joiner.model ?? 'A device'} left the network.</>;
      break;
    default:
      text = (
        <>
          {what}: {joiner.status}
        </>
      );
  }
  return (
    <li class={cls} data-ieee={joiner.ieee} data-status={joiner.status}>
      {text}
    </li>
  );
}
