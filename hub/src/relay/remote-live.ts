import { MEDIA_FLAG, encodeMedia } from '@hearth/protocol/mux';
import type { AuthService } from '../auth/service.ts';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { isHubError } from '../core/errors.ts';
import { hasRole } from '../devices/access.ts';
import type { Sharing } from '../devices/sharing.ts';
import { startsWithKeyframe } from '../recorder/fmp4.ts';
import type { LiveViewer } from '../recorder/live.ts';
import type { RecorderService } from '../recorder/service.ts';
import type { RemoteDevice } from './remote-devices.ts';

/**
 * A camera's live view through the relay (docs/relay-protocol.md "Live view"): the same fMP4
 * messages as the LAN's `/api/v1/cameras/:id/live` WebSocket (init segment, then one moof + mdat
 * per frame), as MEDIA frames on a tunnel stream that spend the stream's credit.
 *
 * A phone on a slow link grants credit slower than the camera makes video. The hub never queues
 * more than `LIVE_QUEUE_LIMIT` bytes for one live stream: a fragment that does not fit is dropped
 * and so is every fragment after it up to the next keyframe (a decoder cannot resume elsewhere);
 * a keyframe that does not fit replaces what is still queued (stale video). So a live view costs
 * the hub at most that much memory, whatever the device does, and the Outbox's turns keep it from
 * delaying any other stream of the session.
 */

/**
 * Bytes one live stream may have queued unless the config says otherwise (`remote.liveQueueBytes`,
 * env HEARTH_RELAY_LIVE_QUEUE_BYTES): 1 MiB, a few seconds of a 2-4 Mbit/s camera. Tests lower it.
 */
export const LIVE_QUEUE_LIMIT = 1024 * 1024;

/** Figures for `/metrics`: live streams through the relay since the hub started. */
export const remoteLiveStats = {
  streamsStarted: 0,
  fragmentsQueued: 0,
  fragmentsDropped: 0,
  /** The most bytes any one live stream had queued at once (never above the limit). */
  queuedBytesMax: 0,
};

/** The tunnel stream a live view writes to (RemoteSession provides it). */
export interface LiveSink {
  /** The hub accepted the view: its head (a RESPONSE) goes out. */
  start(): void;
  /** Queues MEDIA frames; each spends its body's length of credit. */
  push(frame: Uint8Array): void;
  queuedBytes(): number;
  /** Takes back queued MEDIA frames for which `which` answers true; answers them. */
  dropQueued(which: (plain: Uint8Array) => boolean): Uint8Array[];
  /** The camera's stream stopped (END). */
  end(): void;
  /** Refused or failed with a code (ERROR). */
  fail(code: string): void;
  stream: number;
}

/** Flags of a queued MEDIA frame: `kind (1) | stream (4) | flags (1) | bytes`. */
const flagsOf = (plain: Uint8Array) => plain[5] ?? 0;

/** A LiveStream viewer that writes into a tunnel stream within LIVE_QUEUE_LIMIT bytes. */
export class RemoteLiveViewer implements LiveViewer {
  readonly #sink: LiveSink;
  readonly #limit: number;
  /** Dropping until the next keyframe. */
  #skipping = false;
  #closed = false;
  onClose: () => void = () => {};

  constructor(sink: LiveSink, limit = LIVE_QUEUE_LIMIT) {
    this.#sink = sink;
    this.#limit = limit;
  }

