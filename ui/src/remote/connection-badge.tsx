import type { Device } from '@hearth/model/api';
import { formatTime } from '../format.ts';
import { loaded, devices } from '../live.ts';
import { useStore } from '../store.ts';
import { ENROL_AGAIN, connection } from '../api/transport.ts';

// While the hub is away, the home shows the last-known state the relay kept (sealed by the hub,
// opened here with the home key): better than an empty page, and the badge says how old it is.
connection.subscribe(() => {
  const snapshot = connection.get().offline?.snapshot;
  if (!snapshot) return;
  devices.set(
    new Map(
      (snapshot.devices as Partial<Device>[]).map((d) => [
        d.id!,
        {
          driver: '',
          model: '',
          capabilities: [],
          roomId: null,
          available: false,
          state: {},
          updatedAt: '',
          name: d.id!,
          ...d,
        } as Device,
      ]),
    ),
  );
  loaded.set(true);
});

/** In the header: says when the page talks to the hub through the relay. */
export function ConnectionBadge() {
  const { mode } = useStore(connection);
  return mode === 'remote' ? (
    <span class="remote-badge" role="status">
      Remote (through the relay)
    </span>
  ) : null;
}

/** Under the header while the relay says the hub is away: since when, and how old the state shown is. */
export function HubOfflineNotice() {
  const { offline } = useStore(connection);
  if (!offline) return null;
  return (
    <p class="banner remote-offline" role="status">
      Hub offline since {offline.since ? formatTime(offline.since) : 'an unknown time'}.
      {offline.snapshot
        ? ` Showing the last-known state from ${formatTime(offline.snapshot.at)}.`
        : ' No last-known state is available.'}
    </p>
  );
}

/** The relay refused this device (revoked, or unknown to the hub): retrying cannot help, enrolling again can. */
export function RemoteRefused() {
  const { refused } = useStore(connection);
  if (!refused) return null;
  return (
    <p class="banner" role="alert">
      {refused === 'device_revoked'
        ? 'Remote access for this device was turned off.'
        : 'The hub does not know this device.'}{' '}
      {ENROL_AGAIN}
    </p>
  );
}
