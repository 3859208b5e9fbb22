import { type E2eSession, FRAME_HELLO, readHello } from '@hearth/protocol/e2e';
import { ProtocolError } from '@hearth/protocol/errors';
import { MUX, creditOf, decodeMux, encodeMux, encodeMuxJson, muxJson } from '@hearth/protocol/mux';
import type { Logger } from '../core/logger.ts';
import type { HubIdentity } from './identity.ts';
import type { Outbox, OutStream } from './outbox.ts';
import type { RemoteDevice } from './remote-devices.ts';
import type { LiveSink } from './remote-live.ts';
import { RemoteAnswer, type AnswerLimits } from './remote-answer.ts';
import type { RemoteRequest, StreamedResponse } from './remote-requests.ts';

/** Streams one device may have open at once; more answer `too_many_streams`. */
const MAX_STREAMS = 32;

export interface RemoteSessionDeps {
  identity: HubIdentity;
  /** The enrolled device (or open invite) a public key belongs to; the hub trusts only its own lists. */
  identify(publicKey: Uint8Array): RemoteDevice | null;
  outbox: Outbox;
  log: Logger;
  /** Sends an unsealed frame (the WELCOME) on this session. */
  sendRaw(frame: Uint8Array): void;
  /** Asks the relay to end this session with a code. */
  close(code: string): void;
  /** Runs a request; resolves at its answer's head, the body streams (remote-answer.ts). */
  run(device: RemoteDevice, request: RemoteRequest): Promise<StreamedResponse>;
  /** Starts an event subscription; returns its stop function. */
  subscribe(device: RemoteDevice, token: string, out: EventSink): () => void;
  /** Bytes this session's answers, and all sessions' together, may hold (remote-answer.ts defaults). */
  answerLimits?: Partial<AnswerLimits>;
  /** Starts a camera's live view (remote-live.ts); returns its stop function. */
  live?(device: RemoteDevice, body: Record<string, unknown>, sink: LiveSink): () => void;
}

/** Where an event subscription writes. */
export interface EventSink {
  event(json: string): void;
  fail(code: string): void;
  queuedBytes(): number;
}

/**
 * One device's end-to-end session through the tunnel: the handshake (only an enrolled key gets a
 * WELCOME), then its streams: API requests run through the same routes as on the LAN, and event
 * subscriptions. Everything it sends goes through the tunnel's Outbox.
 */
export class RemoteSession {
  readonly id: number;
  readonly #deps: RemoteSessionDeps;
  #device: RemoteDevice | null = null;
  #e2e: E2eSession | null = null;
  readonly #streams = new Map<number, { out: OutStream; stop?: () => void }>();
  /** Answers still streaming: together they may hold at most SESSION_ANSWER_BYTES. */
  readonly #answers = new Set<RemoteAnswer>();
  #closed = false;

  constructor(id: number, deps: RemoteSessionDeps) {
    this.id = id;
    this.#deps = deps;
  }

  get device(): RemoteDevice | null {
    return this.#device;
  }

  onFrame(frame: Uint8Array): void {
    if (this.#closed) return;
    try {
      if (!this.#e2e) return this.#handshake(frame);
      this.#onMessage(this.#e2e.open(frame));
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : 'internal_error';
      this.#deps.log.warn({ session: this.id, code }, 'remote session closed on a bad frame');
      this.close(code);
    }
  }

  /** Seals for this session: called by the Outbox when it is this stream's turn. */
  seal(plain: Uint8Array): Uint8Array {
    if (!this.#e2e) throw new Error('no session key yet');
    return this.#e2e.seal(plain);
  }

  close(code: string): void {
    if (this.#closed) return;
    this.ended();
    this.#deps.close(code);
  }

  /** The relay closed it (device gone, tunnel down): stop every stream. */
  ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { out, stop } of this.#streams.values()) {
      stop?.();
      this.#deps.outbox.drop(out);
    }
    this.#streams.clear();
  }

  #handshake(frame: Uint8Array): void {
    if (frame[0] !== FRAME_HELLO) throw new ProtocolError('e2e_bad_frame', 'expected a hello');
    const { identity } = this.#deps;
    const hello = readHello(frame, identity.sign.publicKey);
    // The relay checked the key too, but the hub trusts only its own list.
    const device = this.#deps.identify(hello.devicePublic);
    if (!device) throw new ProtocolError('device_not_enrolled', 'this key is not enrolled');
    const { welcome, session } = hello.accept(identity.sign, identity.signFast);
    this.#device = device;
    this.#e2e = session;
    this.#deps.sendRaw(welcome);
  }

  #onMessage(plain: Uint8Array): void {
    const message = decodeMux(plain);
    const existing = this.#streams.get(message.stream);
    switch (message.kind) {
      case MUX.CREDIT:
        if (existing) this.#deps.outbox.credit(existing.out, creditOf(message.body));
        return;
      case MUX.CANCEL:
        if (existing) this.#endStream(message.stream);
        return;
      case MUX.REQUEST:
      case MUX.SUBSCRIBE:
      case MUX.LIVE: {
        if (existing) throw new ProtocolError('mux_bad_frame', 'stream id in use');
        const out = this.#deps.outbox.open(this.id, message.stream);
        const entry: { out: OutStream; stop?: () => void } = { out };
        if (this.#streams.size >= MAX_STREAMS) {
          this.#deps.outbox.push(out, encodeMuxJson(MUX.ERROR, message.stream, { code: 'too_many_streams' }));
          return;
        }
        this.#streams.set(message.stream, entry);
        if (message.kind === MUX.REQUEST) this.#request(message.stream, entry, muxJson<RemoteRequest>(message.body));
        else if (message.kind === MUX.SUBSCRIBE)
          entry.stop = this.#subscribe(message.stream, out, muxJson<{ token?: unknown }>(message.body));
        else entry.stop = this.#live(message.stream, out, muxJson(message.body));
        return;
      }
      default:
        throw new ProtocolError('mux_bad_frame', 'not a device-to-hub frame');
    }
  }

