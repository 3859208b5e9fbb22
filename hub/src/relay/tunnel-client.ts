import WebSocket from 'ws';
import { toBase64, fromBase64 } from '@hearth/protocol/encoding';
import { relayAuthMessage } from '@hearth/protocol/keys';
import { parseControl, readTunnelFrame, tunnelFrame, type ControlMessage } from '@hearth/protocol/relay-messages';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { HubIdentity } from './identity.ts';

export interface TunnelEvents {
  connected(): void;
  open(session: number, deviceKey: string): void;
  close(session: number): void;
  frame(session: number, frame: Uint8Array): void;
  disconnected(): void;
  pushResult(id: number, result: { status?: number; code?: string }): void;
  /** The relay's answers about off-site backups (offsite-backups.ts). */
  backup?(message: ControlMessage): void;
}

export interface TunnelOptions {
  urls: string[];
  identity: HubIdentity;
  log: Logger;
  events: TunnelEvents;
  /** Times the reconnect back-off, the keep-alive pings and the close grace. */
  clock: Clock;
  /** Back-off before reconnecting: random in [0, min(maxMs, baseMs * 2^failures)]. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** The jitter's source, in [0, 1) (default Math.random; tests pin it). */
  random?: () => number;
}

const PING_INTERVAL_MS = 15_000;

/**
 * The hub's one outbound tunnel to the relay. Answers the relay's challenge with the hub key,
 * then carries device sessions. When it drops it comes back with jittered exponential back-off
 * ("full jitter": a relay restart does not see every hub at the same instant), trying the next
 * relay URL each time, so a dead node is left for another one.
 */
export class TunnelClient {
  readonly #options: TunnelOptions;
  #ws: WebSocket | undefined;
  #failures = 0;
  #urlIndex = 0;
  #timer: TimerHandle | undefined;
  #ping: TimerHandle | undefined;
  #stopped = true;
  #ready = false;

  constructor(options: TunnelOptions) {
    this.#options = options;
  }

  get ready(): boolean {
    return this.#ready;
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#ping?.cancel();
    // close, not terminate: what is queued (the last state snapshot) still goes out first.
    const ws = this.#ws;
    this.#ws = undefined;
    this.#ready = false;
    if (ws) {
      ws.close(1001, 'hub stopping');
      this.#options.clock.setTimeout(() => ws.terminate(), 1000);
    }
  }

  sendControl(message: ControlMessage): void {
    if (this.#ready && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  /** false if the tunnel is down (the frame is lost with its session). */
  sendFrame(session: number, frame: Uint8Array, written: () => void): boolean {
    if (!this.#ready || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(tunnelFrame(session, frame), () => written());
    return true;
  }

  #connect(): void {
    const { urls, identity, log } = this.#options;
    const url = urls[this.#urlIndex % urls.length]!;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000, maxPayload: 4 * 1024 * 1024 });
    this.#ws = ws;
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        try {
          const { session, frame } = readTunnelFrame(new Uint8Array(data.buffer, data.byteOffset, data.length));
          this.#options.events.frame(session, frame);
        } catch {
          log.warn({ bytes: data.length }, 'unreadable tunnel frame');
        }
        return;
      }
      let message: ControlMessage;
      try {
        message = parseControl(data.toString('utf8'));
      } catch {
        return;
      }
      switch (message.type) {
        case 'challenge': {
          const sig = identity.signFast(relayAuthMessage('hub', fromBase64(message.nonce), identity.hubId));
          ws.send(
            JSON.stringify({
              type: 'hello',
              role: 'hub',
              hubId: identity.hubId,
              sig: toBase64(sig),
            } satisfies ControlMessage),
          );
          return;
        }
        case 'ready':
          this.#ready = true;
          this.#failures = 0;
          log.info({ relay: url }, 'relay tunnel up');
          this.#ping?.cancel();
          // A relay that vanished without a TCP close (network gone) is found by missing pongs.
          this.#ping = this.#options.clock.setInterval(() => {
            if (!alive) return ws.terminate();
            alive = false;
            ws.ping();
          }, PING_INTERVAL_MS);
          this.#options.events.connected();
          return;
        case 'open':
          this.#options.events.open(Number(message.session), String(message.device));
          return;
        case 'close':
          this.#options.events.close(Number(message.session));
          return;
        case 'error':
          log.warn({ relay: url, code: message.code }, 'relay refused');
          return;
        case 'push_result':
          this.#options.events.pushResult(Number(message.id), {
            ...(message.status !== undefined ? { status: message.status } : {}),
            ...(message.code !== undefined ? { code: message.code } : {}),
          });
          return;
        case 'backup_ack':
        case 'backup_refused':
        case 'backup_list':
          this.#options.events.backup?.(message);
          return;
        default:
          return;
      }
    });
    ws.on('error', (err) => log.debug({ err: err.message, relay: url }, 'relay connection error'));
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      const wasReady = this.#ready;
      this.#ready = false;
      this.#ping?.cancel();
      if (wasReady) {
        log.warn({ relay: url }, 'relay tunnel down');
        this.#options.events.disconnected();
      }
      if (this.#stopped) return;
      this.#failures += 1;
      this.#urlIndex += 1;
      const { backoffBaseMs = 500, backoffMaxMs = 30_000, random = Math.random } = this.#options;
      const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(this.#failures - 1, 16));
      this.#timer = this.#options.clock.setTimeout(() => this.#connect(), random() * ceiling);
    });
  }
}
