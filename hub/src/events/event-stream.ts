import type { WebSocket } from 'ws';
import type { UserActor } from '../auth/service.ts';
import { WS_CLOSE_UNAUTHORIZED } from '../auth/ws-close.ts';
import type { BusEventName, BusEvents, EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { hasRole, limitedToDevices } from '../devices/access.ts';
import type { DeviceRegistry } from '../devices/registry.ts';

export interface EventStreamDeps {
  bus: EventBus;
  clock: Clock;
  log: Logger;
  registry: Pick<DeviceRegistry, 'canSee' | 'list' | 'sharing'>;
  /** Queued bytes beyond which the client counts as stuck and is dropped. */
  maxBufferedBytes: number;
}

const DEVICE_EVENTS = [
  'device.state',
  'device.availability',
  'device.added',
  'device.updated',
  'telemetry.sample',
  'plug.update',
] as const;
const PING_INTERVAL_MS = 30_000;

let nextConnection = 0;

/**
 * One `/api/v1/events` connection: forwards the bus events its user may see, one JSON object per
 * message (`{type, ...payload}`). Listeners are registered under an owner unique to this socket
 * and all removed when it closes. A client that stops reading is dropped once `maxBufferedBytes`
 * are queued, rather than letting the hub buffer for it without bound. The stream closes with
 * 4401 when the access token expires, and at once when the user's sessions end
 * (`user.sessions_ended`: removed, re-roled, password reset), so a connection never outlives its
 * credentials.
 */
export class EventStream {
  readonly #socket: WebSocket;
  readonly #actor: UserActor;
  readonly #deps: EventStreamDeps;
  readonly #owner = `api.events#${++nextConnection}`;
  // Devices this client may see; a removed device can no longer be asked about.
  readonly #visible = new Set<string>();
  #timers: TimerHandle[] = [];
  #alive = true;
  #closed = false;

  constructor(socket: WebSocket, actor: UserActor, deps: EventStreamDeps) {
    this.#socket = socket;
    this.#actor = actor;
    this.#deps = deps;
  }

  start(expiresAt: number): void {
    const { bus, registry, clock } = this.#deps;
    this.#socket.on('close', () => this.stop());
    this.#socket.on('pong', () => {
      this.#alive = true;
    });
    for (const device of registry.list(this.#actor)) this.#visible.add(device.id);

    for (const event of DEVICE_EVENTS) {
      bus.on(this.#owner, event, (payload: BusEvents[typeof event]) => {
        if (!registry.canSee(this.#actor, payload.deviceId)) {
          // Moved out of a shared room, or a share ended between looks: it is gone for them.
          if (this.#visible.delete(payload.deviceId))
            this.#send('device.removed', { deviceId: payload.deviceId, at: clock.now() });
          return;
        }
        if (!this.#visible.has(payload.deviceId) && event !== 'device.added') {
          // Newly reachable (a share opened): the client learns of it as of a device added.
          this.#send('device.added', { deviceId: payload.deviceId, at: payload.at });
        }
        this.#visible.add(payload.deviceId);
        this.#send(event, payload);
      });
    }
    // A share of theirs was made, removed, ended or opened: what is no longer reached is removed
    // for this client at that moment (streams stay open), what is newly reached is added.
    bus.on(this.#owner, 'share.changed', (payload) => {
      if (payload.userId === this.#actor.userId) this.#lookAgain(payload.at);
    });
    bus.on(this.#owner, 'device.removed', (payload) => {
      if (this.#visible.delete(payload.deviceId)) this.#send('device.removed', payload);
    });
    // Removed, re-roled or password reset: the token this stream was opened with is refused from
    // now on, so the stream ends like an expired one (the client logs in again).
    bus.on(this.#owner, 'user.sessions_ended', (payload) => {
      if (payload.userId === this.#actor.userId) this.#close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
    });
    // A key for scripts that is revoked ends its streams at once.
    const keyId = this.#actor.token?.id;
    if (keyId) {
      bus.on(this.#owner, 'api_token.revoked', (payload) => {
        if (payload.tokenIds.includes(keyId)) this.#close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
      });
    }
    // Presence: members and up see everyone's and the home's; a guest only their own, without
    // the home's state (devices/presence.ts). A device-subset key sees none.
    if (!limitedToDevices(this.#actor)) {
      bus.on(this.#owner, 'presence.changed', (payload) => {
        if (hasRole(this.#actor, 'member')) this.#send('presence.changed', payload);
        else if (payload.userId === this.#actor.userId)
          this.#send('presence.changed', { userId: payload.userId, state: payload.state, at: payload.at });
      });
    }
    // A key limited to some devices sees only their events: rules, recordings and the audit log
    // speak of other devices too.
    if (!limitedToDevices(this.#actor)) this.#subscribeHome();

    this.#timers.push(
      clock.setTimeout(() => this.#close(WS_CLOSE_UNAUTHORIZED, 'token_expired'), Math.max(0, expiresAt - clock.now())),
    );
    this.#schedulePing();
    // Tells the client its subscription is live: events from here on will arrive.
    this.#send('ready', { role: this.#actor.role });
  }

  #lookAgain(at: number): void {
    const now = new Set(this.#deps.registry.list(this.#actor).map((d) => d.id));
    for (const id of [...this.#visible]) {
      if (now.has(id)) continue;
      this.#visible.delete(id);
      this.#send('device.removed', { deviceId: id, at });
    }
    for (const id of now) {
      if (this.#visible.has(id)) continue;
      this.#visible.add(id);
      this.#send('device.added', { deviceId: id, at });
    }
  }

  /** The events that are not about one device, each for the roles whose routes show it. */
  #subscribeHome(): void {
    const { bus } = this.#deps;
    // Members read rules and watch cameras (the routes' own access), so they see these live.
    if (hasRole(this.#actor, 'member')) {
      bus.on(this.#owner, 'rule.fired', (payload) => this.#send('rule.fired', payload));
      bus.on(this.#owner, 'recording.event', (payload) => this.#send('recording.event', payload));
    } else {
      // A guest hears of the cameras shared with them, checked at each event (shares end).
      const { sharing } = this.#deps.registry;
      bus.on(this.#owner, 'recording.event', (payload) => {
        if (sharing.sees(this.#actor, { kind: 'camera', id: payload.cameraId })) this.#send('recording.event', payload);
      });
    }
    if (hasRole(this.#actor, 'admin')) bus.on(this.#owner, 'audit', (payload) => this.#send('audit', payload));
    // Backups are the owner's alone (a backup holds every key of the home).
    if (hasRole(this.#actor, 'owner'))
      bus.on(this.#owner, 'backup.alert', (payload) => this.#send('backup.alert', payload));
    // Pairing Zigbee devices is an admin's job: they watch the network open and devices join.
    if (hasRole(this.#actor, 'admin')) {
      bus.on(this.#owner, 'zigbee.permit_join', (payload) => this.#send('zigbee.permit_join', payload));
      bus.on(this.#owner, 'zigbee.device', (payload) => this.#send('zigbee.device', payload));
    }
  }

  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deps.bus.offOwner(this.#owner);
    for (const timer of this.#timers) timer.cancel();
    this.#timers = [];
  }

  #send<E extends BusEventName>(type: E | 'ready', payload: BusEvents[E] | Record<string, unknown>): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    if (this.#socket.bufferedAmount > this.#deps.maxBufferedBytes) {
      this.#deps.log.warn(
        { owner: this.#owner, buffered: this.#socket.bufferedAmount },
        'events client too slow; dropped',
      );
      this.stop();
      // terminate, not close: a client that does not read will not answer a close handshake.
      this.#socket.terminate();
      return;
    }
    this.#socket.send(JSON.stringify({ type, ...payload }));
  }

  #close(code: number, reason: string): void {
    this.stop();
    this.#socket.close(code, reason);
  }

  /** Dead peers (a phone that lost Wi-Fi) never send a TCP close; pings find them. */
  #schedulePing(): void {
    const timer = this.#deps.clock.setTimeout(() => {
      this.#timers = this.#timers.filter((t) => t !== timer);
      if (this.#closed) return;
      if (!this.#alive) {
        this.stop();
        this.#socket.terminate();
        return;
      }
      this.#alive = false;
      this.#socket.ping();
      this.#schedulePing();
    }, PING_INTERVAL_MS);
    this.#timers.push(timer);
  }
}