  #request(stream: number, entry: { out: OutStream; stop?: () => void }, request: RemoteRequest): void {
    const { outbox } = this.#deps;
    const { out } = entry;
    void this.#deps.run(this.#device!, request).then(
      (response) => {
        // Cancelled (or the session ended) while the route ran: its answer is not wanted.
        if (this.#streams.get(stream) !== entry) return response.cancel();
        const answer = new RemoteAnswer(
          response,
          {
            head: (status, headers) => outbox.push(out, encodeMuxJson(MUX.RESPONSE, stream, { status, headers })),
            data: (bytes) => outbox.push(out, encodeMux(MUX.DATA, stream, bytes), bytes.length),
            end: () => {
              outbox.push(out, encodeMux(MUX.END, stream));
              this.#forgetWhenSent(stream, out);
            },
            fail: (code) => {
              outbox.dropBodies(out, () => true);
              outbox.push(out, encodeMuxJson(MUX.ERROR, stream, { code }));
              this.#forgetWhenSent(stream, out);
            },
            queuedBytes: () => out.queuedBytes,
          },
          () => this.#answersHeld(),
          this.#deps.answerLimits,
        );
        this.#answers.add(answer);
        answer.onDone = () => {
          this.#answers.delete(answer);
          out.onSent = undefined;
        };
        entry.stop = () => answer.stop();
        out.onSent = () => answer.pump();
        answer.start();
      },
      (err: unknown) => {
        if (!this.#streams.has(stream)) return;
        const code = err instanceof ProtocolError ? err.code : 'internal_error';
        if (code === 'internal_error') this.#deps.log.error({ err }, 'remote request failed');
        outbox.push(out, encodeMuxJson(MUX.ERROR, stream, { code }));
        this.#forgetWhenSent(stream, out);
      },
    );
  }

  #subscribe(stream: number, out: OutStream, body: { token?: unknown }): () => void {
    const { outbox } = this.#deps;
    const sink: EventSink = {
      event: (json) => {
        const bytes = new TextEncoder().encode(json);
        outbox.push(out, encodeMux(MUX.EVENT, stream, bytes), bytes.length);
      },
      fail: (code) => {
        outbox.push(out, encodeMuxJson(MUX.ERROR, stream, { code }));
        this.#streams.delete(stream);
      },
      queuedBytes: () => out.queuedBytes,
    };
    return this.#deps.subscribe(this.#device!, typeof body.token === 'string' ? body.token : '', sink);
  }

  #live(stream: number, out: OutStream, body: Record<string, unknown>): () => void {
    const { outbox } = this.#deps;
    const sink: LiveSink = {
      stream,
      start: () =>
        outbox.push(
          out,
          encodeMuxJson(MUX.RESPONSE, stream, { status: 200, headers: { 'content-type': 'video/mp4' } }),
        ),
      push: (frame) => outbox.push(out, frame, frame.length - 5),
      queuedBytes: () => out.queuedBytes,
      dropQueued: (which) => outbox.dropBodies(out, which),
      end: () => {
        outbox.push(out, encodeMux(MUX.END, stream));
        this.#forgetWhenSent(stream, out);
      },
      fail: (code) => {
        outbox.push(out, encodeMuxJson(MUX.ERROR, stream, { code }));
        this.#forgetWhenSent(stream, out);
      },
    };
    if (!this.#deps.live) {
      sink.fail('not_ready');
      return () => {};
    }
    return this.#deps.live(this.#device!, body, sink);
  }

  #answersHeld(): number {
    let n = 0;
    for (const answer of this.#answers) n += answer.held();
    return n;
  }

  /** The stream stays known (its credits count) until its last message left the Outbox. */
  #forgetWhenSent(stream: number, out: OutStream): void {
    if (out.queue.length === 0) this.#streams.delete(stream);
    else out.onDrain = () => this.#streams.delete(stream);
  }

  #endStream(stream: number): void {
    const entry = this.#streams.get(stream);
    if (!entry) return;
    this.#streams.delete(stream);
    entry.stop?.();
    this.#deps.outbox.drop(entry.out);
  }
}
