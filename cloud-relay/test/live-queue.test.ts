import { describe, expect, it } from 'vitest';
import { RemoteLiveViewer, remoteLiveStats, type LiveSink } from '../../hub/src/relay/remote-live.ts';
import {
  CHUNK,
  MEDIA_FLAG,
  MUX,
  MediaAssembler,
  decodeMux,
  encodeMedia,
  type MediaMessage,
} from '@hearth/protocol/mux';

/** An MP4 box: size, type, body. */
function box(type: string, ...body: Uint8Array[]): Buffer {
  const size = 8 + body.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...body]);
}

/** A moof + mdat whose first sample is (or is not) a sync sample, per tfhd's default flags. */
function fragment(key: boolean, payload: number): Buffer {
  const tfhd = Buffer.alloc(12);
  tfhd.writeUInt32BE(0x000020, 0); // version 0, default-sample-flags present
  tfhd.writeUInt32BE(1, 4); // track_ID
  tfhd.writeUInt32BE(key ? 0 : 0x10000, 8); // sample_is_non_sync_sample
  const trun = Buffer.alloc(8);
  trun.writeUInt32BE(0, 0);
  trun.writeUInt32BE(1, 4);
  return Buffer.concat([
    box('moof', box('traf', box('tfhd', tfhd), box('trun', trun))),
    box('mdat', Buffer.alloc(payload, key ? 1 : 2)),
  ]);
}

const init = Buffer.concat([box('ftyp', Buffer.from('isom')), box('moov', Buffer.alloc(40))]);

/** A tunnel stream that never gets credit: everything pushed stays queued. */
function stuckSink(): LiveSink & { queue: Uint8Array[] } {
  const queue: Uint8Array[] = [];
  return {
    stream: 1,
    queue,
    start: () => {},
    push: (frame) => {
      queue.push(frame);
    },
    queuedBytes: () => queue.reduce((n, f) => n + f.length, 0),
    dropQueued: (which) => {
      const removed = queue.filter(which);
      const kept = queue.filter((f) => !which(f));
      queue.splice(0, queue.length, ...kept);
      return removed;
    },
    end: () => {},
    fail: () => {},
  };
}

function reassemble(frames: Uint8Array[]): MediaMessage[] {
  const assembler = new MediaAssembler();
  const out: MediaMessage[] = [];
  for (const frame of frames) {
    const message = decodeMux(frame);
    expect(message.kind).toBe(MUX.MEDIA);
    const done = assembler.push(message.body);
    if (done) out.push(done);
  }
  return out;
}

describe('remote live view queue (hub side) and MEDIA framing', () => {
  it('splits a message into chunks of at most CHUNK bytes and puts it back together', () => {
    const data = fragment(true, 3 * CHUNK + 5);
    const frames = encodeMedia(7, data, MEDIA_FLAG.KEY);
    expect(frames).toHaveLength(4);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(5 + 1 + CHUNK);
    const [message] = reassemble(frames);
    expect(Buffer.from(message!.data).equals(data)).toBe(true);
    expect(message).toMatchObject({ init: false, key: true });
  });

  it('an unfinished message is dropped when the next one starts', () => {
    const cut = encodeMedia(1, Buffer.alloc(2 * CHUNK, 9), 0).slice(0, 1);
    const whole = encodeMedia(1, init, MEDIA_FLAG.INIT);
    const out = reassemble([...cut, ...whole]);
    expect(out).toHaveLength(1);
    expect(out[0]!.init).toBe(true);
  });

  it('without credit the queue never exceeds the limit; it drops to the next keyframe, which replaces stale video', () => {
    const limit = 64 * 1024;
    const sink = stuckSink();
    const viewer = new RemoteLiveViewer(sink, limit);
    const droppedBefore = remoteLiveStats.fragmentsDropped;
    viewer.send(init);
    let max = 0;
    // 10 s of a 10 fps camera with a keyframe every second: 8 KB keyframes, 3 KB others.
    for (let i = 0; i < 100; i++) {
      viewer.send(i % 10 === 0 ? fragment(true, 8000) : fragment(false, 3000));
      max = Math.max(max, sink.queuedBytes());
    }
    expect(max).toBeLessThanOrEqual(limit);
    expect(remoteLiveStats.fragmentsDropped - droppedBefore).toBeGreaterThan(50);
    // What is queued: the init segment, then whole fragments from a keyframe on.
    const messages = reassemble(sink.queue);
    expect(messages[0]!.init).toBe(true);
    expect(messages[1]!.key).toBe(true);
    expect(messages.length).toBeGreaterThan(2);
  });

  it('a new init segment (the camera reconnected) replaces everything queued and waits for a keyframe', () => {
    const sink = stuckSink();
    const viewer = new RemoteLiveViewer(sink, 64 * 1024);
    viewer.send(init);
    viewer.send(fragment(true, 1000));
    viewer.send(fragment(false, 1000));
    viewer.send(init);
    viewer.send(fragment(false, 1000));
    viewer.send(fragment(true, 1000));
    const messages = reassemble(sink.queue);
    expect(messages.map((m) => (m.init ? 'init' : m.key ? 'key' : 'delta'))).toEqual(['init', 'key']);
  });
});
