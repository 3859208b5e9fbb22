import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { TimerHandle } from './clock.ts';
import { DeviceConnection } from './device-connection.ts';
import { HubTunnel } from './hub-tunnel.ts';
import type { NodeHost, RelayNodeDeps } from './node-host.ts';
import { NODE_MSG, decodeNodeMessage, encodeNodeMessage, type NodeMessage, type NodeMsgKind } from './node-messages.ts';
import { toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { parseControl } from '@hearth/protocol/relay-messages';
import { rawText, refuse, sendControl, utf8Code } from './socket.ts';
import { TokenBucket } from './token-bucket.ts';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 30_000;
/** How often each tunnel checks the shared store still holds its hub's list and state. */
const HEAL_INTERVAL_MS = 10_000;

/**
 * One relay node: accepts hub tunnels and device connections on one WebSocket port, checks each
 * peer's signature on a fresh challenge before anything else, and routes end-to-end frames
 * between a device and its hub's tunnel, through the backplane when they are on different nodes.
 * It never holds a key that opens a frame.
 */
export class RelayNode implements NodeHost {
  readonly deps: RelayNodeDeps;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  /** Hubs whose tunnel is open on this node. */
  readonly tunnels = new Map<string, HubTunnel>();
  /** Device connections on this node, by the session id this node gave them. */
  readonly devices = new Map<number, DeviceConnection>();
  readonly #tunnelOpens = new Map<string, TokenBucket>();
  #nextSession = 1;
  #ping: TimerHandle | undefined;
  #heal: TimerHandle | undefined;

  constructor(deps: RelayNodeDeps) {
    this.deps = deps;
    this.#server = createServer((req, res) => {
      // For the load balancer's health check; counts only, nothing about any home.
      if (req.method === 'GET' && req.url === '/health') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ status: 'ok', node: this.nodeId, hubs: this.tunnels.size, devices: this.devices.size }),
          );
        return;
      }
      if (deps.webApp?.handle(req, res)) return;
      res
        .writeHead(426, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'upgrade_required' } }));
    });
    this.#wss = new WebSocketServer({
      server: this.#server,
      // Twice the limit: a frame between the two gets a clear `frame_too_large`; beyond it ws
      // closes with 1009 before buffering more.
      // The state blob (base64 in a control message) may be larger than a frame.
      maxPayload: Math.max(deps.limits.maxFrameBytes * 2, Math.ceil((deps.limits.maxStateBytes * 4) / 3)) + 4096,
      perMessageDeflate: false,
    });
    this.#wss.on('connection', (ws) => this.#onConnection(ws));
  }

  get nodeId(): string {
    return this.deps.backplane.nodeId;
  }

  async listen(port: number, host: string): Promise<number> {
    this.deps.backplane.onPresenceLost = (hubId) => {
      const tunnel = this.tunnels.get(hubId);
      if (!tunnel) return;
      this.deps.log.info({ hub: hubId }, 'hub moved to another node; closing its tunnel here');
      tunnel.close('replaced');
    };
    await this.deps.backplane.start((message) => this.#onNodeMessage(message));
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    // Dead peers (a hub whose network vanished) never send a TCP close: pings find them.
    this.#ping = this.deps.clock.setInterval(() => {
      for (const ws of this.#wss.clients) {
        const tagged = ws as WebSocket & { hearthAlive?: boolean };
        if (tagged.hearthAlive === false) {
          ws.terminate();
          continue;
        }
        tagged.hearthAlive = false;
        ws.ping();
      }
    }, PING_INTERVAL_MS);
    // A Redis failover can lose the last writes (replication is asynchronous): the node holding a
    // tunnel writes its hub's last list and state back if they went missing.
    this.#heal = this.deps.clock.setInterval(() => {
      for (const tunnel of this.tunnels.values()) void tunnel.heal();
    }, HEAL_INTERVAL_MS);
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#ping?.cancel();
    this.#heal?.cancel();
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const hubId of this.tunnels.keys())
      await this.deps.backplane.releaseHub(hubId, this.deps.clock.now()).catch(() => undefined);
    await this.deps.backplane.stop();
  }

  newSessionId(): number {
    const id = this.#nextSession;
    this.#nextSession = this.#nextSession >= 0xffff_fff0 ? 1 : this.#nextSession + 1;
    return id;
  }

  /**
   * Sends to a node. Messages for this node are handled at once, with no encoding and no
   * backplane (a hub and its device on one node is the common case, and the only one in
   * single-node mode); another node's go through the backplane and resolve false when nobody
   * listens there (that node died).
   */
  sendToNode(
    node: string,
    kind: NodeMsgKind,
    session: number,
    hubId: string,
    payload: Uint8Array = EMPTY,
  ): true | Promise<boolean> {
    if (node === this.nodeId) {
      this.#dispatch({ kind, session, origin: this.nodeId, hubId, payload });
      return true;
    }
    return this.deps.backplane
      .send(node, encodeNodeMessage({ kind, session, origin: this.nodeId, hubId, payload }))
      .catch((err: unknown) => {
        this.deps.log.warn({ err, node }, 'backplane send failed');
        return false;
      });
  }

  /** A new tunnel of `hubId` may open (per-minute bucket). */
  allowTunnelOpen(hubId: string): boolean {
    const { tunnelsPerHubPerMin } = this.deps.limits;
    let bucket = this.#tunnelOpens.get(hubId);
    if (!bucket) {
      bucket = new TokenBucket(tunnelsPerHubPerMin / 60, tunnelsPerHubPerMin, this.deps.clock.now());
      this.#tunnelOpens.set(hubId, bucket);
    }
    return bucket.take(this.deps.clock.now());
  }

  #onConnection(ws: WebSocket): void {
    (ws as WebSocket & { hearthAlive?: boolean }).hearthAlive = true;
    ws.on('pong', () => {
      (ws as WebSocket & { hearthAlive?: boolean }).hearthAlive = true;
    });
    ws.on('error', () => ws.terminate());
    const challenge = randomBytes(32);
    sendControl(ws, { type: 'challenge', nonce: toBase64(challenge) });
    const timer = this.deps.clock.setTimeout(
      () => refuse(ws, 'handshake_timeout', this.deps.clock),
      HANDSHAKE_TIMEOUT_MS,
    );
    ws.once('message', (data: RawData, isBinary: boolean) => {
      timer.cancel();
      void this.#onHello(ws, challenge, data, isBinary).catch((err: unknown) => {
        const code = err instanceof ProtocolError ? err.code : 'internal_error';
        if (code === 'internal_error') this.deps.log.error({ err }, 'handshake failed');
        refuse(ws, code, this.deps.clock);
      });
    });
  }

  async #onHello(ws: WebSocket, challenge: Uint8Array, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) throw new ProtocolError('bad_message', 'the first message is the hello');
    const hello = parseControl(rawText(data));
    if (hello.type !== 'hello') throw new ProtocolError('bad_message', 'the first message is the hello');
    if (hello.role === 'hub') {
      await HubTunnel.accept(this, ws, challenge, hello);
    } else if (hello.role === 'device') {
      await DeviceConnection.accept(this, ws, challenge, hello);
    } else {
      throw new ProtocolError('bad_message', 'role must be hub or device');
    }
  }

  #onNodeMessage(data: Uint8Array): void {
    let m: NodeMessage;
    try {
      m = decodeNodeMessage(data);
    } catch {
      this.deps.log.warn({ bytes: data.length }, 'dropped an unreadable backplane message');
      return;
    }
    this.#dispatch(m);
  }

  #dispatch(m: NodeMessage): void {
    switch (m.kind) {
      case NODE_MSG.OPEN:
      case NODE_MSG.TO_HUB:
      case NODE_MSG.CLOSE_TO_HUB: {
        const tunnel = this.tunnels.get(m.hubId);
        if (tunnel) tunnel.fromDeviceNode(m);
        else if (m.kind !== NODE_MSG.CLOSE_TO_HUB)
          void this.sendToNode(m.origin, NODE_MSG.CLOSE_TO_DEVICE, m.session, m.hubId, utf8Code('hub_offline'));
        return;
      }
      default:
        this.devices.get(m.session)?.fromHubNode(m);
    }
  }
}

const EMPTY = new Uint8Array(0);
