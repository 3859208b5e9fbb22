import type { AedesOptions, Client } from 'aedes';
import { topicMatches } from './topics.ts';
import type { HearthClient } from './client-state.ts';
import type { BrokerCounters } from './counters.ts';
import type { MqttCredentials, Principal } from './credentials.ts';
import type { LogThrottle } from './log-throttle.ts';
import { parsePskIdentity } from './plug-psk.ts';

/** Marks a PUBLISH refused by the ACL; the broker's publish wrapper drops it (see below). */
export const DENIED = Symbol('hearth.denied');
/** Marks a QoS 1 PUBLISH already routed before its PUBACK (see `routeBeforeAck`); the wrapper skips it. */
export const ROUTED = Symbol('hearth.routed');

/** CONNACK return codes of MQTT 3.1.1 [MQTT-3.2.2.3]. */
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const MAX_CLIENT_ID_LENGTH = 256;

export interface HookContext {
  readonly credentials: MqttCredentials;
  readonly counters: BrokerCounters;
  readonly warn: LogThrottle;
  /** The credential that owns `clientId` (a live connection or a persistent session), if any. */
  clientIdOwner(clientId: string): string | undefined;
  /** True if `clientId` is a device's id (its credential exists): reserved for that device. */
  isDeviceId(clientId: string): boolean;
  /** The TLS PSK identity the client's connection authenticated with (a plug's id), if any. */
  pskIdentity(client: HearthClient): string | undefined;
  /** True if the client's connection is readable on the network (plain TCP, or ws:// on plain http). */
  cleartext(client: HearthClient): boolean;
  /** `mqtt.plainIntegrations`: integration users may log in over cleartext (the owner switches it at run time). */
  plainIntegrations(): boolean;
  /** A CONNECT passed authentication; aedes goes on to restore the session and send CONNACK. */
  accepted(client: HearthClient, principal: Principal): void;
  /**
   * Routes an authorized QoS 1 PUBLISH now and calls `done` once what it left to write is
   * committed. aedes writes the PUBACK as soon as authorizePublish calls back and routes the
   * message only afterwards; doing the routing here, inside the hook, is what moves the PUBACK
   * behind the commit without changing aedes. The packet is marked ROUTED so aedes' own publish
   * call that follows the PUBACK does nothing.
   */
  routeBeforeAck(client: HearthClient, packet: { qos: number }, done: (err?: Error | null) => void): void;
}

type Hooks = Required<
  Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>
>;

/**
 * The aedes hooks: who may connect, publish and subscribe. Everything here runs per CONNECT or
 * SUBSCRIBE except `authorizePublish` and `authorizeForward`, which run per message and so only
 * read fields and bump counters.
 */
