/**
 * Where a camera's files live under DATA/recordings/<camera>/:
 *   YYYY-MM-DD/<run>-NNNNN.mp4   closed, indexed segments, by the UTC day they started
 *   incoming/<run>-NNNNN.mp4     what ffmpeg is writing (moved to its day once indexed)
 *   exports/                     playback files (never footage)
 *   <run>-NNNNN.mp4              segments of hubs before day directories (their rows keep the path)
 * A directory of a few hundred thousand files makes every lookup in it slow on an SD card; a
 * day holds ~21,600 segments of 4 s.
 */
export const INCOMING_DIR = 'incoming';
export const EXPORTS_DIR = 'exports';

const DAY_NAME = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** The UTC day of `t` as a directory name. */
export function dayOf(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

export function isDayDir(name: string): boolean {
  return DAY_NAME.test(name);
}

/** Day directory names from the day of `from` to the day of `to`, at most `max`. */
export function daysBetween(from: number, to: number, max = 400): string[] {
  const days: string[] = [];
  for (let t = Math.floor(from / DAY_MS) * DAY_MS; t <= to && days.length < max; t += DAY_MS) days.push(dayOf(t));
  return days;
}

/** The run a segment file belongs to: ffmpeg's start time, the prefix of its name. */
export function runOf(file: string): number | undefined {
  const m = /^(\d+)-\d+\.mp4$/.exec(file);
  return m ? Number(m[1]) : undefined;
}
