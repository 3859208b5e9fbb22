import type { Actor, StateValue } from '@hearth/model/values';
import type nacl from 'tweetnacl';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { Driver, DriverContext } from '../../devices/driver.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import {
  ed25519Signer,
  encodeCommand,
  encodeTimeAnswer,
  parseEvent,
  parseTimeRequest,
  signCommand,
  type OtaBeginValue,
  type Signer,
} from './protocol.ts';
import type { PlugUpdateEvent, PlugUpdates } from './updates.ts';

/** The slice of the broker the plug driver uses. */
export interface PlugBroker {
  publish(topic: string, payload: string | Buffer, opts?: { qos?: 0 | 1 | 2; retain?: boolean }): Promise<void>;
  subscribe(owner: string, filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
  unsubscribeOwner(owner: string): void;
  credentials: {
    revokeDevice(deviceId: string): void;
    requiresTls?(deviceId: string): boolean;
    needsNewSecret?(deviceId: string): boolean;
    beginNewSecret?(deviceId: string): string;
  };
}

export interface PlugDriverDeps {
  broker: PlugBroker;
  signKey: nacl.SignKeyPair;
  clock: Clock;
  /** Security-relevant plug events (refused commands, over-current) go to the audit log. */
  audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void;
  /** Firmware updates (updates.ts); without it plugs are never updated. */
  updates?: PlugUpdates;
  /** Where update progress goes (the bus's `plug.update`). */
  onUpdate?(event: PlugUpdateEvent): void;
  /** The broker's TLS port (0: none): plugs still on cleartext are told to move there. */
  mqttsPort?(): number;
}

const OWNER = 'driver:plug';
const ACTOR: Actor = { kind: 'system', part: 'plug' };
const TELEMETRY = ['power', 'voltage', 'current', 'energy'] as const;
/** Counters of recent commands per plug, to tell our refused commands from forged ones. */
const RECENT_COMMANDS = 32;
/** A plug asks for the time on connecting, hourly, and at most every 5 s after a stale command. */
const TIME_ANSWER_GAP_MS = 1000;
/** The move-to-TLS command goes at most this often per plug (it is re-sent after a time answer). */
const MOVE_GAP_MS = 10_000;
/** A password change goes at most this often per plug (re-sent on reconnects and time answers). */
const NEW_SECRET_GAP_MS = 10_000;
/**
 * Counters are reserved on disk this many at a time: the stored `counter` is the highest one the
 * hub may have used, so one row write serves 64 commands instead of one (issue 13: that write was
 * a page per command). After a restart the hub goes on above the reservation, skipping at most 63
 * values; the plug only needs each counter above the last it obeyed (plug-protocol.md).
 */
export const COUNTER_RESERVE = 64;

/**
 * Hearth plugs (docs/plug-protocol.md): every command is signed with the hub's Ed25519 key over
 * a per-plug counter that is stored before the command leaves, so neither a replay nor a hub
 * restart can reuse one. Confirmation is the plug's state message; availability its retained
 * status (Last Will); telemetry becomes state reports, which the registry turns into samples.
 * Plugs are added only by pairing (pairing.ts), never through `POST /devices`.
 */
export class PlugDriver implements Driver {
  readonly name = 'plug';
  readonly #deps: PlugDriverDeps;
  readonly #pairing = new Set<string>();
  readonly #recent = new Map<string, number[]>();
  readonly #lastTimeAnswer = new Map<string, number>();
  readonly #lastMove = new Map<string, number>();
  readonly #lastNewSecret = new Map<string, number>();
  /** The counter of each plug's latest password change: a refusal of it ends the attempts. */
  readonly #newSecretCounter = new Map<string, number>();
  /** Plugs that refused a password change as malformed (firmware without it): not asked again until a restart. */
  readonly #noNewSecret = new Set<string>();
  /** Per plug: the last counter sent and the reservation stored when it was (see COUNTER_RESERVE). */
  readonly #counters = new Map<string, { last: number; reserved: number }>();
  readonly #sign: Signer;
  #ctx: DriverContext | undefined;
  #ignored = 0;

  constructor(deps: PlugDriverDeps) {
    this.#deps = deps;
    this.#sign = ed25519Signer(deps.signKey.secretKey);
  }

  async start(ctx: DriverContext): Promise<void> {
    this.#ctx = ctx;
    this.#deps.broker.subscribe(OWNER, 'hearth/+/+', (topic, payload) => this.#onMessage(topic, payload));
    this.#deps.broker.subscribe(OWNER, 'hearth/+/ota/req', (topic, payload) => this.#onMessage(topic, payload));
    this.#deps.updates?.start(
      {
        log: ctx.log,
        device: (id) => ctx.device(id),
        saveConfig: (id, config) => ctx.saveConfig(id, config),
        sendCommand: (id, capability, value, extra) => this.#send(id, capability, value, extra),
        publish: (topic, payload) => this.#deps.broker.publish(topic, payload, { qos: 0 }),
        emit: (event) => this.#deps.onUpdate?.(event),
      },
      ctx.devices(),
    );
  }

