import { CHUNK } from '@hearth/protocol/mux';
import type { StreamedResponse } from './remote-requests.ts';

/**
 * One remote request's answer, streamed into its tunnel stream under the device's flow control
 * (docs/relay-protocol.md "Streams"). The body is read from the route only while this stream has
 * less than `ANSWER_QUEUE_BYTES` queued; beyond that the route waits (a playback's file stream
 * pauses), so a long download costs the hub a bounded amount of memory however slowly the device
 * takes it. What one session's answers hold altogether (queued, and written by routes but not
 * read yet: an answer built in memory arrives whole) is bounded by `SESSION_ANSWER_BYTES`, and
 * all sessions' together by `HUB_ANSWER_BYTES` (the relay limits sessions per hub, but the hub
 * does not rely on the relay): an answer that would go beyond either is refused with `remote_bytes_exceeded` (HTTP 413 before
 * its head, an ERROR frame after it) and its bytes are let go at once.
 */

/** Bytes of one answer queued for the tunnel before the hub stops reading the route's body. */
export const ANSWER_QUEUE_BYTES = 256 * 1024;
/** Bytes one session's answers may hold at once (8 MiB) unless config `remote.sessionAnswerBytes` says otherwise. */
export const SESSION_ANSWER_BYTES = 8 * 1024 * 1024;
/** Bytes all remote answers together may hold (64 MiB: eight sessions at their bound) unless config `remote.answerBytes` says otherwise. */
export const HUB_ANSWER_BYTES = 64 * 1024 * 1024;

/** The two bounds an answer is held to (tests give smaller ones). */
export interface AnswerLimits {
  session: number;
  hub: number;
}

/** Figures for `/metrics`: remote answers since the hub started. */
export const remoteAnswerStats = {
  answers: 0,
  bodyBytes: 0,
  refused: 0,
  /** The most bytes one session's answers held at once (the bound's figure; never far above it). */
  heldBytesMax: 0,
};

/** Answers streaming now, in every session: `/metrics` sums what they hold. */
const streaming = new Set<RemoteAnswer>();

/** Bytes all remote answers hold right now. */
export function remoteAnswersHeld(): number {
  let n = 0;
  for (const answer of streaming) n += answer.held();
  return n;
}

/** The tunnel stream an answer writes to (RemoteSession provides it). */
export interface AnswerSink {
  head(status: number, headers: Record<string, string>): void;
  /** One DATA frame's body (at most CHUNK bytes); spends the stream's credit. */
  data(bytes: Uint8Array): void;
  end(): void;
  /** Ends the stream with an ERROR frame, dropping what is still queued. */
  fail(code: string): void;
  queuedBytes(): number;
}

export class RemoteAnswer {
  readonly #response: StreamedResponse;
  readonly #sink: AnswerSink;
  /** What the session's answers hold altogether, this one included. */
  readonly #sessionHeld: () => number;
  readonly #limits: AnswerLimits;
  /** Read from the route, not queued yet (the rest of a read larger than a frame). */
  #pending: Buffer | null = null;
  #ended = false;
  #done = false;
  onDone: () => void = () => {};

  constructor(
    response: StreamedResponse,
    sink: AnswerSink,
    sessionHeld: () => number,
    limits: Partial<AnswerLimits> = {},
  ) {
    this.#response = response;
    this.#sink = sink;
    this.#sessionHeld = sessionHeld;
    this.#limits = { session: limits.session ?? SESSION_ANSWER_BYTES, hub: limits.hub ?? HUB_ANSWER_BYTES };
  }

  /** Bytes this answer holds: queued for the tunnel, read and not queued, written and not read. */
  held(): number {
    if (this.#done) return 0;
    return this.#sink.queuedBytes() + (this.#pending?.length ?? 0) + this.#response.body.readableLength;
  }

  start(): void {
    remoteAnswerStats.answers++;
    streaming.add(this);
    const { body } = this.#response;
    // An answer built in memory is already written whole when its head arrives.
    if (this.#over()) {
      this.#refuse();
      return;
    }
    this.#sink.head(this.#response.status, this.#response.headers);
    body.on('readable', () => this.pump());
    body.on('end', () => {
      this.#ended = true;
      this.pump();
    });
    body.on('close', () => {
      // Closed without its end: the route's stream failed midway.
      if (!this.#ended && !this.#done) this.#fail('internal_error');
    });
    this.pump();
  }

  /** Moves the body on while this stream has room: on new data, and each time a frame left. */
  pump(): void {
    if (this.#done) return;
    const { body } = this.#response;
    while (this.#sink.queuedBytes() < ANSWER_QUEUE_BYTES) {
      if (!this.#pending || this.#pending.length === 0) {
        const chunk = body.read() as Buffer | null;
        if (chunk === null) break;
        this.#pending = chunk;
        // Only the answer that grew is refused, not one that merely shares the session.
        if (this.#over()) return this.#fail('remote_bytes_exceeded');
      }
      const piece = this.#pending.subarray(0, CHUNK);
      this.#pending = this.#pending.length > CHUNK ? this.#pending.subarray(CHUNK) : null;
      remoteAnswerStats.bodyBytes += piece.length;
      this.#sink.data(piece);
    }
    if (this.#ended && !this.#pending && body.readableLength === 0) {
      this.#done = true;
      streaming.delete(this);
      this.#sink.end();
      this.onDone();
    }
  }

  /** The device cancelled or the session ended: the route stops, nothing more is read. */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    streaming.delete(this);
    this.#pending = null;
    this.#response.cancel();
    this.onDone();
  }

  #over(): boolean {
    const held = this.#sessionHeld();
    remoteAnswerStats.heldBytesMax = Math.max(remoteAnswerStats.heldBytesMax, held);
    return held > this.#limits.session || remoteAnswersHeld() > this.#limits.hub;
  }

  /** Before the head: an ordinary API error answer, which the UI and CLI show like any other. */
  #refuse(): void {
    remoteAnswerStats.refused++;
    this.stop();
    this.#sink.head(413, { 'content-type': 'application/json; charset=utf-8' });
    this.#sink.data(
      new TextEncoder().encode(
        JSON.stringify({
          error: {
            code: 'remote_bytes_exceeded',
            message: 'this answer is too large to hold for a remote device; fetch it on the home network',
          },
        }),
      ),
    );
    this.#sink.end();
  }

  #fail(code: string): void {
    if (code === 'remote_bytes_exceeded') remoteAnswerStats.refused++;
    this.stop();
    this.#sink.fail(code);
  }
}
