import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { HubError } from '../core/errors.ts';

/**
 * The hub answers only requests addressed to itself (DESIGN.md "First run", issue 12): a web page
 * on some other site can point its own name at the hub's address (DNS rebinding) and then talk
 * to the API as a same-origin page, but its requests still carry that name in `Host`. So the
 * `Host` must be an IP literal (any: a name cannot be rebound to it), `localhost`, this machine's
 * hostname, `<hostname>.local` or `Hearth-<hostname>.local` (what mDNS announces), or a name
 * configured in `http.allowedHosts`; anything else, or no Host at all, is 421
 * `host_not_allowed`, WebSocket upgrades included. Requests from the relay tunnel are the hub's own (injected, marked and
 * checked by installRemote before this runs) and pass.
 */
export function installHostCheck(app: FastifyInstance, configured: readonly string[]): void {
  const names = new Set(['localhost', ...ownNames(), ...configured.map(normalise)]);
  app.addHook('onRequest', async (request) => {
    if (request.remote) return;
    if (!hostAllowed(request.headers.host, names))
      throw new HubError(
        'host_not_allowed',
        'this hub answers only its own names and addresses; add the name to http.allowedHosts',
      );
  });
}

function ownNames(): string[] {
  const own = normalise(hostname());
  if (!own) return [];
  // The mDNS responder (hub/src/mdns) also answers for the host name it derives from the service
  // instance name `Hearth <hostname>`: `Hearth-<hostname>.local`.
  const advertised = `${`Hearth ${hostname()}`.slice(0, 63).replace(/ /g, '-')}.local`;
  return [own, `${own.split('.')[0]}.local`, normalise(advertised)];
}

export function hostAllowed(header: string | undefined, names: ReadonlySet<string>): boolean {
  if (!header) return false;
  const host = hostPart(header);
  if (host === undefined) return false;
  if (isIP(host)) return true;
  return names.has(normalise(host));
}

/** `name:port`, `name`, `[v6]:port`, `[v6]` → the name or address; undefined when malformed. */
function hostPart(header: string): string | undefined {
  if (header.startsWith('[')) {
    const m = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header);
    return m ? m[1] : undefined;
  }
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(header);
  return m ? m[1] : undefined;
}

function normalise(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
