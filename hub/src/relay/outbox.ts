import { WINDOW } from '@hearth/protocol/mux';

/** One stream's queue of plaintext mux messages waiting to be sealed and sent. */
export interface OutStream {
  readonly session: number;
  readonly stream: number;
  /** Bytes the device still lets us send on this stream (its credit). */
  window: number;
  queue: { plain: Uint8Array; cost: number }[];
  queuedBytes: number;
  /** Called when the queue drained (the event stream reads this as "bufferedAmount"). */
  onDrain?: () => void;
  /** Called each time one of its messages left the queue (a streamed answer reads on). */
  onSent?: () => void;
}

export type SealAndSend = (stream: OutStream, plain: Uint8Array, written: () => void) => boolean;

/**
 * The tunnel's send scheduler: one message per ready stream in turn, each stream limited by
 * the credit its device granted, and the whole tunnel limited to `highWater` bytes handed to
 * the socket but not yet written. So a camera clip or a big CSV waiting for credit (or just
 * long) never sits in front of a toggle's answer: the toggle's stream gets the next turn.
 */
export class Outbox {
  readonly #send: SealAndSend;
  readonly #highWater: number;
  /** Streams with something queued, in turn order (a Set keeps insertion order). */
  readonly #ready = new Set<OutStream>();
  #inflight = 0;
  #pumping = false;

  constructor(send: SealAndSend, highWater = 256 * 1024) {
    this.#send = send;
    this.#highWater = highWater;
  }

  open(session: number, stream: number): OutStream {
    return { session, stream, window: WINDOW, queue: [], queuedBytes: 0 };
  }

  /** `cost` counts against the stream's window: body bytes; heads and ends cost nothing. */
  push(stream: OutStream, plain: Uint8Array, cost = 0): void {
    stream.queue.push({ plain, cost });
    stream.queuedBytes += plain.length;
    this.#ready.add(stream);
    this.#pump();
  }

  credit(stream: OutStream, bytes: number): void {
    stream.window = Math.min(stream.window + bytes, 16 * WINDOW);
    if (stream.queue.length > 0) this.#ready.add(stream);
    this.#pump();
  }

  /**
   * Takes back queued messages that spend credit (bodies) and match `which`, keeping heads and
   * ends; answers what it removed. A live view skipping ahead to a keyframe uses it.
   */
  dropBodies(stream: OutStream, which: (plain: Uint8Array) => boolean): Uint8Array[] {
    const drop = (m: { plain: Uint8Array; cost: number }) => m.cost > 0 && which(m.plain);
    const removed = stream.queue.filter(drop).map((m) => m.plain);
    if (removed.length === 0) return removed;
    stream.queue = stream.queue.filter((m) => !drop(m));
    stream.queuedBytes = stream.queue.reduce((n, m) => n + m.plain.length, 0);
    if (stream.queue.length === 0) this.#ready.delete(stream);
    return removed;
  }

  drop(stream: OutStream): void {
    stream.queue = [];
    stream.queuedBytes = 0;
    this.#ready.delete(stream);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      let progressed = true;
      while (progressed && this.#inflight < this.#highWater) {
        progressed = false;
        for (const stream of [...this.#ready]) {
          if (this.#inflight >= this.#highWater) break;
          const head = stream.queue[0];
          if (!head) {
            this.#ready.delete(stream);
            continue;
          }
          // Waits for credit; other streams keep their turns.
          if (head.cost > 0 && head.cost > stream.window) continue;
          stream.queue.shift();
          stream.queuedBytes -= head.plain.length;
          stream.window -= head.cost;
          // To the back of the line: the next turn goes to another stream.
          this.#ready.delete(stream);
          if (stream.queue.length > 0) this.#ready.add(stream);
          else stream.onDrain?.();
          const size = head.plain.length;
          this.#inflight += size;
          const sent = this.#send(stream, head.plain, () => {
            this.#inflight -= size;
            this.#pump();
          });
          if (!sent) this.#inflight -= size;
          stream.onSent?.();
          progressed = true;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
