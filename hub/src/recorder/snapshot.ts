import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { HubError } from '../core/errors.ts';
import type { RecorderRepo } from '../store/recorder-repo.ts';

/**
 * A JPEG of the newest recorded picture (the last second of the newest closed segment, so at
 * most about one segment old). Decodes one GOP in software, once per request: no decoder
 * runs while nobody asks.
 */
export async function latestSnapshot(repo: RecorderRepo, root: string, cameraId: string): Promise<Buffer> {
  const segment = repo.latestSegment(cameraId);
  if (!segment) throw new HubError('recording_not_found', 'nothing recorded yet', { id: cameraId });
  const result = await runBuffer('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-sseof', '-1', '-i', join(root, segment.path),
    '-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2', 'pipe:1',
  ], 10_000);
  if (result.code !== 0 || result.stdout.length === 0) {
    throw new HubError('internal_error', 'could not make a snapshot', { ffmpeg: result.stderr.trim().slice(-300) });
  }
  return result.stdout;
}

/** Runs a program and collects its binary stdout, killed after `timeoutMs`. */
function runBuffer(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(chunks), stderr }); });
  });
}
