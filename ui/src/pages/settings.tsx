import type {
  CameraStorage,
  Health,
  HistoryStorage,
  HomePatch,
  HomeSettings as HomeView,
  MqttUser,
  MqttUserCreated,
  RoomBody,
  User,
  MqttUserCreate,
} from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api, publicApi } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { formatTime } from '../format.ts';
import { reload, rooms } from '../live.ts';
import { useStore } from '../store.ts';
import { RemoteAccess } from '../remote/remote-access.tsx';
import { People } from '../components/people/people.tsx';
import { OwnPassword } from '../components/own-password.tsx';
import { Backups } from '../components/backups.tsx';
import { BackupSchedule } from '../components/backup-schedule.tsx';
import { OffsiteBackups } from '../components/offsite-backups.tsx';
import { connection } from '../api/transport.ts';
import { HubUpdate } from '../components/hub-update.tsx';
import { PlugRollout } from '../components/plug-rollout.tsx';
import { Handover } from '../components/handover.tsx';
import { TwoStep } from '../components/two-step.tsx';
import { ScriptKeys } from '../components/script-keys.tsx';
import { PresenceCard } from '../components/presence-card.tsx';
import { PlugFirmware } from '../components/plug-firmware.tsx';
import { FlashPlug } from '../flash/flash-plug.tsx';
import { BrokerCertificateCard } from '../components/broker-certificate.tsx';
import { TransportSecurityCard } from '../components/transport-security.tsx';

/**
 * The home (name, location for sun rules, time zone), people (and what each can reach), the
 * person's own presence (home or away), their password,
 * two-step login and keys for scripts, MQTT integration users and hub health. Each part shows only
 * to a role that may use it (the hub decides; this only avoids offering forms that would answer "not allowed"):
 * owners and admins get everything; a member sees the home read-only, the recordings' storage,
 * their password, two-step login and remote access; a guest their password, two-step login and
 * remote access.
 */
export function Settings() {
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void api<User>('GET', '/me').then(setMe, (err) => setError(plainMessage(err))), []);
  // The installer sets the home up like an admin, but the hub refuses it account management.
  const manages = me !== null && (me.role === 'owner' || me.role === 'admin' || me.role === 'installer');
  const member = me !== null && me.role !== 'guest';
  // With the hub away (the relay says offline) `me` cannot load; the relay decides who gets them.
  const { offline } = useStore(connection);
  return (
    <>
      <h1>Settings</h1>
      {me && (
        <p data-testid="me">
          Signed in as <strong>{me.username}</strong> ({me.role}).
        </p>
      )}
      <FormError message={error} />
      {!me && !error && <Spinner label="Loading your account" />}
      {me && (
        <>
          {member && <HomeForm editable={manages} />}
          {manages && me.role !== 'installer' && <People me={me} />}
          {(me.role === 'installer' || me.role === 'owner') && <Handover me={me} />}
          <OwnPassword />
          <TwoStep on={me.totp === true} onChange={(totp) => setMe({ ...me, totp })} />
          {me.role !== 'installer' && <PresenceCard me={me} />}
          <ScriptKeys role={me.role} />
          {manages && <Rooms />}
          {manages && <MqttUsers />}
          {(me.role === 'owner' || me.role === 'admin') && <TransportSecurityCard owner={me.role === 'owner'} />}
          {manages && <PlugFirmware />}
          {manages && <PlugRollout />}
          {manages && <FlashPlug />}
          {me.role === 'owner' && <Backups />}
          {me.role === 'owner' && <BackupSchedule />}
          {me.role === 'owner' && <OffsiteBackups />}
          {me.role === 'owner' && <HubUpdate />}
          {member && <Storage history={manages} />}
          <RemoteAccess />
        </>
      )}
      {!me && offline && <OffsiteBackups />}
      <HubHealth />
    </>
  );
}

