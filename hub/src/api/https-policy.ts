import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/**
 * `http.strict` (hub/src/tls/README.md): with it on, plain http answers only first contact and
 * sends everything else to the HTTPS port; off (the default), both answer alike.
 *
 * First contact is health, and everything before the first account exists (the setup page and
 * POST /setup; every other route answers 409 setup_required then anyway): the person setting the
 * hub up typed an http address and reads the certificate's fingerprint on that screen before
 * switching. After that a GET or HEAD is a 308 to the same path on https (same name, the HTTPS
 * port), and any other method is 403 `https_required` rather than a redirect: a client that
 * follows a 308 has already sent its body (a password, a TOTP code) in clear, so it must learn
 * to stop, not be told to repeat it. Strict-Transport-Security goes only on https answers and
 * only with strict on: a browser that accepted a self-signed certificate once ignores it, one
 * that trusts the certificate then refuses plain http for that name on every port (the http port
 * included) and offers no way past a certificate error, e.g. a hub reinstalled without its backup.
 *
 * Requests through the relay tunnel (injected, end-to-end encrypted) are neither. Installed after
 * the host check, so a redirect only ever names one of the hub's own names.
 */
export function installHttpsPolicy(
  app: FastifyInstance,
  options: { strict: () => boolean; httpsPort: () => number; setupRequired: () => boolean; log: Logger },
): void {
  const { strict, httpsPort, setupRequired } = options;
  let warned = false;
  // `strict` is read per request: the owner switches it in Settings (tls/transport-settings.ts).
  app.addHook('onRequest', async (request, reply) => {
    if (request.remote || !strict()) return;
    if (request.protocol === 'https') {
      reply.header('strict-transport-security', `max-age=${HSTS_MAX_AGE_S}`);
      return;
    }
    const port = httpsPort();
    if (port === 0) {
      // No certificate (no openssl at first start): nowhere safer to send anyone.
      if (!warned)
        options.log.warn('http.strict is on but the hub has no HTTPS listener: plain http answers everything');
      warned = true;
      return;
    }
    if (firstContact(request, setupRequired)) return;
    if (request.method === 'GET' || request.method === 'HEAD') {
      const path = request.url.startsWith('/') ? request.url : '/';
      return reply.redirect(`https://${hostName(request.headers.host ?? '')}:${port}${path}`, 308);
    }
    throw new HubError('https_required', `this hub takes ${request.method} requests only over https (port ${port})`, {
      httpsPort: port,
    });
  });
}

/** Half a year, no includeSubDomains: a long pin, but not one that outlives a reinstall by years. */
const HSTS_MAX_AGE_S = 180 * 86_400;

function firstContact(request: FastifyRequest, setupRequired: () => boolean): boolean {
  const path = request.url.split('?')[0];
  return path === '/api/v1/health' || setupRequired();
}

/** The Host header without its port (`[v6]` keeps its brackets); checked by the host check. */
function hostName(host: string): string {
  return host.replace(/:\d{1,5}$/, '');
}
