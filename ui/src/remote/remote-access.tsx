import type { Enrolment, RemoteStatus, User, RemoteEnrol } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import type { EnrolledDevice } from '@hearth/protocol/client';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { defaultDeviceName as defaultName } from './device-name.ts';
import { Invites } from './invites.tsx';
import { forgetDevice, loadDevice, saveDevice } from '../api/keystore.ts';
import { Notifications } from './notifications.tsx';
import { enrolmentChanged, onRelayOrigin } from '../api/transport.ts';

/**
 * Settings → "Away from home" (its heading avoids the word "access", which the MQTT form's
 * "Access" label is found by): enrols this browser (LAN only: the hub refuses it through the relay)
 * so that, away from home, the same app reaches the hub through the relay. The keys are made
 * here and never leave the browser; only their public halves go to the hub.
 */
export function RemoteAccess() {
  const [status, setStatus] = useState<RemoteStatus | null>(null);
  const [device, setDevice] = useState<EnrolledDevice | null | undefined>(undefined);
  const [name, setName] = useState(defaultName());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api<RemoteStatus>('GET', '/remote/status').then(setStatus, (err) => setError(plainMessage(err)));
    void loadDevice().then(setDevice);
  }, []);

  const enable = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { newDeviceKeys } = await import('@hearth/protocol/keys');
      const { toBase64 } = await import('@hearth/protocol/encoding');
      const keys = newDeviceKeys();
      const me = await api<User>('GET', '/me');
      const answer = await api<Enrolment>('POST', '/remote/devices', {
        publicKey: toBase64(keys.sign.publicKey),
        boxPublicKey: toBase64(keys.box.publicKey),
        name: name.trim() || defaultName(),
      } satisfies RemoteEnrol);
      const enrolled: EnrolledDevice = {
        seed: toBase64(keys.seed),
        deviceId: answer.device.id,
        username: me.username,
        hubId: answer.hubId,
        relayUrls: answer.relayUrls,
        homeKey: answer.homeKey,
      };
      await saveDevice(enrolled);
      enrolmentChanged();
      setDevice(enrolled);
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const disable = async () => {
    if (
      !device ||
      !confirm('Turn off remote access on this device? It will no longer reach the hub from outside the home.')
    )
      return;
    setError(null);
    try {
      await api('DELETE', `/remote/devices/${encodeURIComponent(device.deviceId)}`);
    } catch (err) {
      // Already revoked elsewhere: forget the keys anyway; anything else: keep them and say why.
      if ((err as { code?: string }).code !== 'remote_device_not_found') return setError(plainMessage(err));
    }
    await forgetDevice();
    enrolmentChanged();
    setDevice(null);
  };

  let body;
  if (device === undefined || (!status && !error)) body = <Spinner label="Loading" />;
  else if (device) {
    body = (
      <>
        <p role="status" class="ok">
          Remote access is on for this device. Away from home, this app reaches the hub through the relay, end-to-end
          encrypted.
        </p>
        <Notifications deviceId={device.deviceId} />
        <button type="button" class="danger" onClick={() => void disable()}>
          Turn off remote access on this device
        </button>
      </>
    );
  } else if (status && !status.configured) {
    body = <p class="muted">This hub has no relay configured (start it with --relay), so remote access is off.</p>;
  } else {
    body = (
      <form onSubmit={enable}>
        <p class="muted">
          This device gets its own keys; the relay forwards only encrypted traffic it cannot read. Enable it here, on
          the home network.
        </p>
        {!window.isSecureContext && (
          <p class="muted">
            This address is not https, so the browser cannot keep the app for opening away from home: remote access then
            works only in a tab or app that is already open.
          </p>
        )}
        <Field label="Name of this device" id="remote-name">
          <input id="remote-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Enable remote access on this device
          </button>
          {busy && <Spinner label="Enabling" />}
        </div>
      </form>
    );
  }
  return (
    <section class="card" aria-labelledby="remote-title">
      <h2 id="remote-title">Away from home</h2>
      {body}
      {status?.configured && !onRelayOrigin && <Invites />}
      {onRelayOrigin && (
        <p class="muted">
          Invites for other devices are made at home, in the app on the home network (the hub makes them only there).
        </p>
      )}
      <FormError message={error} />
    </section>
  );
}
