import type { Device, DeviceCreate, DeviceCreated, DiscoveredPlug as Discovered, PlugPair } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { canScan, QrScanner } from '../components/qr-scanner.tsx';
import { RoomSelect } from '../components/room-select.tsx';
import { ZigbeePairing } from '../components/zigbee-pairing.tsx';
import { putDevice, rooms } from '../live.ts';
import { navigate } from '../router.ts';
import { useStore } from '../store.ts';

const POLL_MS = 3000;

/** A plug's QR code reads `HEARTH:<plug id>:<setup code>`; the printed code is 8 digits. */
export function parseSetupCode(text: string): { plugId?: string; code: string } {
  const qr = /^HEARTH:([^:]+):(\S+)$/.exec(text.trim());
  if (qr) return { plugId: qr[1]!, code: text.trim() };
  return { code: text.replace(/[\s-]/g, '') };
}

/** What the hub said, in words a person can act on; `details.step` tells pairing failures apart. */
function pairingMessage(err: unknown): string {
  if (err instanceof ApiError && err.code === 'validation_failed' && err.details?.field === 'name')
    return 'Give the plug a name.';
  return plainMessage(err);
}

/**
 * Adding a device: Hearth plugs found on the network are paired with the code printed on them
 * (typed, or read from the QR code with the camera); Zigbee devices join while an admin opens
 * the hub's Zigbee network (when the hub has a Zigbee radio); DIY devices get MQTT credentials.
 */
export function AddDevice() {
  return (
    <>
      <h1>Add a device</h1>
      <PairPlug />
      <ZigbeePairing />
      <AddMqttDevice />
    </>
  );
}

function PairPlug() {
  const [found, setFound] = useState<Discovered[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string>('');
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [roomId, setRoomId] = useState('');
  const [scanning, setScanning] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const roomList = useStore(rooms);

  useEffect(() => {
    let stop = false;
    const poll = async () => {
      try {
        const list = await api<Discovered[]>('GET', '/plugs/discovered');
        if (!stop) {
          setFound(list);
          setListError(null);
        }
      } catch (err) {
        if (!stop) setListError(plainMessage(err));
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, []);

  const onScanned = (text: string) => {
    setScanning(false);
    setCode(text);
    const parsed = parseSetupCode(text);
    if (parsed.plugId) setChosen(parsed.plugId);
  };

  const pair = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const parsed = parseSetupCode(code);
    const plugId = parsed.plugId ?? chosen;
    if (!plugId) return setError('Choose the plug from the list above, or scan its QR code.');
    if (!parsed.plugId && !/^\d{8}$/.test(parsed.code))
      return setError('The setup code is the 8 digits printed on the plug.');
    setBusy(true);
    try {
      const device = await api<Device>('POST', `/plugs/${encodeURIComponent(plugId)}/pair`, {
        setupCode: parsed.code,
        name: name.trim() || 'Plug',
        ...(roomId ? { roomId } : {}),
      } satisfies PlugPair);
      putDevice(device);
      navigate(`/devices/${device.id}`);
    } catch (err) {
      setError(pairingMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="pair-title">
      <h2 id="pair-title">Hearth plug</h2>
      <p>Plug it in near the hub. New plugs on your network appear below.</p>
      {listError && (
        <p class="form-error" role="alert">
          {listError}
        </p>
      )}
      {found === null && !listError && <Spinner label="Looking for plugs" />}
      {found && found.length === 0 && (
        <p class="muted" data-testid="no-plugs">
          No new plugs found yet. You can still scan the QR code on the plug.
        </p>
      )}
      {found && found.length > 0 && (
        <fieldset>
          <legend>Plugs found</legend>
          {found.map((plug) => (
            <label class="row">
              <input
                type="radio"
                name="plug"
                value={plug.id}
                checked={chosen === plug.id}
                onChange={() => setChosen(plug.id)}
                style="width:auto;min-height:auto"
              />
              {plug.model}{' '}
              <span class="muted">
                {plug.id} · firmware {plug.firmware}
              </span>
            </label>
          ))}
        </fieldset>
      )}
      {scanning && <QrScanner onCode={onScanned} onClose={() => setScanning(false)} />}
      <form onSubmit={pair}>
        <Field label="Setup code" id="setup-code" hint="8 digits on the plug, or scan its QR code.">
          <input
            id="setup-code"
            inputMode="numeric"
            autocomplete="off"
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
        </Field>
        {canScan() && !scanning && (
          <button type="button" onClick={() => setScanning(true)}>
            Scan QR code
          </button>
        )}
        <Field label="Name" id="plug-name">
          <input id="plug-name" value={name} placeholder="Desk lamp" onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <RoomSelect id="plug-room" value={roomId} rooms={roomList} onChange={setRoomId} />
        <FormError message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? (
            <>
              <Spinner label="Pairing" /> Pairing…
            </>
          ) : (
            'Pair plug'
          )}
        </button>
      </form>
    </section>
  );
}

const CAPABILITIES = [
  'switch',
  'power',
  'energy',
  'voltage',
  'current',
  'temperature',
  'humidity',
  'illuminance',
  'battery',
  'motion',
  'contact',
];

function AddMqttDevice() {
  const [name, setName] = useState('');
  const [caps, setCaps] = useState<string[]>(['switch']);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ device: Device; mqtt?: { username: string; password: string } } | null>(
    null,
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!caps.length) return setError('Pick at least one thing the device can do.');
    try {
      const result = await api<DeviceCreated>('POST', '/devices', {
        name: name.trim(),
        driver: 'mqtt',
        capabilities: caps,
      } satisfies DeviceCreate);
      putDevice(result.device);
      setCreated(result);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'validation_failed' ? 'Give the device a name.' : plainMessage(err),
      );
    }
  };

  return (
    <section class="card" aria-labelledby="mqtt-title">
      <h2 id="mqtt-title">DIY device over MQTT</h2>
      {created ? (
        <div role="status">
          <p>
            <strong>{created.device.name}</strong> was added. Give the device these credentials now: the password is
            shown only once.
          </p>
          <dl>
            <dt>Username</dt>
            <dd>
              <code>{created.mqtt?.username}</code>
            </dd>
            <dt>Password</dt>
            <dd>
              <code>{created.mqtt?.password}</code>
            </dd>
            <dt>Client id</dt>
            <dd>
              <code>{created.device.id}</code> (the broker refuses any other)
            </dd>
            <dt>Topics</dt>
            <dd>
              <code>hearth/{created.device.id}/state|telemetry|status</code> (publish),{' '}
              <code>hearth/{created.device.id}/cmd</code> (subscribe)
            </dd>
          </dl>
          <button type="button" onClick={() => navigate(`/devices/${created.device.id}`)}>
            Open the device
          </button>
        </div>
      ) : (
        <form onSubmit={submit}>
          <Field label="Name" id="mqtt-name">
            <input id="mqtt-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <fieldset>
            <legend>What it can do</legend>
            <div class="row">
              {CAPABILITIES.map((c) => (
                <label class="row">
                  <input
                    type="checkbox"
                    style="width:auto;min-height:auto"
                    checked={caps.includes(c)}
                    onChange={(e) => setCaps(e.currentTarget.checked ? [...caps, c] : caps.filter((x) => x !== c))}
                  />
                  {c}
                </label>
              ))}
            </div>
          </fieldset>
          <FormError message={error} />
          <button type="submit" class="primary">
            Add device
          </button>
        </form>
      )}
    </section>
  );
}
