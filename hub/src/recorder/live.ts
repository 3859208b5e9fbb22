/**
 * Live view without transcoding: the recording ffmpeg also writes fragmented MP4 (a second
 * output, stream copy, one fragment per frame) to a pipe; this splits it into top-level boxes,
 * keeps the init segment (ftyp + moov) and hands each moof + mdat pair to every viewer. A
 * browser appends these to a Media Source Extensions SourceBuffer as they come. A viewer gets
 * its first fragment at a keyframe (a decoder cannot start elsewhere), then every one.
 */
import { baseDecodeTime, startsWithKeyframe, trackTimescale } from './fmp4.ts';
import { HlsWindow } from './hls.ts';

export interface LiveViewer {
  /** Returns false when the viewer is too slow and should be dropped. */
  send(data: Buffer): boolean;
  close(): void;
}

export class Mp4BoxSplitter {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #onBox: (type: string, box: Buffer) => void;

  constructor(onBox: (type: string, box: Buffer) => void) {
    this.#onBox = onBox;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      if (this.#buffer.length < 8) return;
      let size = this.#buffer.readUInt32BE(0);
      if (size === 1) {
        if (this.#buffer.length < 16) return;
        size = Number(this.#buffer.readBigUInt64BE(8));
      }
      if (size < 8) throw new Error(`bad MP4 box size ${size}`);
      if (this.#buffer.length < size) return;
      const type = this.#buffer.toString('latin1', 4, 8);
      const box = this.#buffer.subarray(0, size);
      this.#buffer = this.#buffer.subarray(size);
      this.#onBox(type, box);
    }
  }
}

/** One camera's live stream: the current init segment, the viewers and the HLS window. */
export class LiveStream {
  readonly hls = new HlsWindow();
  readonly #now: () => number;
  #init: Buffer | undefined;
  #initParts: Buffer[] = [];
  #moof: Buffer | undefined;
  /** Each viewer and whether it has had a keyframe since its init segment. */
  readonly #viewers = new Map<LiveViewer, { synced: boolean }>();
  #splitter = this.#newSplitter();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  /** A new ffmpeg run: a new init segment follows (viewers get it when it is complete). */
  reset(): void {
    this.#init = undefined;
    this.#initParts = [];
    this.#moof = undefined;
    this.#splitter = this.#newSplitter();
  }

  push(chunk: Buffer): void {
    this.#splitter.push(chunk);
  }

  add(viewer: LiveViewer): () => void {
    this.#viewers.set(viewer, { synced: false });
    if (this.#init) this.#deliver(viewer, this.#init);
    return () => {
      this.#viewers.delete(viewer);
    };
  }

  closeAll(): void {
    for (const v of this.#viewers.keys()) v.close();
    this.#viewers.clear();
  }

  #newSplitter(): Mp4BoxSplitter {
    return new Mp4BoxSplitter((type, box) => {
      if (type === 'ftyp') {
        this.#initParts = [Buffer.from(box)];
        return;
      }
      if (type === 'moov') {
        this.#init = Buffer.concat([...this.#initParts, box]);
        this.hls.setInit(this.#init, trackTimescale(Buffer.from(box)));
        for (const [v, state] of this.#viewers) {
          state.synced = false;
          this.#deliver(v, this.#init);
        }
        return;
      }
      // Nobody watching: only the box boundaries are followed (the pipe must be read anyway).
      if (type === 'moof') {
        this.#moof = this.#viewers.size > 0 || this.hls.active(this.#now()) ? Buffer.from(box) : undefined;
        return;
      }
      if (type === 'mdat' && this.#moof && this.#init) {
        const key = startsWithKeyframe(this.#moof);
        const fragment = Buffer.concat([this.#moof, box]);
        if (this.hls.active(this.#now())) this.hls.push(fragment, key, baseDecodeTime(this.#moof));
        this.#moof = undefined;
        for (const [v, state] of this.#viewers) {
          if (!state.synced && !key) continue;
          state.synced = true;
          this.#deliver(v, fragment);
        }
      }
    });
  }

  #deliver(viewer: LiveViewer, data: Buffer): void {
    if (!viewer.send(data)) {
      this.#viewers.delete(viewer);
      viewer.close();
    }
  }
}
