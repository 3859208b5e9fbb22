import type { Device, DeviceLogEvent as LogEvent, DeviceLogPage, DevicePatch } from '@hearth/model/api';
import { byActor } from '../by-actor.ts';
import { capabilitySpec } from '@hearth/model/capabilities';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { EnergyBars, HistoryChart } from '../components/history-chart.tsx';
import { useToggle } from '../components/use-toggle.ts';
import { formatTime, formatValue, toggleOf } from '../format.ts';
import { devices, dropDevice, loaded, putDevice, rooms } from '../live.ts';
import { navigate } from '../router.ts';
import { useStore } from '../store.ts';
import { RoomSelect } from '../components/room-select.tsx';
import { PlugUpdate } from '../components/plug-update.tsx';
import { DeviceControls } from '../components/device-controls.tsx';
import { WhoCanReach } from '../components/who-can-reach.tsx';

/** One device: live state and controls, history, its event log, and rename / move / remove. */
export function DevicePage(props: { id: string }) {
  const device = useStore(devices).get(props.id);
  const ready = useStore(loaded);
  if (!device) return ready ? <p>This device does not exist (any more).</p> : <Spinner label="Loading device" />;
  // What is charted comes from the capability model: the first reading drawn as a line, and
  // energy as bars per day.
  const charted = device.capabilities.find((c) => capabilitySpec(c)?.chart === 'line');

  return (
    <>
      <h1>{device.name}</h1>
      <p class={device.available ? 'ok' : 'bad'} data-testid="availability">
        {device.available ? 'Online' : 'Offline'}
      </p>
      <StateCard device={device} />
      {charted && <HistoryChart deviceId={device.id} capability={charted} unit={capabilitySpec(charted)?.unit ?? ''} />}
      {device.capabilities.some((c) => capabilitySpec(c)?.chart === 'energy') && <EnergyBars deviceId={device.id} />}
      <PlugUpdate device={device} />
      <EventLog deviceId={device.id} />
      <WhoCanReach deviceId={device.id} />
      <Manage device={device} />
    </>
  );
}

function StateCard(props: { device: Device }) {
  const { device } = props;
  const toggle = toggleOf(device.capabilities);
  const { pending, error, run } = useToggle(device, toggle);
  const on = toggle ? device.state[toggle] === true : false;
  return (
    <section class="card" aria-labelledby="state-title">
      <h2 id="state-title">Now</h2>
      {toggle && (
        <button type="button" class="toggle" aria-pressed={on} disabled={pending} onClick={() => void run(!on)}>
          <span data-state={toggle}>{on ? 'On' : 'Off'}</span>
          {pending && <Spinner label="Waiting for the device" />}
        </button>
      )}
      {error && (
        <p class="tile-error" role="alert">
          {error}
        </p>
      )}
      <DeviceControls device={device} skip={toggle} />
      <table>
        <tbody>
          {device.capabilities
            .filter((c) => c !== toggle)
            .map((c) => (
              <tr>
                <th scope="row">{c}</th>
                <td data-reading={c}>{formatValue(c, device.state[c])}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <p class="muted">
        {device.model} · {device.driver} · updated {formatTime(device.updatedAt)}
      </p>
    </section>
  );
}

function describe(e: LogEvent): string {
  if (e.kind === 'availability') return e.value ? 'came online' : 'went offline';
  if (e.kind === 'command')
    return `command ${e.capability} → ${formatValue(e.capability ?? '', e.value)}${e.outcome ? ` (${e.outcome})` : ''}${byActor(e.actor)}`;
  return `${e.capability} ${formatValue(e.capability ?? '', e.previous)} → ${formatValue(e.capability ?? '', e.value)}`;
}

function EventLog(props: { deviceId: string }) {
  const [events, setEvents] = useState<LogEvent[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const device = useStore(devices).get(props.deviceId);
  const toggle = device ? toggleOf(device.capabilities) : undefined;
  const switched = toggle ? device?.state[toggle] : undefined;

  const load = async (before?: number) => {
    try {
      const page = await api<DeviceLogPage>(
        'GET',
        `/history/events?device=${encodeURIComponent(props.deviceId)}&limit=30${before ? `&before=${before}` : ''}`,
      );
      setEvents((old) => (before ? [...old, ...page.events] : page.events));
      setNext(page.nextBefore);
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  // Reload when the device switches or comes and goes (not on every power reading). The hub
  // writes events in batches about once a second, so the reload waits a little longer than that.
  useEffect(() => {
    const timer = setTimeout(() => void load(), 1200);
    return () => clearTimeout(timer);
  }, [props.deviceId, switched, device?.available]);

  return (
    <section class="card" aria-labelledby="log-title">
      <h2 id="log-title">Event log</h2>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {events.length === 0 && !error && <p class="muted">Nothing yet.</p>}
      <ul class="steps" data-testid="event-log">
        {events.map((e) => (
          <li>
            <time dateTime={e.at}>{formatTime(e.at)}</time> {describe(e)}
          </li>
        ))}
      </ul>
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Older events
        </button>
      )}
    </section>
  );
}

function Manage(props: { device: Device }) {
  const { device } = props;
  const roomList = useStore(rooms);
  const [name, setName] = useState(device.name);
  const [roomId, setRoomId] = useState(device.roomId ?? '');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      putDevice(
        await api<Device>('PATCH', `/devices/${device.id}`, {
          name: name.trim(),
          roomId: roomId || null,
        } satisfies DevicePatch),
      );
      setSaved(true);
    } catch (err) {
      setError(
        (err as { code?: string }).code === 'validation_failed'
          ? 'The name must be 1 to 100 characters.'
          : plainMessage(err),
      );
    }
  };

  const remove = async () => {
    if (!confirm(`Remove ${device.name}? Its history stays, but it can no longer be controlled.`)) return;
    try {
      await api('DELETE', `/devices/${device.id}`);
      dropDevice(device.id);
      navigate('/');
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section class="card" aria-labelledby="manage-title">
      <h2 id="manage-title">Settings</h2>
      <form onSubmit={save}>
        <Field label="Device name" id="device-name">
          <input id="device-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <RoomSelect id="device-room" value={roomId} rooms={roomList} onChange={setRoomId} />
        <FormError message={error} />
        {saved && (
          <p role="status" class="ok">
            Saved.
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" class="danger" onClick={() => void remove()}>
            Remove device
          </button>
        </div>
      </form>
    </section>
  );
}