/** The home's settings; `editable` for owners and admins, read-only for members (the hub allows GET to them). */
function HomeForm(props: { editable: boolean }) {
  const [home, setHome] = useState<HomeView | null>(null);
  const [name, setName] = useState('');
  const [lat, setLat] = useState('');
  const [lon, setLon] = useState('');
  const [tz, setTz] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const show = (h: HomeView) => {
    setHome(h);
    setName(h.name);
    setLat(h.location ? String(h.location.latitude) : '');
    setLon(h.location ? String(h.location.longitude) : '');
    setTz(h.timezone ?? '');
  };
  useEffect(() => void api<HomeView>('GET', '/home').then(show, (err) => setError(plainMessage(err))), []);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const errors: Record<string, string> = {};
    const latitude = Number(lat);
    const longitude = Number(lon);
    const hasLocation = lat.trim() !== '' || lon.trim() !== '';
    if (hasLocation && (lat.trim() === '' || !Number.isFinite(latitude) || latitude < -90 || latitude > 90))
      errors.latitude = 'Latitude is a number from -90 to 90.';
    if (hasLocation && (lon.trim() === '' || !Number.isFinite(longitude) || longitude < -180 || longitude > 180))
      errors.longitude = 'Longitude is a number from -180 to 180.';
    setFieldErrors(errors);
    if (Object.keys(errors).length) return;
    try {
      show(
        await api<HomeView>('PATCH', '/home', {
          name: name.trim(),
          location: hasLocation ? { latitude, longitude } : null,
          timezone: tz.trim() || null,
        } satisfies HomePatch),
      );
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'validation_failed' && err.details?.field === 'timezone')
        setFieldErrors({ timezone: 'That is not a time zone name. Use a name like Europe/Berlin.' });
      else setError(plainMessage(err));
    }
  };

  const useBrowserZone = () => setTz(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const locate = () =>
    navigator.geolocation?.getCurrentPosition(
      (p) => {
        setLat(p.coords.latitude.toFixed(4));
        setLon(p.coords.longitude.toFixed(4));
      },
      () => setError('The browser did not share its location.'),
    );

  if (!home)
    return error ? (
      <p class="form-error" role="alert">
        {error}
      </p>
    ) : (
      <Spinner label="Loading home" />
    );
  if (!props.editable) {
    return (
      <section class="card" aria-labelledby="home-title">
        <h2 id="home-title">Home</h2>
        <table>
          <tbody>
            <tr>
              <th scope="row">Name</th>
              <td>{home.name}</td>
            </tr>
            <tr>
              <th scope="row">Location</th>
              <td data-testid="home-location">
                {home.location ? `${home.location.latitude}, ${home.location.longitude}` : 'Not set'}
              </td>
            </tr>
            <tr>
              <th scope="row">Time zone</th>
              <td>{home.timezone ?? 'Not set'}</td>
            </tr>
          </tbody>
        </table>
        <p class="muted">An owner or admin changes these.</p>
      </section>
    );
  }
  return (
    <form class="card" onSubmit={save} aria-labelledby="home-title">
      <h2 id="home-title">Home</h2>
      <Field label="Name" id="home-name">
        <input id="home-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <div class="row">
        <Field label="Latitude" id="home-lat" error={fieldErrors.latitude}>
          <input id="home-lat" inputMode="decimal" value={lat} onInput={(e) => setLat(e.currentTarget.value)} />
        </Field>
        <Field label="Longitude" id="home-lon" error={fieldErrors.longitude}>
          <input id="home-lon" inputMode="decimal" value={lon} onInput={(e) => setLon(e.currentTarget.value)} />
        </Field>
      </div>
      {'geolocation' in navigator && (
        <button type="button" onClick={locate}>
          Use this device's location
        </button>
      )}
      <p class="muted">The location is used for sunrise and sunset rules and never leaves the hub.</p>
      <Field
        label="Time zone"
        id="home-tz"
        error={fieldErrors.timezone}
        hint="Days for energy totals start at midnight in this zone."
      >
        <input id="home-tz" value={tz} placeholder="Europe/Berlin" onInput={(e) => setTz(e.currentTarget.value)} />
      </Field>
      <button type="button" onClick={useBrowserZone}>
        Use this browser's time zone
      </button>
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
      </div>
    </form>
  );
}

