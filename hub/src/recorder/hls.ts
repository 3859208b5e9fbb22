/**
 * HLS for browsers without Media Source Extensions (Safari on older iPhones): the live fMP4
 * fragments regrouped, in memory, into HLS media segments of one GOP each (keyframe to
 * keyframe), with the init segment as EXT-X-MAP. No second camera connection, no ffmpeg of its
 * own, no decode, nothing on disk. The window is kept only while someone asked for it in the
 * last `IDLE_MS` (about two GOPs of fragments otherwise cost nothing).
 */
export const HLS_WINDOW = 6;
const IDLE_MS = 60_000;

interface HlsSegment {
  sequence: number;
  durationS: number;
  data: Buffer;
}

export class HlsWindow {
  #init: Buffer | undefined;
  #timescale = 90_000;
  #segments: HlsSegment[] = [];
  #building: { parts: Buffer[]; startTime: number } | undefined;
  #nextSequence = 0;
  #activeUntil = 0;
  #waiters = new Set<() => void>();

  /** Someone wants HLS: keep building the window for a while. */
  touch(now: number): void {
    this.#activeUntil = now + IDLE_MS;
  }

  active(now: number): boolean {
    if (now <= this.#activeUntil) return true;
    // Idle: drop what was kept, so an idle camera holds no video in memory.
    this.#segments = [];
    this.#building = undefined;
    return false;
  }

  /** A new ffmpeg run: a new init segment; what was built belongs to the old one. */
  setInit(init: Buffer, timescale: number): void {
    this.#init = init;
    this.#timescale = timescale;
    this.#segments = [];
    this.#building = undefined;
  }

  push(fragment: Buffer, keyframe: boolean, decodeTime: number | undefined): void {
    if (keyframe && decodeTime !== undefined) {
      if (this.#building) this.#close(decodeTime);
      this.#building = { parts: [], startTime: decodeTime };
    }
    this.#building?.parts.push(fragment);
  }

  get init(): Buffer | undefined {
    return this.#init;
  }

  segment(sequence: number): Buffer | undefined {
    return this.#segments.find((s) => s.sequence === sequence)?.data;
  }

  /** Resolves once the window holds `count` segments, or after `timeoutMs` (false). */
  async ready(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#segments.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
    return true;
  }

  /** The live playlist (segment URIs `seg-N.m4s`, relative to the playlist's own URL). */
  playlist(): string {
    const target = Math.max(1, ...this.#segments.map((s) => Math.ceil(s.durationS)));
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      `#EXT-X-TARGETDURATION:${target}`,
      `#EXT-X-MEDIA-SEQUENCE:${this.#segments[0]?.sequence ?? this.#nextSequence}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="init.mp4"',
    ];
    for (const s of this.#segments) lines.push(`#EXTINF:${s.durationS.toFixed(3)},`, `seg-${s.sequence}.m4s`);
    return `${lines.join('\n')}\n`;
  }

  #close(endTime: number): void {
    const building = this.#building!;
    this.#segments.push({
      sequence: this.#nextSequence++,
      durationS: (endTime - building.startTime) / this.#timescale,
      data: Buffer.concat(building.parts),
    });
    if (this.#segments.length > HLS_WINDOW) this.#segments.shift();
    for (const wake of [...this.#waiters]) wake();
  }
}
