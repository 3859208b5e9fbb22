import type { RawData, WebSocket } from 'ws';
import { backupListMessage, sendBackup } from './backups.ts';
import { NODE_MSG, type NodeMessage } from './node-messages.ts';
import { sealedCounter } from '@hearth/protocol/e2e';
import { keyFromBase64, toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { CONTEXT, hubKeyOfId, relayAuthMessage } from '@hearth/protocol/keys';
import { parseControl, type ControlMessage, type DeviceListDoc } from '@hearth/protocol/relay-messages';
import type { NodeHost } from './node-host.ts';
import { ifUndelivered, rawBytes, rawText, refuse, sendControl } from './socket.ts';
import { TokenBucket } from './token-bucket.ts';
import { verifyEd25519 } from './verify.ts';

type DeviceHello = Extract<ControlMessage, { type: 'hello'; role: 'device' }>;

/** The node as a device connection sees it: its sessions, and where their ids come from. */
type DeviceHost = NodeHost & {
  readonly devices: Map<number, DeviceConnection>;
  newSessionId(): number;
};

/**
 * A remote device's connection: admitted only if its key signed the challenge and is on its
 * hub's signed list; then each binary frame goes to the node holding the hub's tunnel.
 */
export class DeviceConnection {
  readonly #node: DeviceHost;
  readonly #ws: WebSocket;
  readonly #hubId: string;
  readonly #session: number;
  readonly #bucket: TokenBucket;
  #hubNode: string | null;
  #closed = false;
  /** Whether the hub's signed list names this key as an owner's (off-site backups). */
  readonly #owner: boolean;
  #sendingBackup = false;

  static async accept(node: DeviceHost, ws: WebSocket, challenge: Uint8Array, hello: DeviceHello): Promise<void> {
    const hubId = String(hello.hubId);
    const hubKey = hubKeyOfId(hubId);
    const key = keyFromBase64(hello.key, 32);
    if (!verifyEd25519(relayAuthMessage('device', challenge, hubId), hello.sig, key))
      throw new ProtocolError('bad_signature', 'the challenge is not signed by this key');
    const { backplane } = node.deps;
    const list = await backplane.getDevices(hubId);
    // The list is checked against the hub's key here too: whoever can write to the shared store
    // still cannot let a device in.
    if (
      !list ||
      !verifyEd25519(new Uint8Array([...CONTEXT.deviceList, ...new TextEncoder().encode(list.doc)]), list.sig, hubKey)
    ) {
      throw new ProtocolError('device_not_enrolled', 'this key is not enrolled with that hub');
    }
    const doc = JSON.parse(list.doc) as DeviceListDoc & { revoked?: string[] };
    const keyB64 = toBase64(key);
    if (!doc.keys.includes(keyB64)) {
      throw new ProtocolError(
        doc.revoked?.includes(keyB64) ? 'device_revoked' : 'device_not_enrolled',
        'this key may not reach that hub',
      );
    }
    const presence = await backplane.locateHub(hubId);
    const connection = new DeviceConnection(
      node,
      ws,
      hubId,
      presence.node,
      Array.isArray(doc.owners) && doc.owners.includes(keyB64),
    );
    if (presence.node) {
      const delivered = await node.sendToNode(
        presence.node,
        NODE_MSG.OPEN,
        connection.#session,
        hubId,
        new TextEncoder().encode(keyB64),
      );
      if (!delivered) connection.#hubNode = null;
    }
    sendControl(
      ws,
      connection.#hubNode
        ? { type: 'ready', hubOnline: true }
        : { type: 'ready', hubOnline: false, offlineSince: presence.offlineSince },
    );
  }

  constructor(node: DeviceHost, ws: WebSocket, hubId: string, hubNode: string | null, owner = false) {
    this.#owner = owner;
    this.#node = node;
    this.#ws = ws;
    this.#hubId = hubId;
    this.#hubNode = hubNode;
    this.#session = node.newSessionId();
    const { deviceRatePerS, deviceBurst } = node.deps.limits;
    this.#bucket = new TokenBucket(deviceRatePerS, deviceBurst, this.#node.deps.clock.now());
    node.devices.set(this.#session, this);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        if (isBinary) this.#fromDevice(rawBytes(data));
        else void this.#control(parseControl(rawText(data))).catch((err: unknown) => this.#fail(err));
      } catch (err) {
        this.#fail(err);
      }
    });
    ws.on('close', () => this.#onClosed());
  }

  /** The hub node's message for this device. */
  fromHubNode(m: NodeMessage): void {
    if (m.kind === NODE_MSG.TO_DEVICE) {
      if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(m.payload);
    } else if (m.kind === NODE_MSG.ERROR_TO_DEVICE) {
      // "code" or "code:counter" (the frame the hub's node refused)
      const [code = 'refused', frame] = new TextDecoder().decode(m.payload).split(':');
      sendControl(this.#ws, { type: 'error', code, ...(frame ? { frame } : {}) });
    } else if (m.kind === NODE_MSG.CLOSE_TO_DEVICE) {
      this.#hubNode = null;
      this.#closed = true;
      this.#node.devices.delete(this.#session);
      refuse(this.#ws, new TextDecoder().decode(m.payload) || 'closed_by_hub', this.#node.deps.clock);
    }
  }

  #fromDevice(frame: Uint8Array): void {
    if (frame.length > this.#node.deps.limits.maxFrameBytes)
      throw new ProtocolError('frame_too_large', 'frame over the limit');
    if (!this.#bucket.take(this.#node.deps.clock.now())) return this.#refuseFrame('rate_limited', frame);
    const hubNode = this.#hubNode;
    if (!hubNode) return this.#refuseFrame('hub_offline', frame);
    ifUndelivered(this.#node.sendToNode(hubNode, NODE_MSG.TO_HUB, this.#session, this.#hubId, frame), () => {
      if (this.#hubNode !== hubNode) return;
      // The node holding the hub's tunnel is gone, and this session with it: the device
      // reconnects and finds the hub wherever its tunnel is now.
      this.#hubNode = null;
      this.#closed = true;
      this.#node.devices.delete(this.#session);
      refuse(this.#ws, 'hub_offline', this.#node.deps.clock);
    });
  }

  /** Drops one frame and says which (its counter), so the device fails just that request. */
  #refuseFrame(code: string, frame: Uint8Array): void {
    const counter = sealedCounter(frame);
    sendControl(this.#ws, { type: 'error', code, ...(counter ? { frame: counter } : {}) });
  }

  async #control(message: ControlMessage): Promise<void> {
    if (message.type === 'backup_list' || message.type === 'backup_get') return this.#backup(message);
    if (message.type !== 'get_state')
      throw new ProtocolError('bad_message', `unexpected ${String(message.type)} from a device`);
    const { backplane } = this.#node.deps;
    const [state, presence] = await Promise.all([backplane.getState(this.#hubId), backplane.locateHub(this.#hubId)]);
    sendControl(this.#ws, {
      type: 'state',
      blob: state?.blob ?? null,
      storedAt: state?.storedAt ?? null,
      hubOnline: presence.node !== null,
      offlineSince: presence.offlineSince,
    });
  }

  /**
   * The home's off-site backups, for an owner's device only (the hub marks owners' keys in its
   * signed list, so whoever writes to the shared store cannot make a key an owner's). Works with
   * the hub offline: that is when a new hub needs them. One download at a time per connection.
   */
  async #backup(message: Extract<ControlMessage, { type: 'backup_list' } | { type: 'backup_get' }>): Promise<void> {
    if (!this.#owner) throw new ProtocolError('not_owner', "only the owner's devices may fetch the home's backups");
    // Counted like the device's frames: a stolen phone cannot make the node read Redis in a loop.
    if (!this.#bucket.take(this.#node.deps.clock.now()))
      throw new ProtocolError('rate_limited', 'too many backup requests');
    const { backplane, limits } = this.#node.deps;
    if (message.type === 'backup_list') {
      sendControl(this.#ws, backupListMessage(await backplane.listBackups(this.#hubId), limits));
      return;
    }
    if (this.#sendingBackup) throw new ProtocolError('rate_limited', 'one backup at a time');
    this.#sendingBackup = true;
    try {
      await sendBackup(this.#ws, backplane, this.#hubId, String(message.id));
    } finally {
      this.#sendingBackup = false;
    }
  }

  #fail(err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : 'bad_message';
    if (code === 'frame_too_large') {
      this.#node.deps.log.warn({ hub: this.#hubId, code }, 'device connection refused a frame');
      refuse(this.#ws, code, this.#node.deps.clock);
    } else {
      sendControl(this.#ws, { type: 'error', code });
    }
  }

  #onClosed(): void {
    this.#node.devices.delete(this.#session);
    if (this.#closed) return;
    this.#closed = true;
    if (this.#hubNode) void this.#node.sendToNode(this.#hubNode, NODE_MSG.CLOSE_TO_HUB, this.#session, this.#hubId);
  }
}
