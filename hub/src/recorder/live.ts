/**
 * Live view without transcoding: the recording ffmpeg also writes fragmented MP4 (a second
 * output, stream copy, one fragment per frame) to a pipe; this splits it into top-level boxes,
 * keeps the init segment (ftyp + moov) and hands each moof + mdat pair to every viewer. A
 * browser appends these to a Media Source Extensions SourceBuffer as they come. A viewer gets
 * its first fragment at a keyframe (a decoder cannot start elsewhere), then every one.
 */
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

/** One camera's live stream: the current init segment and the viewers. */
export class LiveStream {
  #init: Buffer | undefined;
  #initParts: Buffer[] = [];
  #moof: Buffer | undefined;
  /** Each viewer and whether it has had a keyframe since its init segment. */
  readonly #viewers = new Map<LiveViewer, { synced: boolean }>();
  #splitter = this.#newSplitter();

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
    return () => { this.#viewers.delete(viewer); };
  }

  closeAll(): void {
    for (const v of this.#viewers.keys()) v.close();
    this.#viewers.clear();
  }

  #newSplitter(): Mp4BoxSplitter {
    return new Mp4BoxSplitter((type, box) => {
      if (type === 'ftyp') { this.#initParts = [Buffer.from(box)]; return; }
      if (type === 'moov') {
        this.#init = Buffer.concat([...this.#initParts, box]);
        for (const [v, state] of this.#viewers) {
          state.synced = false;
          this.#deliver(v, this.#init);
        }
        return;
      }
      // Nobody watching: only the box boundaries are followed (the pipe must be read anyway).
      if (type === 'moof') { this.#moof = this.#viewers.size > 0 ? Buffer.from(box) : undefined; return; }
      if (type === 'mdat' && this.#moof && this.#init) {
        const key = startsWithKeyframe(this.#moof);
        const fragment = Buffer.concat([this.#moof, box]);
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

/** Child boxes of the box at `start` (header `headerSize` bytes) as [type, start, end]. */
function children(buf: Buffer, start: number, end: number, headerSize: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (let at = start + headerSize; at + 8 <= end;) {
    const size = buf.readUInt32BE(at);
    if (size < 8 || at + size > end) break;
    out.push([buf.toString('latin1', at + 4, at + 8), at, at + size]);
    at += size;
  }
  return out;
}

/**
 * Whether a movie fragment's first sample is a sync sample (a keyframe), from its track run's
 * first-sample flags, the first sample's own flags or the fragment's default flags (ISO 14496-12
 * 8.8.7, 8.8.8; bit 16 of the flags is sample_is_non_sync_sample). A fragment that says nothing
 * counts as a keyframe: better a viewer that starts at once than one that never does.
 */
export function startsWithKeyframe(moof: Buffer): boolean {
  for (const [type, start, end] of children(moof, 0, moof.length, 8)) {
    if (type !== 'traf') continue;
    let defaultFlags: number | undefined;
    for (const [t, s] of children(moof, start, end, 8)) {
      const flags = moof.readUInt32BE(s + 8) & 0xffffff;
      if (t === 'tfhd') {
        let at = s + 16; // header, version/flags, track_ID
        if (flags & 0x01) at += 8; // base_data_offset
        if (flags & 0x02) at += 4; // sample_description_index
        if (flags & 0x08) at += 4; // default_sample_duration
        if (flags & 0x10) at += 4; // default_sample_size
        if (flags & 0x20) defaultFlags = moof.readUInt32BE(at);
      } else if (t === 'trun') {
        let at = s + 16; // header, version/flags, sample_count
        if (flags & 0x01) at += 4; // data_offset
        let first: number | undefined;
        if (flags & 0x04) first = moof.readUInt32BE(at);
        else if (flags & 0x400) {
          const sampleAt = at + (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0);
          first = moof.readUInt32BE(sampleAt);
        }
        const sampleFlags = first ?? defaultFlags;
        return sampleFlags === undefined || ((sampleFlags >> 16) & 1) === 0;
      }
    }
  }
  return true;
}