  /** A paired plug's stored row (config included). */
  row(deviceId: string): DeviceRow | undefined {
    return this.#ctx?.device(deviceId);
  }

  /** Every paired plug's stored row. */
  rows(): DeviceRow[] {
    return this.#ctx?.devices() ?? [];
  }

  get updates(): PlugUpdates | undefined {
    return this.#deps.updates;
  }

  async stop(): Promise<void> {
    this.#deps.updates?.stop();
    this.#deps.broker.unsubscribeOwner(OWNER);
    this.#ctx = undefined;
  }

  /** Marks a plug id as being paired; the returned function ends that. */
  expectPairing(plugId: string): () => void {
    if (this.#pairing.has(plugId))
      throw new HubError('pairing_in_progress', `plug ${plugId} is being paired already`, { plugId });
    this.#pairing.add(plugId);
    return () => this.#pairing.delete(plugId);
  }

  deviceAdded(device: DeviceRow): void {
    if (!this.#pairing.has(device.id))
      throw new HubError('validation_failed', 'Hearth plugs are added by pairing: POST /api/v1/plugs/:id/pair', {
        field: 'driver',
      });
  }

  /** After pairing: the row is final; report what the plug said while it did not exist yet. */
  paired(deviceId: string, lastState: Record<string, StateValue>): void {
    const ctx = this.#ctx;
    const row = ctx?.device(deviceId);
    if (!ctx || !row) return;
    const { pairing: _pairing, ...config } = row.config;
    ctx.saveConfig(deviceId, config);
    ctx.reportAvailability(deviceId, true);
    if (Object.keys(lastState).length > 0) ctx.reportState(deviceId, lastState);
  }

  /** Plug devices whose pairing never finished (the hub stopped in the middle of one). */
  unfinishedPairings(): string[] {
    return (this.#ctx?.devices() ?? [])
      .filter((d) => d.config.pairing === true && !this.#pairing.has(d.id))
      .map((d) => d.id);
  }

  deviceRemoved(device: DeviceRow): void {
    // The broker disconnects a live connection with these credentials at once.
    this.#deps.broker.credentials.revokeDevice(device.id);
    this.#recent.delete(device.id);
    this.#lastTimeAnswer.delete(device.id);
    this.#lastMove.delete(device.id);
    this.#lastNewSecret.delete(device.id);
    this.#newSecretCounter.delete(device.id);
    this.#noNewSecret.delete(device.id);
    this.#counters.delete(device.id);
    this.#deps.updates?.forget(device.id);
  }

  async command(device: DeviceRow, capability: string, value: StateValue): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx) throw new HubError('not_ready', 'the plug driver is not running');
    if (capability !== 'switch' || typeof value !== 'boolean')
      throw new HubError('validation_failed', 'a plug takes only switch true/false', { field: 'capability' });
    await this.#send(device.id, capability, value);
  }

  /** Signs with the plug's next counter, stored (with `extra` config) before the command leaves. */
  async #send(
    deviceId: string,
    capability: string,
    value: boolean | number | string | OtaBeginValue,
    extra?: (counter: number) => Record<string, unknown>,
    qos: 0 | 1 = 1,
  ): Promise<number> {
    const ctx = this.#ctx;
    const current = ctx?.device(deviceId);
    if (!ctx || !current) throw new HubError('not_ready', 'the plug driver is not running');
    // The stored counter is a reservation: every counter up to it may have been used. Ours go on
    // from the last one sent while the row still holds the reservation we made; otherwise (a
    // restart, a restore's jump, a new pairing) from the stored value.
    const stored = storedCounter(current.config);
    const mine = this.#counters.get(deviceId);
    const counter = (mine?.reserved === stored ? mine.last : stored) + 1;
    let reserved = stored;
    if (counter > stored || extra) {
      // On disk before it leaves (plug-protocol.md): a crash after sending cannot reuse it.
      reserved = Math.max(stored, counter + COUNTER_RESERVE - 1);
      ctx.saveConfig(deviceId, { ...current.config, ...extra?.(counter), counter: reserved });
    }
    this.#counters.set(deviceId, { last: counter, reserved });
    this.#remember(deviceId, counter);
    const signed = signCommand(this.#sign, deviceId, counter, Math.trunc(this.#deps.clock.now()), capability, value);
    await this.#deps.broker.publish(`hearth/${deviceId}/cmd`, encodeCommand(signed), { qos });
    return counter;
  }

  /** Messages that were malformed (exposed for tests). */
  get ignoredMessages(): number {
    return this.#ignored;
  }

  #onMessage(topic: string, payload: Buffer): void {
    const ctx = this.#ctx;
    const parts = topic.split('/');
    if (!ctx || parts.length < 3 || parts.length > 4) return;
    const deviceId = parts[1]!;
    if (!ctx.device(deviceId)) return; // not a plug (or not paired yet)
    if (parts.length === 4) {
      if (parts[2] === 'ota' && parts[3] === 'req' && !this.#deps.updates?.onRequest(deviceId, payload))
        this.#ignore(deviceId, topic, 'no update of that image is in progress');
      return;
    }
    switch (parts[2]) {
      case 'status': {
        const text = payload.toString('utf8').trim();
        if (text === 'online' || text === 'offline') ctx.reportAvailability(deviceId, text === 'online');
        if (text === 'online') this.#moveToTls(deviceId);
        if (text === 'online') this.#changeSecret(deviceId);
        if (text !== 'online' && text !== 'offline')
          this.#ignore(deviceId, topic, 'status is neither online nor offline');
        return;
      }
      case 'state': {
        const values = parseObject(payload);
        if (!values || typeof values.switch !== 'boolean')
          return this.#ignore(deviceId, topic, 'state is not {"switch":bool}');
        ctx.reportState(deviceId, { switch: values.switch });
        return;
      }
      case 'telemetry': {
        const values = parseObject(payload);
        if (!values) return this.#ignore(deviceId, topic, 'telemetry is not a JSON object');
        const readings: Record<string, number> = {};
        for (const key of TELEMETRY) {
          const v = values[key];
          if (typeof v === 'number' && Number.isFinite(v)) readings[key] = v;
        }
        ctx.reportState(deviceId, readings);
        return;
      }
      case 'event':
        this.#onEvent(ctx, deviceId, topic, payload);
        return;
      case 'timereq':
        this.#answerTime(deviceId, topic, payload);
        return;
      default:
        return; // cmd, time and ota are the hub's own
    }
  }

  #onEvent(ctx: DriverContext, deviceId: string, topic: string, payload: Buffer): void {
    const event = parseEvent(payload);
    if (!event) return this.#ignore(deviceId, topic, 'event is not a JSON object');
    if (event.type === 'cmd_rejected') {
      const ours = event.counter !== undefined && (this.#recent.get(deviceId) ?? []).includes(event.counter);
      // A refused command is either ours (clock skew, a lost counter) or someone else's forgery
      // or replay on the plug's topic: both are worth a warning and an audit row.
      ctx.log.warn({ deviceId, reason: event.reason, counter: event.counter, ours }, 'plug rejected a command');
      this.#deps.audit(ACTOR, 'plug.cmd_rejected', deviceId, {
        reason: event.reason,
        counter: event.counter ?? null,
        ours,
      });
      if (ours)
        ctx.failCommands(
          deviceId,
          new HubError('device_rejected', `plug ${deviceId} rejected the command: ${event.reason}`, {
            deviceId,
            reason: event.reason,
          }),
        );
      if (ours) this.#deps.updates?.onRejected(deviceId, event.counter, event.reason);
      // A plug whose firmware has no password change refuses it as malformed: stop asking.
      if (ours && event.reason === 'malformed' && event.counter === this.#newSecretCounter.get(deviceId))
        this.#noNewSecret.add(deviceId);
      return;
    }
    if (event.type === 'ota') {
      if (event.state === 'failed')
        ctx.log.warn(
          { deviceId, version: event.version, error: event.error },
          'plug refused or failed a firmware update',
        );
      this.#deps.updates?.onReport(deviceId, event);
      return;
    }
    if (event.type === 'overcurrent') {
      ctx.log.warn({ deviceId, current: event.current }, 'plug cut off on over-current');
      this.#deps.audit(ACTOR, 'plug.overcurrent', deviceId, { current: event.current ?? null });
      return;
    }
    ctx.log.debug({ deviceId, event: event.raw }, 'unknown plug event');
  }

  /**
   * A plug without a clock (an ESP32 after a power cut, no internet for SNTP) asks for the
   * hub's: the answer is signed together with the plug's nonce (plug-protocol.md, "Time"), so
   * it counts once. Answers are rate-limited per plug: each costs a signature.
   */
  #answerTime(deviceId: string, topic: string, payload: Buffer): void {
    const nonce = parseTimeRequest(payload);
    if (!nonce) return this.#ignore(deviceId, topic, 'time request is not {"n":"<16 bytes base64>"}');
    const now = Math.trunc(this.#deps.clock.now());
    const last = this.#lastTimeAnswer.get(deviceId);
    if (last !== undefined && now - last >= 0 && now - last < TIME_ANSWER_GAP_MS) return;
    this.#lastTimeAnswer.set(deviceId, now);
    const answer = encodeTimeAnswer(this.#sign, deviceId, nonce, now);
    this.#deps.broker.publish(`hearth/${deviceId}/time`, answer, { qos: 0 }).catch((err: unknown) => {
      this.#ctx?.log.warn({ err, deviceId }, 'could not send the time to a plug');
    });
    // A plug without a clock refused the move as stale and asked for the time: now it has it.
    this.#moveToTls(deviceId);
    this.#changeSecret(deviceId);
  }

