import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Files under a camera's recordings directory, as paths relative to DATA/recordings (how rows
 * name them): its day directories and old flat files; `incoming/` (what ffmpeg is writing)
 * only when asked, `exports/` (playback files, not footage) never.
 */
export function footageFiles(root: string, cameraId: string, withIncoming = false): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = join(root, rel);
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (rel === cameraId && (e.name === 'exports' || (e.name === 'incoming' && !withIncoming))) continue;
        walk(`${rel}/${e.name}`);
      } else {
        out.push(`${rel}/${e.name}`);
      }
    }
  };
  walk(cameraId);
  return out.sort();
}

/** Bytes of those files (a file removed while counting counts nothing). */
export function footageBytes(root: string, cameraId: string): number {
  let n = 0;
  for (const f of footageFiles(root, cameraId, true)) {
    try {
      n += statSync(join(root, f)).size;
    } catch {
      /* removed meanwhile */
    }
  }
  return n;
}
