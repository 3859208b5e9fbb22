import type { Health } from '@hearth/model/api';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ensureAccess, hasSession, logout, onAuthChange, publicApi } from './api/client.ts';
import { link } from './api/events.ts';
import { startLive } from './live.ts';
import { AddDevice } from './pages/add-device.tsx';
import { CameraPage, Cameras } from './pages/cameras.tsx';
import { DevicePage } from './pages/device.tsx';
import { EnergyPage } from './pages/energy.tsx';
import { Home } from './pages/home.tsx';
import { RulePage } from './pages/rule-page.tsx';
import { Rules } from './pages/rules.tsx';
import { Settings } from './pages/settings.tsx';
import { Welcome } from './pages/welcome.tsx';
import { ConnectionBadge, HubOfflineNotice, RemoteRefused } from './remote/connection-badge.tsx';
import { loadDevice } from './api/keystore.ts';
import { NeedsInvite, RedeemInvite, inviteInLocation } from './remote/relay-origin.tsx';
import { connection, onRelayOrigin } from './api/transport.ts';
import { href, match, usePath } from './router.ts';
import { useStore } from './store.ts';

type Gate = 'checking' | 'setup' | 'login' | 'in' | 'unreachable' | 'invite' | 'needs-invite';

/** Decides between first-run setup, login and the app, then keeps the live stream running. */
export function App() {
  const [gate, setGate] = useState<Gate>('checking');
  // On the relay's origin the device is someone's: their name is filled in at login.
  const [username, setUsername] = useState('');
  // The hub's HTTPS port and certificate fingerprint, shown on the first-run screen.
  const [https, setHttps] = useState<Health['https']>(null);

  const check = async () => {
    if (onRelayOrigin) {
      if (inviteInLocation()) return setGate('invite');
      const device = await loadDevice();
      if (!device) return setGate('needs-invite');
      setUsername(device.username);
    }
    try {
      const health = await publicApi<Health>('GET', '/health');
      setHttps(health.https ?? null);
      if (health.setupRequired) return setGate('setup');
      setGate(hasSession() && (await ensureAccess()) ? 'in' : 'login');
    } catch {
      // Through the relay with the hub away: the app still opens, on the last-known state (only
      // for someone logged in on this device: logging out hides the home here too).
      setGate(connection.get().offline && hasSession() ? 'in' : 'unreachable');
    }
  };

  useEffect(() => {
    void check();
    return onAuthChange((loggedIn) => {
      if (!loggedIn) setGate('login');
    });
  }, []);

  useEffect(() => {
    if (!onRelayOrigin) return;
    // An invite link opened in a tab that already shows the app changes only the hash.
    const onHash = () => {
      if (inviteInLocation()) setGate('invite');
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (gate !== 'unreachable') return;
    const timer = setInterval(() => void check(), 2000);
    return () => clearInterval(timer);
  }, [gate]);

  if (gate === 'invite')
    return (
      <RedeemInvite
        link={inviteInLocation() ?? ''}
        onDone={(name) => {
          setUsername(name);
          setGate('checking');
          void check();
        }}
      />
    );
  if (gate === 'needs-invite') return <NeedsInvite />;
  if (gate === 'checking')
    return (
      <main class="welcome" aria-busy="true">
        <h1>Hearth</h1>
      </main>
    );
  if (gate === 'unreachable')
    return (
      <main class="welcome">
        <h1>Hearth</h1>
        <Unreachable />
      </main>
    );
  // The owner invite is accepted only on the home network, so the relay's origin does not offer it.
  if (gate !== 'in')
    return (
      <Welcome
        setup={gate === 'setup'}
        https={onRelayOrigin ? null : https}
        username={username}
        ownerInvite={!onRelayOrigin}
        onDone={() => setGate('in')}
      />
    );
  return <Shell />;
}

function Unreachable() {
  return (
    <>
      <p class="banner" role="alert">
        Hub unreachable. Retrying…
      </p>
      <RemoteRefused />
    </>
  );
}

const NAV: [string, string][] = [
  ['/', 'Home'],
  ['/energy', 'Energy'],
  ['/rules', 'Rules'],
  ['/cameras', 'Cameras'],
  ['/settings', 'Settings'],
];

function Shell() {
  const path = usePath();
  const state = useStore(link);
  const { offline } = useStore(connection);
  useEffect(() => startLive(), []);
  const section = `/${path.split('/')[1] ?? ''}`;
  // A new page moves focus to its content, so keyboard and screen-reader users start there
  // (not on the link they activated in the header). Skipped on the first page of a visit.
  const first = useRef(true);
  useLayoutEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('content')?.focus();
  }, [path]);

  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('content')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href={href('/')}>
          Hearth
        </a>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <a href={href(to)} aria-current={section === to ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <ConnectionBadge />
        <button type="button" class="link" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <HubOfflineNotice />
      {state === 'down' && !offline && <Unreachable />}
      <main id="content" tabIndex={-1}>
        {route(path)}
      </main>
    </>
  );
}

function route(path: string) {
  let p: Record<string, string> | null;
  if (path === '/' || path === '') return <Home />;
  if (match('/add', path)) return <AddDevice />;
  if ((p = match('/devices/:id', path))) return <DevicePage id={p.id!} />;
  if (match('/energy', path)) return <EnergyPage />;
  if (match('/rules', path)) return <Rules />;
  if ((p = match('/rules/:id', path))) return <RulePage id={p.id!} />;
  if (match('/cameras', path)) return <Cameras />;
  if ((p = match('/cameras/:id', path))) return <CameraPage id={p.id!} />;
  if (match('/settings', path)) return <Settings />;
  return (
    <p>
      There is no page here. <a href={href('/')}>Go home</a>.
    </p>
  );
}
