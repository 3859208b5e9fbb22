import Type from 'typebox';
import type { ApiPlugin } from '../deps.ts';

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('starting')]),
  version: Type.String(),
  uptimeS: Type.Integer(),
  parts: Type.Record(Type.String(), Type.String()),
  /** True until the first owner exists; the UI shows its setup form then. */
  setupRequired: Type.Boolean(),
  /**
   * The HTTPS port, the SHA-256 fingerprint of its certificate and whether http.strict is on (null without one): the setup
   * screen shows it so the owner can check it when the browser asks about the certificate.
   * Nothing secret: every TLS handshake hands out the certificate.
   */
  https: Type.Union([
    Type.Object({ port: Type.Integer(), sha256: Type.String(), strict: Type.Boolean() }),
    Type.Null(),
  ]),
});

/** `strict`: plain http will send the browser to https once the owner exists (api/https-policy.ts). */
function withStrict(
  https: { port: number; sha256: string } | undefined,
  strict: boolean,
): { port: number; sha256: string; strict: boolean } | null {
  return https ? { port: https.port, sha256: https.sha256, strict } : null;
}

const ZIGBEE_HEALTH: Record<string, string> = {
  running: 'ok',
  starting: 'starting',
  failed: 'failed',
  stopped: 'stopped',
};

/** Liveness for people, scripts and supervisors: no token, always answers while the API runs. */
export const healthRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/health',
    { config: { access: 'public', beforeSetup: true }, schema: { response: { 200: Health } } },
    async () => {
      const parts: Record<string, string> = { ...deps.partsHealth() };
      // The Zigbee coordinator runs in the background (the hub starts without its radio): a radio
      // that is missing or failing makes the hub degraded, not down.
      if (deps.zigbee) parts.zigbee = ZIGBEE_HEALTH[deps.zigbee.status().state] ?? 'failed';
      const states = Object.values(parts);
      const status = states.includes('failed') ? 'degraded' : states.includes('starting') ? 'starting' : 'ok';
      return {
        status,
        version: deps.version,
        uptimeS: Math.max(0, Math.floor((deps.clock.now() - deps.startedAt) / 1000)),
        parts,
        setupRequired: deps.auth.setupRequired(),
        https: withStrict(deps.https?.(), deps.transport?.httpStrict ?? deps.config.http.strict),
      } as const;
    },
  );
};