  /**
   * A plug on TLS whose password may have crossed the LAN in clear (it was paired before TLS,
   * or by a hub without it) gets a new one (docs/plug-protocol.md "Changing a plug's password"):
   * the broker stores the new secret's digest beside the old one, then the signed `mqpass`
   * command carries it over the plug's TLS connection, QoS 0 so that it is never queued in the
   * broker's store (a plug that misses it gets another on its next `online` or time answer).
   * The plug reconnects with it; that connection makes it the secret and the old one is refused
   * from then on. At most every NEW_SECRET_GAP_MS per plug.
   */
  #changeSecret(deviceId: string): void {
    const creds = this.#deps.broker.credentials;
    if (!creds.needsNewSecret || !creds.beginNewSecret || this.#noNewSecret.has(deviceId)) return;
    if (!creds.needsNewSecret(deviceId)) return;
    const now = this.#deps.clock.now();
    const last = this.#lastNewSecret.get(deviceId);
    if (last !== undefined && now - last >= 0 && now - last < NEW_SECRET_GAP_MS) return;
    this.#lastNewSecret.set(deviceId, now);
    let secret: string;
    try {
      secret = creds.beginNewSecret(deviceId);
    } catch (err) {
      this.#ctx?.log.warn({ err, deviceId }, 'could not start a plug password change');
      return;
    }
    this.#ctx?.log.info({ deviceId }, 'plug on TLS with a password seen in clear: sending it a new one');
    const remember = (counter: number) => {
      this.#newSecretCounter.set(deviceId, counter);
      return {};
    };
    this.#send(deviceId, 'mqpass', secret, remember, 0).catch((err: unknown) => {
      this.#ctx?.log.warn({ err, deviceId }, 'could not send a plug its new password');
    });
  }

  /**
   * A plug paired before the hub had TLS, or by a hub without it, connects in clear: the signed
   * `mqtts` command (docs/plug-protocol.md "MQTT over TLS") tells it the TLS port; it stores it
   * and reconnects there with the PSK of the password it already has, and the broker refuses
   * its password on cleartext from that connection on. A plug that came in with its PSK has
   * moved (`requiresTls`) and is left alone. Sent on its `online` and after a time answer (a
   * plug without a clock refuses it as stale and asks), at most every MOVE_GAP_MS.
   */
  #moveToTls(deviceId: string): void {
    const port = this.#deps.mqttsPort?.() ?? 0;
    const requiresTls = this.#deps.broker.credentials.requiresTls;
    if (port <= 0 || !requiresTls || requiresTls.call(this.#deps.broker.credentials, deviceId)) return;
    const now = this.#deps.clock.now();
    const last = this.#lastMove.get(deviceId);
    if (last !== undefined && now - last >= 0 && now - last < MOVE_GAP_MS) return;
    this.#lastMove.set(deviceId, now);
    this.#ctx?.log.info({ deviceId, port }, 'plug on cleartext MQTT: telling it to move to TLS');
    this.#send(deviceId, 'mqtts', port).catch((err: unknown) => {
      this.#ctx?.log.warn({ err, deviceId }, 'could not tell a plug to move to TLS');
    });
  }

  #remember(deviceId: string, counter: number): void {
    let list = this.#recent.get(deviceId);
    if (!list) this.#recent.set(deviceId, (list = []));
    list.push(counter);
    if (list.length > RECENT_COMMANDS) list.shift();
  }

  #ignore(deviceId: string, topic: string, reason: string): void {
    this.#ignored++;
    this.#ctx?.log.warn({ deviceId, topic, reason }, 'ignored plug message');
  }
}

/** The stored counter: the highest the hub may have used (0 for a new plug or a bad value). */
function storedCounter(config: Record<string, unknown>): number {
  const last = config.counter;
  return typeof last === 'number' && Number.isSafeInteger(last) && last >= 0 ? last : 0;
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
