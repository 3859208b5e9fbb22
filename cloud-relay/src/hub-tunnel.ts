import type { RawData, WebSocket } from 'ws';
import type { SignedDeviceList, StoredState } from './backplane/backplane.ts';
import { BackupUpload, backupListMessage } from './backups.ts';
import { NODE_MSG, type NodeMessage } from './node-messages.ts';
import { postPush } from './push-poster.ts';
import { sealedCounter } from '@hearth/protocol/e2e';
import { fromBase64, utf8 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { CONTEXT, hubKeyOfId, relayAuthMessage } from '@hearth/protocol/keys';
import {
  parseControl,
  readTunnelFrame,
  tunnelFrame,
  type ControlMessage,
  type DeviceListDoc,
} from '@hearth/protocol/relay-messages';
import type { NodeHost } from './node-host.ts';
import { ifUndelivered, rawBytes, rawText, refuse, sendControl, utf8Code } from './socket.ts';
import { TokenBucket } from './token-bucket.ts';
import { verifyEd25519 } from './verify.ts';

type HubHello = Extract<ControlMessage, { type: 'hello'; role: 'hub' }>;

interface SessionRoute {
  origin: string;
  session: number;
}

/** The node as a tunnel sees it: where hub tunnels are kept, and the bound on opening them. */
type TunnelHost = NodeHost & {
  readonly tunnels: Map<string, HubTunnel>;
  allowTunnelOpen(hubId: string): boolean;
};

/**
 * A hub's tunnel on this node. Device sessions (from any node) get a tunnel session id here; the
 * hub sees `open`/`close` control messages and `session id | frame` binary frames.
 */
export class HubTunnel {
  readonly hubId: string;
  readonly #node: TunnelHost;
  readonly #ws: WebSocket;
  readonly #bySession = new Map<number, SessionRoute>();
  readonly #byOrigin = new Map<string, number>();
  readonly #bucket: TokenBucket;
  readonly #pushBucket: TokenBucket;
  readonly #outBucket: TokenBucket;
  #outDropped = 0;
  #nextSession = 1;
  #closed = false;
  /** What this hub last stored through this tunnel, to write back if the store lost it. */
  #lastList: { list: SignedDeviceList; seq: number } | null = null;
  #lastState: StoredState | null = null;
  readonly #backups: BackupUpload;

  static async accept(node: TunnelHost, ws: WebSocket, challenge: Uint8Array, hello: HubHello): Promise<void> {
    const hubKey = hubKeyOfId(String(hello.hubId));
    if (!verifyEd25519(relayAuthMessage('hub', challenge, hello.hubId), hello.sig, hubKey))
      throw new ProtocolError('bad_signature', 'the challenge is not signed by this hub');
    if (!node.allowTunnelOpen(hello.hubId))
      throw new ProtocolError('too_many_tunnels', 'this hub opened too many tunnels');
    // The newest tunnel wins: the old one may be a half-dead TCP connection the hub gave up on.
    node.tunnels.get(hello.hubId)?.close('replaced');
    const tunnel = new HubTunnel(node, ws, hello.hubId);
    node.tunnels.set(hello.hubId, tunnel);
    await node.deps.backplane.claimHub(hello.hubId);
    sendControl(ws, { type: 'ready', node: node.nodeId });
    node.deps.log.info({ hub: hello.hubId, node: node.nodeId }, 'hub tunnel open');
  }

  constructor(node: TunnelHost, ws: WebSocket, hubId: string) {
    this.#node = node;
    this.#ws = ws;
    this.hubId = hubId;
    this.#backups = new BackupUpload(node.deps.backplane, node.deps.limits, hubId, node.deps.clock);
    const { hubRatePerS, hubBurst } = node.deps.limits;
    this.#bucket = new TokenBucket(hubRatePerS, hubBurst, this.#node.deps.clock.now());
    const { pushesPerHubPerMin, hubOutRatePerS, hubOutBurst } = node.deps.limits;
    this.#outBucket = new TokenBucket(hubOutRatePerS, hubOutBurst, this.#node.deps.clock.now());
    this.#pushBucket = new TokenBucket(pushesPerHubPerMin / 60, pushesPerHubPerMin, this.#node.deps.clock.now());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        if (isBinary) this.#fromHub(rawBytes(data));
        else
          void this.#control(
            parseControl(rawText(data, Math.ceil((node.deps.limits.maxStateBytes * 4) / 3) + 4096)),
          ).catch((err: unknown) => this.#fail(err));
      } catch (err) {
        this.#fail(err);
      }
    });
    ws.on('close', () => this.#onClosed());
  }

  close(code: string): void {
    refuse(this.#ws, code, this.#node.deps.clock);
    this.#onClosed();
  }

  /** Writes the hub's list and state back where the shared store lost them (or has older ones). */
  async heal(): Promise<void> {
    const { backplane, log } = this.#node.deps;
    try {
      if (this.#lastList) {
        const stored = await backplane.getDevices(this.hubId);
        if (!stored || (JSON.parse(stored.doc) as DeviceListDoc).seq < this.#lastList.seq) {
          await backplane.setDevices(this.hubId, this.#lastList.list);
          log.warn({ hub: this.hubId }, 'device list was missing from the store; written back');
        }
      }
      if (this.#lastState) {
        const stored = await backplane.getState(this.hubId);
        if (!stored || stored.storedAt < this.#lastState.storedAt)
          await backplane.setState(this.hubId, this.#lastState);
      }
    } catch {
      // The store is away: the next round tries again.
    }
  }

  /** A device node's message for this hub. */
  fromDeviceNode(m: NodeMessage): void {
    const key = `${m.origin}/${m.session}`;
    if (m.kind === NODE_MSG.OPEN) {
      if (this.#bySession.size >= this.#node.deps.limits.sessionsPerHub) {
        void this.#node.sendToNode(
          m.origin,
          NODE_MSG.CLOSE_TO_DEVICE,
          m.session,
          this.hubId,
          utf8Code('too_many_sessions'),
        );
        return;
      }
      const id = this.#nextSession++;
      this.#bySession.set(id, { origin: m.origin, session: m.session });
      this.#byOrigin.set(key, id);
      sendControl(this.#ws, { type: 'open', session: id, device: new TextDecoder().decode(m.payload) });
      return;
    }
    const id = this.#byOrigin.get(key);
    if (id === undefined) return;
    if (m.kind === NODE_MSG.CLOSE_TO_HUB) {
      this.#forget(id);
      sendControl(this.#ws, { type: 'close', session: id });
      return;
    }
    // Counted here, where every frame for this hub passes whatever node its device is on.
    if (!this.#bucket.take(this.#node.deps.clock.now())) {
      void this.#node.sendToNode(
        m.origin,
        NODE_MSG.ERROR_TO_DEVICE,
        m.session,
        this.hubId,
        utf8Code(`rate_limited:${sealedCounter(m.payload) ?? ''}`),
      );
      return;
    }
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(tunnelFrame(id, m.payload));
  }

  #fromHub(data: Uint8Array): void {
    if (data.length > this.#node.deps.limits.maxFrameBytes)
      throw new ProtocolError('frame_too_large', 'frame over the limit');
    const { session, frame } = readTunnelFrame(data);
    const route = this.#bySession.get(session);
    if (!route) return; // closed meanwhile
    if (!this.#outBucket.take(this.#node.deps.clock.now())) {
      // Told once per burst of drops, not once per frame.
      if (this.#outDropped++ === 0) sendControl(this.#ws, { type: 'error', code: 'rate_limited' });
      return;
    }
    this.#outDropped = 0;
    ifUndelivered(this.#node.sendToNode(route.origin, NODE_MSG.TO_DEVICE, route.session, this.hubId, frame), () => {
      if (!this.#bySession.has(session)) return;
      this.#forget(session);
      sendControl(this.#ws, { type: 'close', session, code: 'device_gone' });
    });
  }

  async #control(message: ControlMessage): Promise<void> {
    const { backplane, limits } = this.#node.deps;
    if (message.type === 'close') {
      const route = this.#bySession.get(Number(message.session));
      if (!route) return;
      this.#forget(Number(message.session));
      await this.#node.sendToNode(
        route.origin,
        NODE_MSG.CLOSE_TO_DEVICE,
        route.session,
        this.hubId,
        utf8Code(String(message.code ?? 'closed_by_hub')),
      );
    } else if (message.type === 'devices') {
      const doc = String(message.doc);
      if (!verifyEd25519(new Uint8Array([...CONTEXT.deviceList, ...utf8(doc)]), message.sig, hubKeyOfId(this.hubId)))
        throw new ProtocolError('bad_signature', 'device list not signed by this hub');
      const parsed = JSON.parse(doc) as DeviceListDoc;
      if (parsed.hubId !== this.hubId || !Array.isArray(parsed.keys))
        throw new ProtocolError('bad_message', 'device list of another hub');
      const current = await backplane.getDevices(this.hubId);
      // An older list replayed at the relay must not bring revoked keys back.
      if (current && (JSON.parse(current.doc) as DeviceListDoc).seq >= parsed.seq) return;
      this.#lastList = { list: { doc, sig: String(message.sig) }, seq: parsed.seq };
      await backplane.setDevices(this.hubId, this.#lastList.list);
      this.#node.deps.log.info({ hub: this.hubId, devices: parsed.keys.length }, 'device list updated');
    } else if (message.type === 'state' && typeof message.blob === 'string') {
      if (message.blob.length > Math.ceil((limits.maxStateBytes * 4) / 3))
        throw new ProtocolError('message_too_large', 'state blob over the limit');
      fromBase64(message.blob); // only checks it is base64: the relay cannot open it
      this.#lastState = { blob: message.blob, storedAt: this.#node.deps.clock.now() };
      await backplane.setState(this.hubId, this.#lastState);
    } else if (message.type === 'push') {
      this.#push(message);
    } else if (message.type === 'backup_put') {
      // The hub sends the next piece only after this answer: one piece in memory at a time.
      sendControl(this.#ws, await this.#backups.put(message));
    } else if (message.type === 'backup_list') {
      sendControl(this.#ws, backupListMessage(await backplane.listBackups(this.hubId), limits));
    } else if (message.type === 'backup_delete') {
      await this.#backups.remove(String(message.id));
      sendControl(this.#ws, backupListMessage(await backplane.listBackups(this.hubId), limits));
    } else {
      throw new ProtocolError('bad_message', `unexpected ${String(message.type)} from a hub`);
    }
  }

  /** Posts a notification the hub encrypted; answers push_result with the service's status. */
  #push(message: Extract<ControlMessage, { type: 'push' }>): void {
    const id = Number(message.id);
    const { limits, log } = this.#node.deps;
    if (!this.#pushBucket.take(this.#node.deps.clock.now())) {
      sendControl(this.#ws, { type: 'push_result', id, code: 'rate_limited' });
      return;
    }
    postPush(message, { allowLoopback: limits.pushAllowLoopback }).then(
      (status) => {
        // The origin only: the endpoint's path identifies the subscription.
        log.info({ hub: this.hubId, push: new URL(message.endpoint).origin, status }, 'push posted');
        sendControl(this.#ws, { type: 'push_result', id, status });
      },
      (err: unknown) =>
        sendControl(this.#ws, {
          type: 'push_result',
          id,
          code: err instanceof ProtocolError ? err.code : 'push_failed',
        }),
    );
  }

  #fail(err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : 'bad_message';
    this.#node.deps.log.warn({ hub: this.hubId, code }, 'hub tunnel refused a message');
    if (code === 'frame_too_large') this.close(code);
    else sendControl(this.#ws, { type: 'error', code });
  }

  #forget(session: number): void {
    const route = this.#bySession.get(session);
    if (!route) return;
    this.#bySession.delete(session);
    this.#byOrigin.delete(`${route.origin}/${route.session}`);
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, route] of this.#bySession) {
      this.#forget(id);
      void this.#node.sendToNode(
        route.origin,
        NODE_MSG.CLOSE_TO_DEVICE,
        route.session,
        this.hubId,
        utf8Code('hub_offline'),
      );
    }
    if (this.#node.tunnels.get(this.hubId) !== this) return; // replaced: the new one holds presence
    this.#node.tunnels.delete(this.hubId);
    void this.#node.deps.backplane.releaseHub(this.hubId, this.#node.deps.clock.now()).catch(() => undefined);
    this.#node.deps.log.info({ hub: this.hubId }, 'hub tunnel closed');
  }
}