function MqttUsers() {
  const [users, setUsers] = useState<MqttUser[] | null>(null);
  const [username, setUsername] = useState('');
  const [scope, setScope] = useState<MqttUserCreate['scope']>('read');
  const [topics, setTopics] = useState('hearth/#');
  const [created, setCreated] = useState<{ username: string; password: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<MqttUser[]>('GET', '/integrations/mqtt-users').then(setUsers, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), []);

  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(
        await api<MqttUserCreated>('POST', '/integrations/mqtt-users', {
          username: username.trim(),
          scope,
          topics: topics.split(/[\s,]+/).filter(Boolean),
        } satisfies MqttUserCreate),
      );
      setUsername('');
      void load();
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'validation_failed'
          ? `Check the ${String(err.details?.field ?? 'fields').split('.')[0]}: user names use ` +
              `letters, digits and . _ @ -; topics are MQTT filters such as hearth/#.`
          : plainMessage(err),
      );
    }
  };
  const remove = async (name: string) => {
    if (!confirm(`Remove the MQTT user ${name}? Integrations using it will be disconnected.`)) return;
    try {
      await api('DELETE', `/integrations/mqtt-users/${encodeURIComponent(name)}`);
      void load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section class="card" aria-labelledby="mqtt-users-title">
      <h2 id="mqtt-users-title">MQTT users for integrations</h2>
      <p class="muted">For Home Assistant, Node-RED or scripts that talk to the hub's MQTT broker.</p>
      <BrokerCertificateCard />
      {users && users.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th>Access</th>
                <th>Topics</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr>
                  <td>{u.username}</td>
                  <td>{u.scope === 'readwrite' ? 'read and write' : 'read only'}</td>
                  <td>{u.topics.join(', ')}</td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => void remove(u.username)}
                      aria-label={`Remove ${u.username}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {created && (
        <p role="status">
          Created <strong>{created.username}</strong> with password{' '}
          <code data-testid="mqtt-password">{created.password}</code>. Copy it now: it is not shown again.
        </p>
      )}
      <form onSubmit={add}>
        <Field label="User name" id="mqtt-user">
          <input id="mqtt-user" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </Field>
        <Field label="Access" id="mqtt-scope">
          <select
            id="mqtt-scope"
            value={scope}
            onChange={(e) => setScope(e.currentTarget.value as MqttUserCreate['scope'])}
          >
            <option value="read">Read only</option>
            <option value="readwrite">Read and write</option>
          </select>
        </Field>
        <Field label="Topics" id="mqtt-topics" hint="MQTT topic filters, separated by spaces or commas.">
          <input id="mqtt-topics" value={topics} onInput={(e) => setTopics(e.currentTarget.value)} />
        </Field>
        <FormError message={error} />
        <button type="submit" class="primary">
          Create MQTT user
        </button>
      </form>
    </section>
  );
}

function HubHealth() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () =>
      publicApi<Health>('GET', '/health').then(
        (h) => {
          setHealth(h);
          setError(null);
        },
        (err) => setError(plainMessage(err)),
      );
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);

  return (
    <section class="card" aria-labelledby="health-title">
      <h2 id="health-title">Hub health</h2>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {health && (
        <>
          <p data-testid="hub-status" class={health.status === 'ok' ? 'ok' : 'bad'}>
            {health.status === 'ok'
              ? 'Everything is running'
              : health.status === 'starting'
                ? 'Starting'
                : 'Something is wrong'}{' '}
            · version {health.version} · up since {formatTime(Date.now() - health.uptimeS * 1000)}
          </p>
          <table>
            <tbody>
              {Object.entries(health.parts).map(([part, state]) => (
                <tr>
                  <th scope="row">{part}</th>
                  <td class={state === 'ok' ? 'ok' : 'bad'}>{state}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * What history and recordings take on the hub's disk against their budgets. The budgets
 * themselves are set in the hub's config file (the API reads them, it does not change them).
 */
function Storage(props: { history: boolean }) {
  const [history, setHistory] = useState<HistoryStorage | null>(null);
  const [cameras, setCameras] = useState<CameraStorage | null>(null);
  useEffect(() => {
    // History's figures are for owners and admins; members see the recordings' only.
    if (props.history) api<HistoryStorage>('GET', '/history/storage').then(setHistory, () => undefined);
    api<CameraStorage>('GET', '/cameras/storage').then(setCameras, () => undefined);
  }, []);
  if (!history && !cameras) return null;
  return (
    <section class="card" aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <table>
        <tbody>
          {history && (
            <tr>
              <th scope="row">History</th>
              <td data-testid="history-storage">
                {mb(history.bytes)} of {mb(history.budgetBytes)} ({(history.usedShare * 100).toFixed(1)} %)
                {history.growthPerDayBytes > 0 && <>, growing {mb(history.growthPerDayBytes)} a day</>}
                {history.budgetReachedAt && (
                  <>
                    ; full around {new Date(history.budgetReachedAt).toLocaleDateString()}, then the oldest details are
                    thinned
                  </>
                )}
              </td>
            </tr>
          )}
          {cameras && (
            <tr>
              <th scope="row">Recordings</th>
              <td>
                {mb(cameras.usedBytes)}
                {cameras.budgetBytes > 0 ? ` of ${mb(cameras.budgetBytes)}` : ''}, {mb(cameras.freeBytes)} free on the
                disk
                {cameras.alert && (
                  <span class="bad">
                    {' '}
                    ·{' '}
                    {cameras.alert.code === 'recorder_storage_full'
                      ? 'the disk is full: recording stopped'
                      : cameras.alert.code}
                  </span>
                )}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <p class="muted">Budgets are part of the hub's configuration (its config file or environment).</p>
    </section>
  );
}

/** Rooms: add, rename, remove (their devices become unassigned). The home page groups by them. */
function Rooms() {
  const list = useStore(rooms);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await reload();
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'validation_failed'
          ? 'A room needs a name of 1 to 100 characters.'
          : plainMessage(err),
      );
    }
  };
  const add = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      await api('POST', '/rooms', { name: name.trim() } satisfies RoomBody);
      setName('');
    });
  };
  const rename = (id: string, old: string) => {
    const next = prompt('New name for the room', old);
    if (next !== null && next.trim() !== old)
      void act(() => api('PATCH', `/rooms/${id}`, { name: next.trim() } satisfies RoomBody));
  };
  const remove = (id: string, roomName: string) => {
    if (confirm(`Remove the room ${roomName}? Its devices stay, without a room.`))
      void act(() => api('DELETE', `/rooms/${id}`));
  };

  return (
    <section class="card" aria-labelledby="rooms-title">
      <h2 id="rooms-title">Rooms</h2>
      <ul class="steps">
        {list.map((r) => (
          <li class="row">
            <span style="flex:1">{r.name}</span>
            <button type="button" onClick={() => rename(r.id, r.name)} aria-label={`Rename ${r.name}`}>
              Rename
            </button>
            <button type="button" class="danger" onClick={() => remove(r.id, r.name)} aria-label={`Remove ${r.name}`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} class="row">
        <Field label="New room" id="room-name">
          <input id="room-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">
          Add room
        </button>
      </form>
      <FormError message={error} />
    </section>
  );
}