  send(data: Buffer): boolean {
    if (this.#closed) return true;
    const init = data.length >= 8 && data.toString('latin1', 4, 8) === 'ftyp';
    const key = !init && startsWithKeyframe(data.subarray(0, Math.min(data.length, data.readUInt32BE(0))));
    const frames = encodeMedia(this.#sink.stream, data, init ? MEDIA_FLAG.INIT : key ? MEDIA_FLAG.KEY : 0);
    const size = frames.reduce((n, f) => n + f.length, 0);
    if (init) {
      // A new ffmpeg run: everything queued belongs to the old one.
      this.#dropQueued(() => true);
      this.#skipping = true;
    } else if (this.#skipping && !key) {
      remoteLiveStats.fragmentsDropped++;
      return true;
    } else if (this.#sink.queuedBytes() + size > this.#limit) {
      if (!key) {
        remoteLiveStats.fragmentsDropped++;
        this.#skipping = true;
        return true;
      }
      // A keyframe that does not fit: what is queued is older video, the keyframe replaces it.
      this.#dropQueued((plain) => (flagsOf(plain) & MEDIA_FLAG.INIT) === 0);
    }
    if (this.#sink.queuedBytes() + size > this.#limit) {
      // Only a single message larger than the whole limit gets here.
      remoteLiveStats.fragmentsDropped++;
      this.#skipping = true;
      return true;
    }
    for (const frame of frames) this.#sink.push(frame);
    if (!init) {
      this.#skipping = false;
      remoteLiveStats.fragmentsQueued++;
    }
    remoteLiveStats.queuedBytesMax = Math.max(remoteLiveStats.queuedBytesMax, this.#sink.queuedBytes());
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink.end();
    this.onClose();
  }

  #dropQueued(which: (plain: Uint8Array) => boolean): void {
    const removed = this.#sink.dropQueued(which);
    // Fragments whose first chunk was still queued, and one whose head had already gone out.
    let fragments = removed.filter(
      (p) => (flagsOf(p) & (MEDIA_FLAG.FIRST | MEDIA_FLAG.INIT)) === MEDIA_FLAG.FIRST,
    ).length;
    if (removed.length > 0 && !(flagsOf(removed[0]!) & MEDIA_FLAG.FIRST) && !(flagsOf(removed[0]!) & MEDIA_FLAG.INIT))
      fragments++;
    remoteLiveStats.fragmentsDropped += fragments;
  }
}

export interface RemoteLiveDeps {
  auth: AuthService;
  bus: EventBus;
  clock: Clock;
  recorder: RecorderService | undefined;
  /** Who reaches which camera (devices/sharing.ts): a guest watches only cameras shared with them. */
  sharing?: Pick<Sharing, 'sees'> | undefined;
  /** `remote.liveQueueBytes` from the config (default LIVE_QUEUE_LIMIT). */
  liveQueueBytes?: number | undefined;
}

/**
 * Starts a remote live view after the same checks as the LAN route: a valid access token
 * (`unauthorized`, `token_expired`), of the device's own user (`remote_user_mismatch`), of a
 * member or above or a guest the camera is shared with (else `camera_not_found`), a known camera and
 * stream (`camera_not_found`, `validation_failed`). Like the LAN socket it ends when the token
 * expires (`token_expired`) and when the user's sessions are ended (removed, re-roled, password
 * reset: `unauthorized`). Returns its stop function.
 */
export function watchRemote(
  deps: RemoteLiveDeps,
  device: RemoteDevice,
  body: { camera?: unknown; stream?: unknown; token?: unknown },
  sink: LiveSink,
): () => void {
  let unwatch: () => void = () => {};
  let expiry: { cancel(): void } | null = null;
  let unlisten: () => void = () => {};
  // An invite key's stand-in may only redeem its invite.
  if ((device as { invite?: unknown }).invite) return refuse(sink, 'invite_only');
  try {
    const { actor, expiresAt } = deps.auth.inspectAccess(typeof body.token === 'string' ? body.token : '');
    if (actor.token) return refuse(sink, 'local_only'); // keys for scripts: home network only
    if (actor.userId !== device.userId) return refuse(sink, 'remote_user_mismatch');
    if (!deps.recorder) return refuse(sink, 'not_ready');
    const stream = body.stream ?? 'main';
    if (typeof body.camera !== 'string' || (stream !== 'main' && stream !== 'sub'))
      return refuse(sink, 'validation_failed');
    // A guest reaches only cameras shared with them, as on the LAN: the others do not exist.
    const cameraId = body.camera;
    const reaches = () =>
      deps.sharing ? deps.sharing.sees(actor, { kind: 'camera', id: cameraId }) : hasRole(actor, 'member');
    if (!reaches()) return refuse(sink, 'camera_not_found');
    // The head goes before the first frame (the init segment may come from inside watch()), and
    // only once watch() accepted the camera: a refusal is an ERROR instead of a head.
    let started = false;
    const startOnce = () => {
      if (started) return;
      started = true;
      sink.start();
    };
    const viewer = new RemoteLiveViewer(
      {
        ...sink,
        push: (frame) => {
          startOnce();
          sink.push(frame);
        },
      },
      deps.liveQueueBytes ?? LIVE_QUEUE_LIMIT,
    );
    unwatch = deps.recorder.watch(body.camera, viewer, stream);
    startOnce();
    remoteLiveStats.streamsStarted++;
    const stop = (code: string) => {
      unwatch();
      expiry?.cancel();
      unlisten();
      sink.fail(code);
    };
    expiry = deps.clock.setTimeout(() => stop('token_expired'), Math.max(0, expiresAt - deps.clock.now()));
    const unlistenSessions = deps.bus.on('relay.live', 'user.sessions_ended', (ended) => {
      if (ended.userId === actor.userId) stop('unauthorized');
    });
    // The guest's share of this camera ended (its time, its window, or removed): the view ends.
    const unlistenShare = deps.bus.on('relay.live', 'share.changed', (changed) => {
      if (changed.userId === actor.userId && !reaches()) stop('camera_not_found');
    });
    unlisten = () => {
      unlistenSessions();
      unlistenShare();
    };
    viewer.onClose = () => {
      expiry?.cancel();
      unlisten();
    };
  } catch (err) {
    return refuse(sink, isHubError(err) ? err.code : 'internal_error');
  }
  return () => {
    expiry?.cancel();
    unlisten();
    unwatch();
  };
}

function refuse(sink: LiveSink, code: string): () => void {
  sink.fail(code);
  return () => {};
}
