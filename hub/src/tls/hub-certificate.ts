import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubError } from '../core/errors.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

const SETTING = 'tls.hubCertificate';
/** 25 years: clients pin this certificate, so it must not expire under them. */
const VALID_DAYS = 9125;

/**
 * The hub's own TLS identity for the home network: a self-signed ECDSA P-256 certificate that
 * integrations (and later plugs and browsers) pin by its SHA-256 fingerprint, since no public CA
 * can vouch for `hearth.local`. Made once, at first start, and kept in the settings table like
 * the hub's other keys, so a restored backup presents the same certificate and no pin breaks.
 */
export interface HubCertificate {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER certificate, as `AB:CD:...` (what `openssl x509 -fingerprint -sha256` prints). */
  sha256: string;
}

interface Stored {
  keyPem: string;
  certPem: string;
}

/** The names the certificate is valid for: the hub's hostname, its mDNS name and loopback. */
export function certificateNames(hostname: string): { dns: string[]; ips: string[] } {
  const host = hostname.toLowerCase().replace(/\.local$/, '');
  const dns = [...new Set([host, `${host}.local`, 'hearth.local', 'localhost'])].filter((n) => /^[a-z0-9.-]+$/.test(n));
  return { dns, ips: ['127.0.0.1', '::1'] };
}

/** The stored certificate, or a new one made and stored now. */
export function loadHubCertificate(settings: SettingsRepo, hostname: string): HubCertificate {
  const stored = settings.get<Stored>(SETTING);
  if (stored && usable(stored)) return withFingerprint(stored);
  const made = makeCertificate(certificateNames(hostname));
  settings.set(SETTING, made);
  return withFingerprint(made);
}

function withFingerprint(stored: Stored): HubCertificate {
  return { ...stored, sha256: new X509Certificate(stored.certPem).fingerprint256 };
}

function usable(stored: Stored): boolean {
  try {
    return (
      typeof stored.keyPem === 'string' &&
      new X509Certificate(stored.certPem).checkPrivateKey(createPrivateKey(stored.keyPem))
    );
  } catch {
    return false;
  }
}

/**
 * Made with the system's `openssl` (a dependency of the package): Node can parse certificates
 * but not issue them, and a certificate is too important to hand-encode. The key never leaves a
 * private temporary directory until it is stored.
 */
function makeCertificate(names: { dns: string[]; ips: string[] }): Stored {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-tls-'));
  try {
    const san = [...names.dns.map((n) => `DNS:${n}`), ...names.ips.map((ip) => `IP:${ip}`)].join(',');
    const run = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        String(VALID_DAYS),
        '-subj',
        `/O=Hearth/CN=${names.dns[0] ?? 'hearth'}`,
        '-addext',
        `subjectAltName=${san}`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (run.error || run.status !== 0) {
      const why = run.error
        ? ((run.error as NodeJS.ErrnoException).code ?? run.error.message)
        : run.stderr.trim().split('\n').pop();
      throw new HubError('tls_unavailable', `cannot make the hub's TLS certificate with openssl: ${why}`);
    }
    return { keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certPem: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
