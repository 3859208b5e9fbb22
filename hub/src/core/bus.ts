import type { Actor, StateValue } from '@hearth/model/values';
import type { Logger } from './logger.ts';

export interface DeviceStateEvent {
  deviceId: string;
  capability: string;
  value: StateValue;
  previous: StateValue | undefined;
  at: number;
}

export interface DeviceAvailabilityEvent {
  deviceId: string;
  available: boolean;
  at: number;
}

export interface DeviceLifecycleEvent {
  deviceId: string;
  at: number;
}

export interface TelemetrySampleEvent {
  deviceId: string;
  capability: string;
  value: number;
  at: number;
}

/**
 * An appliance cycle began or ended on a device's power readings (hub/src/energy/live-cycles.ts):
 * rules' `cycle_started` / `cycle_finished`. `end`, `energyWh` and `peakW` come with `finished`.
 */
export interface EnergyCycleEvent {
  deviceId: string;
  phase: 'started' | 'finished';
  start: number;
  end?: number;
  energyWh?: number;
  peakW?: number;
  at: number;
}

export interface AuditEvent {
  actor: Actor;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
  at: number;
}

export interface PlugUpdateEvent {
  deviceId: string;
  state: 'sending' | 'downloading' | 'rebooting' | 'done' | 'failed';
  version: string;
  offset: number;
  size: number;
  error: string | null;
  at: number;
}

export interface UserSessionsEndedEvent {
  userId: string;
  reason:
    | 'removed'
    | 'role_changed'
    | 'password_reset'
    | 'password_changed'
    | 'totp_enabled'
    | 'handover'
    | 'support_revoked'
    | 'support_ended';
  at: number;
}

/** What happened to a Zigbee device on the network (hub/src/drivers/zigbee/). */
export interface ZigbeeDeviceEvent {
  /** IEEE address, `0x` and 16 hex digits. */
  ieee: string;
  status: 'joined' | 'interviewing' | 'interview_failed' | 'added' | 'unsupported' | 'left';
  /** The Hearth device, once there is one. */
  deviceId?: string;
  model?: string;
  at: number;
}

/**
 * A device command finished (hub/src/devices/registry.ts): what was asked, by whom and how it
 * ended (`confirmed` or the error code). The history's command log is built from these.
 */
export interface DeviceCommandEvent {
  deviceId: string;
  capability: string;
  value: StateValue;
  actor: Actor;
  outcome: string;
  /** From dispatch to confirmation or failure. */
  ms: number;
  at: number;
}

/** A rule's notify action ran (hub/src/rules/service.ts); the relay pushes it to members' devices. */
export interface RuleNotifyEvent {
  ruleId: string;
  runId: string;
  message: string;
  level: string;
  at: number;
}

/**
 * A scheduled backup failed (`failed`), a kept one no longer opens (`corrupt`), or no good backup
 * came from a run that was due an hour ago (`stale`) (hub/src/backup/schedule.ts). Owners only.
 */
export interface BackupAlertEvent {
  kind: 'failed' | 'corrupt' | 'stale';
  /** An error code (`backup_stale` for a stale schedule). */
  code: string;
  message: string;
  file?: string;
  lastGoodAt: number | null;
  at: number;
}

/** Every event on the in-process bus and its payload. Later parts add theirs here. */
export interface BusEvents {
  'device.state': DeviceStateEvent;
  'device.availability': DeviceAvailabilityEvent;
  'device.added': DeviceLifecycleEvent;
  'device.removed': DeviceLifecycleEvent;
  'device.updated': DeviceLifecycleEvent;
  'telemetry.sample': TelemetrySampleEvent;
  'energy.cycle': EnergyCycleEvent;
  'rule.fired': { ruleId: string; at: number };
  'rule.notify': RuleNotifyEvent;
  'device.command': DeviceCommandEvent;
  'recording.event': { cameraId: string; kind: string; at: number };
  /**
   * A user was removed, re-roled or had their password reset: every session of theirs ends now
   * (also when they changed their own password: the caller then holds a fresh session).
   * Their access tokens are already refused (session generation); long-lived connections that
   * checked a token once (the events stream, LAN and remote) listen and close.
   */
  'user.sessions_ended': UserSessionsEndedEvent;
  /** Keys for scripts were revoked (auth/api-tokens.ts): streams opened with them close. */
  'api_token.revoked': { userId: string; tokenIds: string[]; at: number };
  /**
   * What a person reaches through shares changed (devices/sharing.ts): one was made, removed, ended
   * at its time or its window opened or closed. Their open streams look again at what they see.
   */
  'share.changed': { userId: string; at: number };
  /**
   * A person's presence changed (devices/presence.ts): home, away, or none (`state` null: they no
   * longer have presence); `home` is the home's state after it. Rules trigger on it.
   */
  'presence.changed': {
    userId: string;
    state: 'home' | 'away' | null;
    home: 'someone_home' | 'everyone_away' | 'unknown';
    at: number;
  };
  /** A plug's firmware update moved on (hub/src/drivers/plug/updates.ts): state, progress, error code. */
  'plug.update': PlugUpdateEvent;
  /** The Zigbee network opened (`seconds` left) or closed for joining. */
  'zigbee.permit_join': { permitted: boolean; seconds?: number; at: number };
  'zigbee.device': ZigbeeDeviceEvent;
  'backup.alert': BackupAlertEvent;
  /** A row just written to the audit log: a record for people to read, not a trigger for other parts. */
  audit: AuditEvent;
}

export type BusEventName = keyof BusEvents;
export type Listener<E extends BusEventName> = (payload: BusEvents[E]) => void | Promise<void>;

interface Registration {
  owner: string;
  listener: (payload: never) => void | Promise<void>;
}

/**
 * The one typed in-process bus. Listeners are registered under an owner so a part's `stop()`
 * removes all of its listeners with `offOwner`, and a listener that throws (or rejects) is logged
 * and isolated: it never stops delivery to the others or reaches the emitter.
 */
export class EventBus {
  readonly #listeners = new Map<BusEventName, Registration[]>();
  readonly #log: Logger | undefined;

  constructor(log?: Logger) {
    this.#log = log;
  }

  on<E extends BusEventName>(owner: string, event: E, listener: Listener<E>): () => void {
    const list = this.#listeners.get(event) ?? [];
    const registration: Registration = { owner, listener: listener as Registration['listener'] };
    // Copy on write: an emit in progress keeps iterating the list it started with.
    this.#listeners.set(event, [...list, registration]);
    return () => {
      const current = this.#listeners.get(event) ?? [];
      this.#listeners.set(
        event,
        current.filter((r) => r !== registration),
      );
    };
  }

  offOwner(owner: string): void {
    for (const [event, list] of this.#listeners) {
      this.#listeners.set(
        event,
        list.filter((r) => r.owner !== owner),
      );
    }
  }

  emit<E extends BusEventName>(event: E, payload: BusEvents[E]): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (const { owner, listener } of list) {
      try {
        const result = (listener as Listener<E>)(payload);
        if (result && typeof (result as Promise<void>).catch === 'function') {
          (result as Promise<void>).catch((err: unknown) => this.#report(owner, event, err));
        }
      } catch (err) {
        this.#report(owner, event, err);
      }
    }
  }

  listenerCount(event?: BusEventName): number {
    if (event) return this.#listeners.get(event)?.length ?? 0;
    let n = 0;
    for (const list of this.#listeners.values()) n += list.length;
    return n;
  }

  #report(owner: string, event: string, err: unknown): void {
    this.#log?.error({ err, owner, event }, 'bus listener failed');
  }
}
