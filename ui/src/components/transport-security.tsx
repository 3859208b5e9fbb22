import type { TransportSecurity, TransportPatch } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { FormError } from './form.tsx';

/**
 * The owner's switches for cleartext on the home network (hub/src/tls/README.md): require https
 * for the web app (http.strict) and let integrations log in on plain MQTT (mqtt.plainIntegrations).
 * Admins see them read-only; the hub refuses anyone else. Strict is offered only on a page that is
 * itself on https: turned on from http, the next request would be sent to an address this browser
 * may not trust yet, and the person would be stuck halfway.
 */
export function TransportSecurityCard(props: { owner: boolean }) {
  const [view, setView] = useState<TransportSecurity | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(
    () => void api<TransportSecurity>('GET', '/settings/transport').then(setView, (err) => setError(plainMessage(err))),
    [],
  );
  const change = async (patch: TransportPatch) => {
    setBusy(true);
    setError(null);
    try {
      setView(await api<TransportSecurity>('PATCH', '/settings/transport', patch satisfies TransportPatch));
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const onHttps = location.protocol === 'https:';
  const httpsAddress = view && view.httpsPort > 0 ? `https://${location.hostname}:${view.httpsPort}/` : null;
  return (
    <section class="card" aria-labelledby="transport-title">
      <h2 id="transport-title">Encryption on the home network</h2>
      <FormError message={error} />
      {view && (
        <>
          <p>
            <label>
              <input
                type="checkbox"
                role="switch"
                checked={view.httpStrict}
                aria-checked={view.httpStrict}
                disabled={!props.owner || busy || (!view.httpStrict && (!onHttps || view.httpsPort === 0))}
                onChange={(e) => void change({ httpStrict: (e.target as HTMLInputElement).checked })}
              />{' '}
              Require https for this app
            </label>
          </p>
          <p class="muted" data-testid="strict-hint">
            {view.httpsPort === 0
              ? 'This hub has no https address (it could not make its certificate).'
              : !view.httpStrict && !onHttps && httpsAddress
                ? `To turn this on, open the hub at ${httpsAddress} first and accept its certificate there.`
                : 'Plain http then only shows the first-run setup and sends everything else to https.'}
          </p>
          <p>
            <label>
              <input
                type="checkbox"
                role="switch"
                checked={view.plainIntegrations}
                aria-checked={view.plainIntegrations}
                disabled={!props.owner || busy}
                onChange={(e) => void change({ plainIntegrations: (e.target as HTMLInputElement).checked })}
              />{' '}
              Let integrations use unencrypted MQTT
            </label>
          </p>
          <p class="muted">
            Off: Home Assistant, Node-RED and scripts connect only with TLS (the port and certificate are under MQTT
            users); those still on plain MQTT are disconnected at once. Plugs are not affected.
          </p>
          {!props.owner && <p class="muted">Only the owner changes these.</p>}
        </>
      )}
    </section>
  );
}
