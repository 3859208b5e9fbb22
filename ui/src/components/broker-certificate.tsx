import type { BrokerCertificate } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';

/**
 * Encrypted MQTT for integrations: the port, the hub certificate's SHA-256 fingerprint and the
 * certificate itself to download, so Home Assistant, Node-RED or mosquitto clients can pin it
 * (no public authority can vouch for a name on the home network). Compare the fingerprint with
 * what the client shows when it first connects.
 */
export function BrokerCertificateCard() {
  const [cert, setCert] = useState<BrokerCertificate | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(
    () => void api<BrokerCertificate>('GET', '/broker/certificate').then(setCert, (err) => setError(plainMessage(err))),
    [],
  );
  if (error)
    return (
      <p class="muted" data-testid="mqtts-off">
        {error}
      </p>
    );
  if (!cert) return null;
  const download = URL.createObjectURL(new Blob([cert.pem], { type: 'application/x-pem-file' }));
  return (
    <div data-testid="mqtts">
      <p>
        Encrypted MQTT (TLS) listens on port <strong>{cert.port}</strong> of this hub. Give your integration the hub's
        certificate to trust, and check that it shows this fingerprint:
      </p>
      <p>
        <code class="fingerprint" data-testid="mqtts-fingerprint">
          {cert.sha256}
        </code>
      </p>
      <p>
        <a href={download} download="hearth-mqtt.pem">
          Download the hub certificate
        </a>
      </p>
    </div>
  );
}
