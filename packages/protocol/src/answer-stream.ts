import { WINDOW } from './mux.ts';

/**
 * The extra window a live view gets when it starts, and a large response body once it passes
 * 2 × WINDOW (the hub caps a stream's window at 16 × WINDOW): half a megabyte in flight keeps a
 * 4 Mbit/s camera smooth at a 1 s round trip. Credit then goes back in batches of two WINDOWs,
 * so a 30 fps camera or a recording does not spend the relay's per-device frame rate on credit
 * frames.
 */
export const EXTRA_WINDOW = 7 * WINDOW;

export interface RemoteResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * One API request's answer as it arrives on its stream (docs/relay-protocol.md "Streams"):
 * RESPONSE (the head), DATA chunks, END. Keeps the chunks, says how much credit to send back,
 * and makes the whole answer at END. The client (client.ts) routes frames to it by stream id.
 */
export class AnswerStream {
  readonly resolve: (response: RemoteResponse) => void;
  readonly reject: (err: Error) => void;
  /** false leaves flow control to the caller (`RemoteClient.credit`). */
  readonly autoCredit: boolean;
  /** Counter of the sealed frame that carried the request (the relay names it if it drops it). */
  frame: string | null = null;
  #head: { status: number; headers: Record<string, string> } | null = null;
  readonly #chunks: Uint8Array[] = [];
  /** Body bytes received, and how many of them are not yet credited back. */
  #received = 0;
  #owed = 0;

  constructor(resolve: (response: RemoteResponse) => void, reject: (err: Error) => void, autoCredit: boolean) {
    this.resolve = resolve;
    this.reject = reject;
    this.autoCredit = autoCredit;
  }

  head(head: { status: number; headers: Record<string, string> }): void {
    this.#head = head;
  }

  /** A DATA body; returns the bytes to credit back now (0: none yet, or credit is the caller's). */
  data(body: Uint8Array): number {
    this.#chunks.push(body.slice());
    if (!this.autoCredit) return 0;
    this.#received += body.length;
    this.#owed += body.length;
    // A large body (a recording) gets a bigger window once, then credit in bigger batches:
    // fewer frames against the relay's per-device rate.
    if (this.#received > 2 * WINDOW && this.#received - body.length <= 2 * WINDOW) this.#owed += EXTRA_WINDOW;
    if (this.#owed < (this.#received > 2 * WINDOW ? 2 * WINDOW : WINDOW / 2)) return 0;
    const credit = this.#owed;
    this.#owed = 0;
    return credit;
  }

  /** At END: the whole answer, or null when no head came (the stream is then ignored, as before). */
  end(): RemoteResponse | null {
    if (!this.#head) return null;
    const body = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.#chunks) {
      body.set(c, at);
      at += c.length;
    }
    return { status: this.#head.status, headers: this.#head.headers, body };
  }
}
