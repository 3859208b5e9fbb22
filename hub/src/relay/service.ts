import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { fromBase64, toBase64, utf8 } from '@hearth/protocol/encoding';
import { CONTEXT } from '@hearth/protocol/keys';
import type { DeviceListDoc } from '@hearth/protocol/relay-messages';
import { sealToDevice } from '@hearth/protocol/state-blob';
import type { AuthService, UserActor } from '../auth/service.ts';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { hasRole } from '../devices/access.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { RecorderService } from '../recorder/service.ts';
import type { Store } from '../store/store.ts';
import { loadHubIdentity, rotateHomeKey, type HubIdentity } from './identity.ts';
import { PushSender } from './push.ts';
import { PushDelivery, type PushOutcome } from './push-delivery.ts';
import { OffsiteBackups } from './offsite-backups.ts';
import { Outbox } from './outbox.ts';
import { RemoteDevices, type RemoteDevice } from './remote-devices.ts';
import { RemoteInvites, type RemoteInvite } from './remote-invites.ts';
import { subscribeRemote } from './remote-events.ts';
import { watchRemote } from './remote-live.ts';
import { startRemoteRequest } from './remote-requests.ts';
import { RemoteSession } from './remote-session.ts';
import { StateSync } from './state-sync.ts';
import { TunnelClient } from './tunnel-client.ts';

export interface RemoteAccessDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  registry: DeviceRegistry;
  auth: AuthService;
  /** `relay` from the config: one URL or several separated by commas (tried in turn). */
  relay: string | null;
  /** `remote` from the config: what live views and answers may hold (defaults when absent, as in API unit tests). */
  limits?: HubConfig['remote'];
  /** Cameras, for live views through the relay (remote-live.ts); absent in API unit tests. */
  recorder?: RecorderService;
}

export interface Enrolment {
  device: { id: string; name: string; role: string; createdAt: number };
  hubId: string;
  hubPublicKey: string;
  relayUrls: string[];
  /**
   * The home key sealed to the device's box key: on LAN enrolment (the user is logged in) for a
   * member or above; null for guests (the snapshot shows every device) and for a device enrolled
   * by invite, which gets it with its first remote login (`sessionHomeKey`).
   */
  homeKey: string | null;
}

export interface IssuedInviteView {
  id: string;
  name: string;
  expiresAt: number;
  /** The relay's web address with `#invite=<hubId>.<secret>`: the fragment never reaches a server. */
  link: string;
}

/** How long a redeemed invite's key stays admitted at the relay, so its answer can still arrive. */
const REDEEMED_GRACE_MS = 10_000;

/**
 * Remote access on the hub side (hub/src/relay, docs/relay-protocol.md): the hub identity, the
 * enrolled devices, and, when a relay is configured, the tunnel with its device sessions and the
 * state sync. The API's remote routes and its remote-request hook call in here.
 */
export class RemoteAccess {
  readonly identity: HubIdentity;
  readonly devices: RemoteDevices;
  readonly invites: RemoteInvites;
  readonly relayUrls: string[];
  readonly #deps: RemoteAccessDeps;
  /** Marks injected requests as remote; never leaves this process. */
  readonly #secret = randomBytes(24).toString('base64url');
  readonly #sessions = new Map<number, RemoteSession>();
  #tunnel: TunnelClient | undefined;
  #sync: StateSync | undefined;
  readonly push: PushSender;
  readonly #pushes: PushDelivery;
  readonly #offsite: OffsiteBackups;
  /** Keys of invites just redeemed: still on the relay's list for a moment (see REDEEMED_GRACE_MS). */
  readonly #redeemedKeys = new Set<string>();
  #inviteTimer: TimerHandle | undefined;

