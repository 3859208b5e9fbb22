import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { HubError } from '../core/errors.ts';
import type { RecorderRepo } from '../store/recorder-repo.ts';

/**
 * The newest recorded picture of each camera, made at most once per closed segment: requests
 * while a segment is the newest share one ffmpeg decode and its JPEG (a member asking twenty
 * times at once starts one decoder, not twenty). One JPEG per camera is kept.
 */
export class Snapshots {
  readonly #repo: RecorderRepo;
  readonly #root: string;
  readonly #latest = new Map<string, { segmentId: number; jpeg: Promise<Buffer> }>();

  constructor(repo: RecorderRepo, root: string) {
    this.#repo = repo;
    this.#root = root;
  }

  take(cameraId: string): Promise<Buffer> {
    const segment = this.#repo.latestSegment(cameraId);
    if (!segment) return Promise.reject(new HubError('recording_not_found', 'nothing recorded yet', { id: cameraId }));
    const cached = this.#latest.get(cameraId);
    if (cached && cached.segmentId === segment.id) return cached.jpeg;
    const jpeg = latestSnapshot(this.#root, segment.path);
    this.#latest.set(cameraId, { segmentId: segment.id, jpeg });
    // A failed decode is not kept: the next request tries again.
    jpeg.catch(() => {
      if (this.#latest.get(cameraId)?.jpeg === jpeg) this.#latest.delete(cameraId);
    });
    return jpeg;
  }

  forget(cameraId: string): void {
    this.#latest.delete(cameraId);
  }
}

/**
 * A JPEG of the last second of a closed segment (so at most about one segment old). Decodes one
 * GOP in software: no decoder runs while nobody asks.
 */
async function latestSnapshot(root: string, path: string): Promise<Buffer> {
  const result = await runBuffer(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-sseof',
      '-1',
      '-i',
      `file:${join(root, path)}`,
      '-frames:v',
      '1',
      '-c:v',
      'mjpeg',
      '-f',
      'image2',
      'pipe:1',
    ],
    10_000,
  );
  if (result.code !== 0 || result.stdout.length === 0) {
    throw new HubError('internal_error', 'could not make a snapshot', { ffmpeg: result.stderr.trim().slice(-300) });
  }
  return result.stdout;
}

/** Runs a program and collects its binary stdout, killed after `timeoutMs`. */
function runBuffer(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });
}