export function createHooks(ctx: HookContext): Hooks {
  const { counters } = ctx;

  const preConnect: Hooks['preConnect'] = (client, packet, callback) => {
    (client as HearthClient).hearth = {
      emptyId: !packet.clientId,
      willTopic: packet.will?.topic,
      principal: undefined,
      released: false,
    };
    callback(null, true);
  };

  const authenticate: Hooks['authenticate'] = (c, username, password, done) => {
    const client = c as HearthClient;
    const refuse = (returnCode: number, reason: string): void => {
      counters.refusedConnects++;
      ctx.warn.warn({ clientId: client.id, username, reason, returnCode }, 'mqtt connect refused');
      done(Object.assign(new Error(reason), { returnCode }) as Parameters<typeof done>[0], false);
    };
    const state = client.hearth;
    // [MQTT-3.1.3-8] a zero-byte client id needs a clean session.
    if (!state || (state.emptyId && !client.clean))
      return refuse(IDENTIFIER_REJECTED, 'empty client id with a persistent session');
    // The spec lets a server refuse long ids [MQTT-3.1.3-5]; ids are kept per session, so bound them.
    if (client.id.length > MAX_CLIENT_ID_LENGTH) return refuse(IDENTIFIER_REJECTED, 'client id too long');
    // No anonymous access: every device and integration has its own credentials.
    if (username === undefined) return refuse(NOT_AUTHORIZED, 'anonymous');
    const verified = password === undefined ? undefined : ctx.credentials.check(username, password);
    if (!verified) return refuse(BAD_USERNAME_OR_PASSWORD, 'bad username or password');
    const { principal } = verified;
    // A TLS-PSK connection is that plug's own channel: it logs in as that plug and nobody else.
    // (`<id>/next` is the same plug dialling with the new secret of a password change.)
    const psk = ctx.pskIdentity(client);
    const pskIdentity = psk === undefined ? undefined : parsePskIdentity(psk).username;
    if (pskIdentity !== undefined && principal.username !== pskIdentity)
      return refuse(NOT_AUTHORIZED, 'psk identity is another credential');
    // The new secret of a password change is taken only inside the PSK handshake of that secret.
    if (verified.next && (psk === undefined || !parsePskIdentity(psk).next))
      return refuse(BAD_USERNAME_OR_PASSWORD, 'bad username or password');
    // A device seen on TLS with its PSK has moved: its password no longer opens cleartext
    // (plain TCP, WebSocket, or TLS without the PSK). 'tls_required' is the stable reason.
    if (principal.kind === 'device' && pskIdentity === undefined && ctx.credentials.requiresTls(principal.username))
      return refuse(NOT_AUTHORIZED, 'tls_required');
    // With mqtt.plainIntegrations off, an integration logs in only over TLS (8883 or wss://):
    // the same stable reason. Its password already crossed in clear, but nothing else will.
    if (principal.kind === 'integration' && !ctx.plainIntegrations() && ctx.cleartext(client))
      return refuse(NOT_AUTHORIZED, 'tls_required');
    // Client ids are not secret (a plug's id is its mDNS name), so whoever takes one could lock
    // its owner out: a device connects only as its own id, and that id is always its own (an
    // integration holding it loses it, see Sessions.accepted); integrations may not use a
    // device's id. Any other id in use by another credential (live or as a persistent session)
    // is refused: taking it over would disconnect that client [MQTT-3.1.4-2] or hand over its session.
    if (principal.kind === 'device') {
      if (state.emptyId || client.id !== principal.deviceId)
        return refuse(IDENTIFIER_REJECTED, 'a device may only use its own id as client id');
    } else {
      if (ctx.isDeviceId(client.id)) return refuse(IDENTIFIER_REJECTED, 'client id is a device id');
      const owner = ctx.clientIdOwner(client.id);
      if (owner !== undefined && owner !== principal.username)
        return refuse(IDENTIFIER_REJECTED, 'client id belongs to another credential');
    }
    // The will is published in the client's name later; check it now so it can never escape the ACL.
    if (state.willTopic !== undefined && !principal.policy.canPublish(state.willTopic))
      return refuse(NOT_AUTHORIZED, 'will topic not allowed');
    if (pskIdentity !== undefined && principal.kind === 'device') ctx.credentials.movedToTls(principal.username);
    // A device's password in clear (before its move) is to be changed once it is on TLS.
    if (principal.kind === 'device' && ctx.cleartext(client)) ctx.credentials.seenInClear(principal.username);
    // The plug connected with its new password: that is its confirmation; the old one is gone.
    if (verified.next) ctx.credentials.confirmNext(principal.username);
    state.principal = principal;
    ctx.accepted(client, principal);
    done(null, true);
  };

  /**
   * A refused PUBLISH is acknowledged as usual (PUBACK / PUBREC) and then dropped, the option
   * [MQTT-3.3.5-2] gives besides closing the connection, and what Mosquitto does. Why: a
   * misconfigured integration would otherwise loop connect → publish → disconnect, flapping its
   * will and availability each time, and a QoS 1/2 sender would retransmit the refused message
   * forever on every reconnect. Refusals are counted (stats) and logged (throttled).
   */
  const authorizePublish: Hooks['authorizePublish'] = (c, packet, callback) => {
    // Wills restored after a restart are published with no client; they passed this check at CONNECT.
    if (c === null) return callback(null);
    const client = c as HearthClient;
    const principal = client.hearth?.principal;
    if (principal === undefined) return callback(new Error('not authenticated'));
    if (packet === client.will)
      return callback(principal.policy.canPublish(packet.topic) ? null : new Error('will topic not allowed'));
    counters.messagesIn++;
    if (principal.policy.canPublish(packet.topic)) {
      if (packet.qos === 1) return ctx.routeBeforeAck(client, packet, callback);
      return callback(null);
    }
    counters.refusedPublishes++;
    (packet as unknown as Record<symbol, boolean>)[DENIED] = true;
    ctx.warn.warn({ clientId: client.id, username: principal.username, topic: packet.topic }, 'mqtt publish refused');
    callback(null);
  };

  /** A refused filter gets return code 0x80 in the SUBACK [MQTT-3.9.3-2]; the connection stays. */
  const authorizeSubscribe: Hooks['authorizeSubscribe'] = (c, sub, callback) => {
    const principal = (c as HearthClient).hearth?.principal;
    if (principal?.policy.canSubscribe(sub.topic)) {
      counters.subscriptionsGranted++;
      return callback(null, sub);
    }
    counters.refusedSubscribes++;
    ctx.warn.warn({ clientId: c.id, username: principal?.username, filter: sub.topic }, 'mqtt subscribe refused');
    callback(null, null);
  };

  /**
   * Called once per message delivered to a client (with a per-client copy of the packet): the
   * cheapest place to count messages out. Also fixes a gap in aedes 1.2: it lowers a QoS 2
   * message to the subscription's QoS only when the subscription's filter equals the topic, so
   * a QoS 2 message reached a wildcard subscription granted QoS 1 at QoS 2 [MQTT-3.8.4-6].
   * QoS 0 subscriptions are served by aedes' own QoS 0 path; only 2 → 1 needs doing here.
   */
  const authorizeForward: Hooks['authorizeForward'] = (client: Client, packet) => {
    counters.messagesOut++;
    if (packet.qos !== 2) return packet;
    const subs = (client as HearthClient).subscriptions;
    let granted = 0;
    for (const filter in subs) {
      const qos = subs[filter]!.qos;
      if (qos > granted && topicMatches(filter, packet.topic)) granted = qos;
    }
    if (granted === 1) packet.qos = 1;
    return packet;
  };

  return { preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward };
}