  constructor(deps: RemoteAccessDeps) {
    this.#deps = deps;
    this.identity = loadHubIdentity(deps.store.settings);
    this.devices = new RemoteDevices(deps.store.settings, deps.clock);
    this.relayUrls = (deps.relay ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    this.invites = new RemoteInvites(deps.store.settings, deps.clock);
    this.devices.onChange = () => this.#devicesChanged();
    this.devices.onUserRevoked = (userId) => {
      if (this.invites.dropUser(userId) > 0) this.#devicesChanged();
    };
    this.devices.onRemoved = () => this.#rotateHomeKey();
    this.push = new PushSender(deps.store.settings, this.identity.hubId);
    this.#pushes = new PushDelivery({
      devices: this.devices,
      sender: this.push,
      clock: deps.clock,
      control: () => (this.#tunnel?.ready ? (message) => this.#tunnel!.sendControl(message) : null),
    });
    this.#offsite = new OffsiteBackups({
      send: (message) => {
        if (!this.#tunnel?.ready) return false;
        this.#tunnel.sendControl(message);
        return true;
      },
      clock: deps.clock,
      log: deps.log,
    });
  }

  /** Stores a sealed backup file at the relay (offsite-backups.ts); `backup_offsite_failed` if it cannot. */
  uploadBackup(path: string, id: string): Promise<void> {
    if (this.relayUrls.length === 0)
      return Promise.reject(
        new HubError('backup_offsite_failed', 'this hub has no relay configured', { code: 'relay_not_configured' }),
      );
    return this.#offsite.upload(path, id);
  }

  /** Web Push to enrolled devices through the relay (push-delivery.ts). */
  notify(
    payload: { title: string; body: string; level?: string; [k: string]: unknown },
    only?: { deviceId?: string; role?: 'member' | 'admin' | 'owner' },
  ): Promise<({ deviceId: string } & PushOutcome)[]> {
    return this.#pushes.notify(payload, only);
  }

  enroll(actor: UserActor, body: { publicKey: string; boxPublicKey: string; name: string }): Enrolment {
    return this.#enroll(actor, body, true);
  }

  #enroll(
    actor: UserActor,
    body: { publicKey: string; boxPublicKey: string; name: string },
    withHomeKey: boolean,
  ): Enrolment {
    if (this.relayUrls.length === 0)
      throw new HubError('relay_not_configured', 'this hub has no relay configured (--relay URL)');
    const device = this.devices.enroll(actor, body);
    const homeKey = withHomeKey ? this.#sealedHomeKey(device) : null;
    return {
      device: { id: device.id, name: device.name, role: device.role, createdAt: device.createdAt },
      hubId: this.identity.hubId,
      hubPublicKey: toBase64(this.identity.sign.publicKey),
      relayUrls: this.relayUrls,
      homeKey,
    };
  }

  /**
   * A one-time invite link (LAN only, see remote-invites.ts): opened on a phone, the app on the
   * relay's web origin enrols its own key for the caller. Admitted at the relay at once.
   */
  invite(actor: UserActor, name: string): IssuedInviteView {
    if (this.relayUrls.length === 0)
      throw new HubError('relay_not_configured', 'this hub has no relay configured (--relay URL)');
    const { invite, secret } = this.invites.create(actor, name);
    this.#devicesChanged();
    return {
      id: invite.id,
      name: invite.name,
      expiresAt: invite.expiresAt,
      link: `${relayWebOrigin(this.relayUrls[0]!)}/#invite=${this.identity.hubId}.${secret}`,
    };
  }

  /** Withdraws an open invite (its own user or an admin). */
  withdrawInvite(actor: UserActor, id: string): void {
    const invite = this.invites.byId(id);
    if (!invite || (!hasRole(actor, 'admin') && invite.userId !== actor.userId))
      throw new HubError('invite_not_found', 'no such open invite');
    this.invites.take(id);
    this.#devicesChanged();
  }

  /**
   * The invite key's one call: enrols the caller's own fresh key for the inviting user and role,
   * and takes the invite out, so a link works once. The invite key stays admitted at the relay
   * for a few seconds more, only so that this answer can still reach the device.
   */
  redeem(
    inviteId: string,
    body: { publicKey: string; boxPublicKey: string; name: string },
  ): Enrolment & { username: string } {
    const invite = this.invites.byId(inviteId);
    if (!invite) throw new HubError('invite_not_found', 'this invite was used, withdrawn or has expired');
    const actor: UserActor = { kind: 'user', userId: invite.userId, username: invite.username, role: invite.role };
    // Enrol first: a key refused (malformed, already enrolled) leaves the invite usable. No home
    // key: the link alone must not open the home's snapshot; it comes with the first login.
    const enrolment = this.#enroll(actor, body, false);
    this.invites.take(inviteId);
    this.#redeemedKeys.add(invite.publicKey);
    this.#deps.clock.setTimeout(() => {
      this.#redeemedKeys.delete(invite.publicKey);
      this.#devicesChanged();
    }, REDEEMED_GRACE_MS);
    this.#devicesChanged();
    return { ...enrolment, username: invite.username };
  }

  /**
   * The home key for a remote login's or refresh's answer (the API's remote hook adds it): only
   * after the hub checked the user's password (and code) or their refresh token, only for the
   * device's own user and a member or above, sealed to the device's box key, and inside the
   * end-to-end session like the rest of the answer. So an invite link alone never reads the
   * snapshot, and devices that stay get the key rotated by a removal at their next refresh.
   */
  sessionHomeKey(deviceId: string, accessToken: string): string | null {
    const device = this.devices.all().find((d) => d.id === deviceId);
    if (!device) return null;
    try {
      const { actor } = this.#deps.auth.inspectAccess(accessToken);
      if (actor.userId !== device.userId || actor.token) return null;
    } catch {
      return null;
    }
    return this.#sealedHomeKey(device);
  }

  #sealedHomeKey(device: RemoteDevice): string | null {
    return hasRole({ kind: 'user', userId: device.userId, username: device.username, role: device.role }, 'member')
      ? toBase64(sealToDevice(this.identity.homeKey, fromBase64(device.boxPublicKey)))
      : null;
  }

  /**
   * A device or user left: a new home key, and a snapshot sealed with it at once, so the key a
   * removed device held opens nothing the relay stores from now on.
   */
  #rotateHomeKey(): void {
    this.identity.homeKey = rotateHomeKey(this.#deps.store.settings);
    this.#sync?.publishNow();
  }

  /** The enrolled device a request's remote marker names, or null if the marker is not ours. */
  callerOf(marker: string): RemoteDevice | null {
    const dot = marker.indexOf('.');
    if (dot < 0) return null;
    const secret = Buffer.from(marker.slice(0, dot));
    const ours = Buffer.from(this.#secret);
    if (secret.length !== ours.length || !timingSafeEqual(secret, ours)) return null;
    const id = marker.slice(dot + 1);
    const invite = this.invites.byId(id);
    return this.devices.all().find((d) => d.id === id) ?? (invite ? inviteCaller(invite) : null);
  }

  /** Who a key connecting through the relay is: an enrolled device, an open invite, or no one. */
  identify(publicKey: Uint8Array): RemoteDevice | null {
    const device = this.devices.byKey(publicKey);
    if (device) return device;
    const invite = this.invites.byKey(toBase64(publicKey));
    return invite ? inviteCaller(invite) : null;
  }

  /** Starts the tunnel (only with a relay configured). Needs the built API for inject. */
  connect(app: FastifyInstance): void {
    if (this.relayUrls.length === 0) return;
    const { bus, clock, log, registry, auth } = this.#deps;
    const tunnel = new TunnelClient({
      urls: this.relayUrls,
      identity: this.identity,
      log,
      clock,
      events: {
        connected: () => {
          this.#sendDeviceList();
          this.#sync?.publishNow();
        },
        disconnected: () => {
          this.#offsite.disconnected();
          for (const session of this.#sessions.values()) session.ended();
          this.#sessions.clear();
        },
        open: (id) => {
          this.#sessions.get(id)?.ended();
          this.#sessions.set(
            id,
            new RemoteSession(id, {
              identity: this.identity,
              identify: (key) => this.identify(key),
              outbox,
              log,
              sendRaw: (frame) => {
                tunnel.sendFrame(id, frame, () => {});
              },
              close: (code) => {
                this.#sessions.delete(id);
                tunnel.sendControl({ type: 'close', session: id, code });
              },
              run: (device, request) => startRemoteRequest(app, device, `${this.#secret}.${device.id}`, request),
              answerLimits: { session: this.#deps.limits?.sessionAnswerBytes, hub: this.#deps.limits?.answerBytes },
              subscribe: (device, token, sink) =>
                device.invite
                  ? inviteCannotSubscribe(sink)
                  : subscribeRemote(
                      auth,
                      { bus, clock, log, registry, maxBufferedBytes: 256 * 1024 },
                      device,
                      token,
                      sink,
                    ),
              live: (device, body, sink) =>
                device.invite
                  ? inviteCannotSubscribe(sink)
                  : watchRemote(
                      {
                        auth,
                        bus,
                        clock,
                        recorder: this.#deps.recorder,
                        sharing: this.#deps.registry.sharing,
                        liveQueueBytes: this.#deps.limits?.liveQueueBytes,
                      },
                      device,
                      body,
                      sink,
                    ),
            }),
          );
        },
        close: (id) => {
          this.#sessions.get(id)?.ended();
          this.#sessions.delete(id);
        },
        frame: (id, frame) => this.#sessions.get(id)?.onFrame(frame),
        pushResult: (id, result) => this.#pushes.result(id, result),
        backup: (message) => this.#offsite.answer(message),
      },
    });
    const outbox = new Outbox((stream, plain, written) => {
      const session = this.#sessions.get(stream.session);
      if (!session) return false;
      return tunnel.sendFrame(stream.session, session.seal(plain), written);
    });
    this.#tunnel = tunnel;
    this.#sync = new StateSync({
      bus,
      clock,
      registry,
      homeKey: () => this.identity.homeKey,
      publish: (blob) => tunnel.sendControl({ type: 'state', blob }),
    });
    this.#sync.start();
    // A rule's notify action goes to members' devices.
    bus.on('relay.push', 'rule.notify', (event) => {
      void this.notify({ title: 'Hearth', body: event.message, level: event.level, ruleId: event.ruleId }).then(
        (results) => {
          const failed = results.filter((r) => r.code || (r.status !== undefined && r.status >= 300));
          if (failed.length > 0) log.warn({ failed }, 'some notifications were not delivered');
        },
      );
    });
    // A scheduled backup failed, was found damaged or is overdue: the owners' phones hear of it.
    bus.on('relay.push', 'backup.alert', (event) => {
      void this.notify(
        { title: 'Hearth backups', body: event.message, level: 'warning', backup: event.kind },
        { role: 'owner' },
      ).then((results) => {
        const failed = results.filter((r) => r.code || (r.status !== undefined && r.status >= 300));
        if (failed.length > 0) log.warn({ failed }, 'some backup alerts were not delivered');
      });
    });
    tunnel.start();
  }

  status(): { configured: boolean; connected: boolean; hubId: string; relayUrls: string[] } {
    return {
      configured: this.relayUrls.length > 0,
      connected: this.#tunnel?.ready ?? false,
      hubId: this.identity.hubId,
      relayUrls: this.relayUrls,
    };
  }

  stop(): void {
    this.#deps.bus.offOwner('relay.push');
    // The relay keeps the last-known state: it must include the latest change.
    this.#sync?.flush();
    this.#sync?.stop();
    this.#tunnel?.stop();
    this.#inviteTimer?.cancel();
    for (const session of this.#sessions.values()) session.ended();
    this.#sessions.clear();
  }

  #devicesChanged(): void {
    this.#sendDeviceList();
    // Sessions of a revoked key end now, not at their next request; an invite's session when its
    // invite expired or was withdrawn, or its grace after redeeming ran out.
    for (const session of [...this.#sessions.values()]) {
      const device = session.device;
      if (!device) continue;
      const still = device.invite
        ? this.invites.byId(device.id) !== undefined || this.#redeemedKeys.has(device.publicKey)
        : this.devices.all().some((d) => d.id === device.id);
      if (!still) session.close(device.invite ? 'invite_not_found' : 'device_revoked');
    }
    // An open invite leaves the relay's list when it expires.
    this.#inviteTimer?.cancel();
    const next = this.invites.nextExpiry();
    if (next !== null)
      this.#inviteTimer = this.#deps.clock.setTimeout(
        () => this.#devicesChanged(),
        Math.max(0, next - this.#deps.clock.now()) + 1,
      );
  }

  #sendDeviceList(): void {
    if (!this.#tunnel) return;
    // Strictly increasing, so the relay can refuse an older list replayed at it. Kept in settings:
    // a Pi has no battery clock and may boot in the past, and a list the relay takes for an old
    // one would leave a revoked key admitted there.
    const { settings } = this.#deps.store;
    const seq = Math.max((settings.get<number>('relay.deviceListSeq') ?? 0) + 1, this.#deps.clock.now());
    settings.set('relay.deviceListSeq', seq);
    const doc: DeviceListDoc & { revoked: string[] } = {
      hubId: this.identity.hubId,
      seq,
      keys: [
        ...this.devices.all().map((d) => d.publicKey),
        ...this.invites.open().map((i) => i.publicKey),
        ...this.#redeemedKeys,
      ],
      revoked: this.devices.revokedKeys(),
      // Only the owner's devices may fetch the off-site backups from the relay.
      owners: this.devices
        .all()
        .filter((d) => d.role === 'owner')
        .map((d) => d.publicKey),
    };
    const text = JSON.stringify(doc);
    const sig = this.identity.signFast(new Uint8Array([...CONTEXT.deviceList, ...utf8(text)]));
    this.#tunnel.sendControl({ type: 'devices', doc: text, sig: toBase64(sig) });
  }
}

/** `ws://host:port/path` → `http://host:port`: the relay serves the web app on its own port. */
export function relayWebOrigin(relayUrl: string): string {
  const url = new URL(relayUrl);
  const scheme = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${url.host}`;
}

/** An invite key stands in as a device of its user until redeemed; see remote-invites.ts. */
function inviteCaller(invite: RemoteInvite): RemoteDevice {
  return {
    id: invite.id,
    name: invite.name,
    publicKey: invite.publicKey,
    boxPublicKey: invite.boxPublicKey,
    userId: invite.userId,
    username: invite.username,
    role: invite.role,
    createdAt: invite.createdAt,
    invite: true,
  };
}

/** An invite key's session may only redeem: no event stream, no live view, whatever token it shows. */
function inviteCannotSubscribe(sink: { fail(code: string): void }): () => void {
  sink.fail('invite_only');
  return () => {};
}
