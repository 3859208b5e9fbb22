/**
 * Reading the few fields of fragmented MP4 boxes (ISO 14496-12) the live view needs: whether a
 * fragment starts with a keyframe, its decode time, and the track's timescale.
 */

/** Child boxes of the box at `start` (header `headerSize` bytes) as [type, start, end]. */
export function children(buf: Buffer, start: number, end: number, headerSize: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (let at = start + headerSize; at + 8 <= end; ) {
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

/** The fragment's baseMediaDecodeTime (tfdt), in the track's timescale; undefined without one. */
export function baseDecodeTime(moof: Buffer): number | undefined {
  for (const [type, start, end] of children(moof, 0, moof.length, 8)) {
    if (type !== 'traf') continue;
    for (const [t, s] of children(moof, start, end, 8)) {
      if (t !== 'tfdt') continue;
      return moof[s + 8] === 1 ? Number(moof.readBigUInt64BE(s + 12)) : moof.readUInt32BE(s + 12);
    }
  }
  return undefined;
}

/** The first track's timescale (moov > trak > mdia > mdhd); 90 kHz, the RTP clock, if absent. */
export function trackTimescale(moov: Buffer): number {
  const find = (type: string, start: number, end: number) => children(moov, start, end, 8).find(([t]) => t === type);
  const trak = find('trak', 0, moov.length);
  const mdia = trak && find('mdia', trak[1], trak[2]);
  const mdhd = mdia && find('mdhd', mdia[1], mdia[2]);
  if (!mdhd) return 90_000;
  const at = mdhd[1] + 8 + 4 + (moov[mdhd[1] + 8] === 1 ? 16 : 8);
  return moov.readUInt32BE(at) || 90_000;
}
