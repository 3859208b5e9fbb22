import type { ErrorCode } from '@hearth/model/errors';
import type { Actor, StateValue } from '@hearth/model/values';
import type { Clock } from '../../core/clock.ts';
import { HubError, isHubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { DeviceView } from '../../devices/views.ts';
import type { CreateDeviceInput } from '../../devices/registry.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import type { DiscoveredPlug } from './discovery.ts';
import { plugError, plugRequest } from './plug-http.ts';
import { confirmEqual, finishHubPake, startHubPake, type HubPake, type PakeKeys } from './pake.ts';
import {
  b64,
  claimAnswerConfirm,
  fromB64,
  helloQuery,
  parseHello,
  PROTOCOL_VERSION,
  readSetupCode,
  sealClaim as seal,
  type ClaimBody,
  type HelloAnswer,
} from './protocol.ts';

/** What `POST /api/v1/plugs/:id/pair` carries. */
export interface PairRequest {
  plugId: string;
  setupCode: string;
  name: string;
  roomId?: string | null;
}

/** The capabilities every Hearth plug has (plug-protocol.md "MQTT"). */
export const PLUG_CAPABILITIES = ['switch', 'power', 'voltage', 'current', 'energy'];

export interface PairingDeps {
  directory: { get(id: string): DiscoveredPlug | undefined };
  registry: {
    create(
      input: CreateDeviceInput,
      actor: Actor,
      provision?: (row: DeviceRow) => Promise<void>,
    ): Promise<{ device: DeviceView }>;
  };
  credentials: {
    createDeviceCredential(deviceId: string): { username: string; password: string };
    revokeDevice(deviceId: string): void;
  };
  /** Hub-internal MQTT subscription (handed the retained messages first, like a client's). */
  subscribe(owner: string, filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
  hubSignPublicKey: Uint8Array;
  /** The broker's TCP port, as the plug should dial it. */
  mqttPort(): number;
  /**
   * The broker's TLS port (0 or absent: no TLS). With it the plug dials TLS with the PSK of the
   * password it gets here (docs/plug-protocol.md "MQTT over TLS") and never cleartext.
   */
  mqttsPort?(): number;
  /** Broker host for the plug; default: the hub's address on the connection to the plug. */
  mqttHost?: string;
  clock: Clock;
  log: Logger;
  /** One HTTP exchange with the plug. */
  httpTimeoutMs: number;
  /** From the claim until the plug's retained `online` (it connects to Wi-Fi, then MQTT). */
  onlineTimeoutMs: number;
  /** The plug driver learns which device ids are being paired (it refuses plug devices made otherwise). */
  expect(plugId: string): () => void;
  audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void;
}

export type PairStepId =
  | 'find_plug'
  | 'read_code'
  | 'hello'
  | 'derive_keys'
  | 'listen'
  | 'create_credentials'
  | 'seal_claim'
  | 'send_claim'
  | 'wait_online';

/** Everything one pairing learns on the way; each step reads what earlier ones left. */
export interface PairingState {
  request: PairRequest;
  /** Steps that completed, in order. */
  trace: PairStepId[];
  plug?: DiscoveredPlug;
  code?: string;
  /** The hub's side of the PAKE session (sid, share, scalar). */
  pake?: HubPake;
  hello?: HelloAnswer;
  /** What the session gave: the confirmations and the claim's key. */
  keys?: PakeKeys;
  /** The hub's address as the plug sees it (the local end of the hello connection). */
  hubAddress?: string;
  credentials?: { username: string; password: string };
  claim?: ClaimBody;
  /** Ends the subscription to the plug's topics. */
  unlisten?: () => void;
  /** Set once the claim is on its way: earlier messages (a stale retained status) do not count. */
  armed: boolean;
  online: boolean;
  onOnline?: () => void;
  /** The last state the plug published while pairing, reported once the device exists. */
  lastState: Record<string, StateValue>;
}

export interface PairStep {
  id: PairStepId;
  run(state: PairingState, deps: PairingDeps): Promise<void> | void;
}

const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>): never => {
  throw new HubError(code, message, details);
};

// ---- before the device exists -----------------------------------------------------------

/** The plug must be on the LAN now (mDNS) and unclaimed. */
export const findPlug: PairStep = {
  id: 'find_plug',
  run(state, deps) {
    const plug = deps.directory.get(state.request.plugId);
    if (!plug)
      return fail('plug_not_found', `plug ${state.request.plugId} is not on the network (or not advertising)`, {
        plugId: state.request.plugId,
      });
    if (plug.claimed)
      return fail('already_claimed', `plug ${plug.id} is paired already; reset it to pair it again`, {
        plugId: plug.id,
      });
    if (plug.protocolVersion !== PROTOCOL_VERSION) return versionMismatch(plug.id, plug.protocolVersion);
    state.plug = plug;
  },
};

/** The plug pairs with another protocol version: one of the two needs an update, and says which. */
function versionMismatch(plugId: string, plugVersion: unknown): never {
  const older = typeof plugVersion === 'number' && plugVersion > PROTOCOL_VERSION ? 'the hub' : "the plug's firmware";
  return fail(
    'pairing_version_mismatch',
    `plug ${plugId} pairs with protocol ${String(plugVersion)}, this hub with ${PROTOCOL_VERSION}: update ${older}`,
    { plugId, plugVersion, hubVersion: PROTOCOL_VERSION },
  );
}

/** The 8 digits, typed or from the QR text. */
export const readCode: PairStep = {
  id: 'read_code',
  run(state) {
    state.code = readSetupCode(state.request.setupCode, state.request.plugId);
  },
};

/**
 * `GET /pair/hello?pv=2&sid=…&share=…`: the hub's CPace share goes out, the plug's share and box
 * key come back. Nothing in either lets anyone test a code offline (docs/plug-protocol.md).
 */
export const hello: PairStep = {
  id: 'hello',
  async run(state, deps) {
    const plug = state.plug!;
    state.pake = startHubPake(state.code!, plug.id);
    const res = await plugRequest(plug, 'GET', `/pair/hello?${helloQuery(state.pake)}`, undefined, deps.httpTimeoutMs);
    if (res.status === 409) return fail('already_claimed', `plug ${plug.id} is paired already`, { plugId: plug.id });
    // The plug answers hello only in its pairing window, opened at the plug (plug-protocol.md):
    // the person must press its button (or power it up) and try again.
    if (res.status === 403)
      return fail(
        'plug_not_in_pairing_mode',
        `plug ${plug.id} is not in pairing mode: press the button on the plug, then pair within 10 minutes`,
        { plugId: plug.id },
      );
    if (res.status === 429)
      return fail(
        'pairing_rate_limited',
        `plug ${plug.id} had too many pairing requests this minute; try again in a minute`,
        { plugId: plug.id },
      );
    if (res.status === 400 && plugError(res.body) === 'unsupported_version')
      return versionMismatch(plug.id, (res.body as { pv?: unknown }).pv);
    if (res.status !== 200)
      return fail('plug_protocol_error', `plug answered hello with ${res.status} ${plugError(res.body) ?? ''}`.trim(), {
        status: res.status,
      });
    const answer = parseHello(res.body);
    if (!answer) return fail('plug_protocol_error', 'plug answered hello with a malformed body');
    if (answer.id !== plug.id)
      return fail(
        'plug_protocol_error',
        `plug at ${plug.address}:${plug.port} says it is ${answer.id}, not ${plug.id}`,
      );
    if (answer.claimed) return fail('already_claimed', `plug ${plug.id} is paired already`, { plugId: plug.id });
    if (answer.pv !== PROTOCOL_VERSION) return versionMismatch(plug.id, answer.pv);
    state.hello = answer;
    state.hubAddress = res.localAddress;
  },
};

/**
 * The session's keys from the plug's share. Whether the codes matched is not known yet: only the
 * plug can tell, by checking the hub's confirmation in the claim (one guess per session).
 */
export const deriveKeys: PairStep = {
  id: 'derive_keys',
  run(state) {
    const h = state.hello!;
    const keys = finishHubPake(state.pake!, fromB64(h.share, 32)!, fromB64(h.boxPublicKey, 32)!);
    if (!keys) return fail('plug_protocol_error', 'plug answered hello with an invalid PAKE share', { plugId: h.id });
    state.keys = keys;
  },
};

// ---- with the device row stored, not yet live (registry.create's provision) ---------------

/** Watches the plug's topics from before the claim; a retained status seen now is stale. */
export const listen: PairStep = {
  id: 'listen',
  async run(state, deps) {
    const id = state.request.plugId;
    state.unlisten = deps.subscribe(`pairing:${id}`, `hearth/${id}/+`, (topic, payload) => {
      if (!state.armed) return;
      const kind = topic.slice(topic.lastIndexOf('/') + 1);
      const text = payload.toString('utf8');
      if (kind === 'status' && text.trim() === 'online') {
        state.online = true;
        state.onOnline?.();
      } else if (kind === 'state') {
        try {
          const value = JSON.parse(text) as Record<string, unknown>;
          if (typeof value.switch === 'boolean') state.lastState.switch = value.switch;
        } catch {
          // the driver logs malformed messages once the device is live
        }
      }
    });
    // Retained messages are handed over in a microtask after subscribing (broker
    // internal-subscriptions.ts); after the next macrotask only live ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    state.armed = true;
  },
};

export const createCredentials: PairStep = {
  id: 'create_credentials',
  run(state, deps) {
    state.credentials = deps.credentials.createDeviceCredential(state.request.plugId);
  },
};

/** The claim plaintext, sealed to the plug's box key with a fresh ephemeral key pair. */
export const sealClaim: PairStep = {
  id: 'seal_claim',
  run(state, deps) {
    const h = state.hello!;
    const host = deps.mqttHost ?? state.hubAddress;
    if (!host) return fail('plug_unreachable', 'the hub does not know its own address towards the plug');
    state.claim = seal(
      {
        deviceId: h.id,
        mqtt: {
          host,
          port: deps.mqttPort(),
          ...tlsPort(deps),
          username: state.credentials!.username,
          password: state.credentials!.password,
        },
        hubSignPublicKey: b64(deps.hubSignPublicKey),
        counter: 0,
      },
      state.pake!.sid,
      state.keys!,
    );
  },
};

function tlsPort(deps: PairingDeps): { tlsPort?: number } {
  const port = deps.mqttsPort?.() ?? 0;
  return port > 0 ? { tlsPort: port } : {};
}

/** Plug answers to `POST /pair/claim`, each mapped to one hub error code. */
const CLAIM_ERRORS: Record<number, ErrorCode> = {
  400: 'plug_protocol_error',
  403: 'pairing_wrong_code',
  409: 'already_claimed',
  410: 'pairing_timeout',
  429: 'pairing_locked',
};

export const sendClaim: PairStep = {
  id: 'send_claim',
  async run(state, deps) {
    const plug = state.plug!;
    const res = await plugRequest(plug, 'POST', '/pair/claim', state.claim, deps.httpTimeoutMs);
    if (res.status === 200) {
      // The plug's confirmation proves it ran this session with the same code; whatever
      // answers without it (an impostor that took the hello) gets no device and no credentials.
      const confirm = claimAnswerConfirm(res.body);
      if (confirm && confirmEqual(confirm, state.keys!.plugConfirm)) return;
      return fail('pairing_wrong_code', `plug ${plug.id} accepted the claim without proving it has the code`, {
        plugId: plug.id,
        reason: 'plug_confirm',
      });
    }
    const code = CLAIM_ERRORS[res.status] ?? 'plug_protocol_error';
    fail(code, `plug refused the claim: ${res.status} ${plugError(res.body) ?? ''}`.trim(), {
      status: res.status,
      plugError: plugError(res.body),
    });
  },
};

/** The plug proves it took the credentials by connecting with them: its retained `online`. */
export const waitOnline: PairStep = {
  id: 'wait_online',
  async run(state, deps) {
    if (state.online) return;
    await new Promise<void>((resolve, reject) => {
      const timer = deps.clock.setTimeout(() => {
        state.onOnline = undefined;
        reject(
          new HubError(
            'pairing_timeout',
            `plug ${state.request.plugId} did not come online within ${deps.onlineTimeoutMs} ms`,
            { timeoutMs: deps.onlineTimeoutMs },
          ),
        );
      }, deps.onlineTimeoutMs);
      state.onOnline = () => {
        timer.cancel();
        state.onOnline = undefined;
        resolve();
      };
    });
  },
};

/** Before the device row exists: nothing to undo if one fails. */
export const PREPARE_STEPS: readonly PairStep[] = [findPlug, readCode, hello, deriveKeys];
/** Inside `registry.create`: a failure revokes the credentials and the row is removed. */
export const PROVISION_STEPS: readonly PairStep[] = [listen, createCredentials, sealClaim, sendClaim, waitOnline];

async function runSteps(steps: readonly PairStep[], state: PairingState, deps: PairingDeps): Promise<void> {
  for (const step of steps) {
    try {
      await step.run(state, deps);
    } catch (err) {
      // Every failure says which step it came from; library errors become internal_error.
      const e = isHubError(err)
        ? err
        : new HubError('internal_error', `pairing step ${step.id} failed: ${(err as Error).message}`, undefined, {
            cause: err,
          });
      throw new HubError(e.code, e.message, { ...e.details, step: step.id }, { cause: err });
    }
    state.trace.push(step.id);
  }
}

export interface PairingResult {
  device: DeviceView;
  trace: PairStepId[];
  /** What the plug said while pairing (the driver reports it once the device is live). */
  lastState: Record<string, StateValue>;
}

/**
 * Pairs one plug: the named steps above, in order. The device row exists only while the
 * provisioning steps run and stays only if all succeed; on any failure after credentials were
 * made they are revoked (the broker drops a connection using them at once): nothing half-paired.
 */
export async function pairPlug(request: PairRequest, actor: Actor, deps: PairingDeps): Promise<PairingResult> {
  const state: PairingState = { request, trace: [], armed: false, online: false, lastState: {} };
  const done = deps.expect(request.plugId);
  try {
    await runSteps(PREPARE_STEPS, state, deps);
    const plug = state.plug!;
    const { device } = await deps.registry.create(
      {
        id: plug.id,
        name: request.name,
        roomId: request.roomId ?? null,
        driver: 'plug',
        model: state.hello?.model ?? plug.model,
        capabilities: PLUG_CAPABILITIES, // `pairing` marks a row whose pairing has not finished: a hub that dies mid-pairing
        // removes it at the next start (PlugService.recover).
        config: { counter: 0, firmware: state.hello?.fw ?? plug.firmware, pairing: true },
      },
      actor,
      async () => {
        try {
          await runSteps(PROVISION_STEPS, state, deps);
        } catch (err) {
          if (state.credentials) deps.credentials.revokeDevice(request.plugId);
          throw err;
        }
      },
    );
    return { device, trace: state.trace, lastState: state.lastState };
  } catch (err) {
    const e = isHubError(err) ? err : new HubError('internal_error', (err as Error).message, undefined, { cause: err });
    deps.log.warn({ plugId: request.plugId, code: e.code, step: e.details?.step }, 'plug pairing failed');
    deps.audit(actor, 'plug.pair_failed', request.plugId, { code: e.code, step: e.details?.step ?? null });
    throw e;
  } finally {
    state.unlisten?.();
    done();
  }
}
