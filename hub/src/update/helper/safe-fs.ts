import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { HubError } from '../../core/errors.ts';

/**
 * File operations of a root process inside a directory another user (the hub) can write to.
 * That user could put a symbolic link where the helper is about to read, write or chown, and get
 * root to read a secret for it, overwrite a system file or hand one over; so here nothing follows
 * a link: sources are opened O_NOFOLLOW and must be regular files, targets are created fresh
 * (O_EXCL, which never follows a link) and given to their owner through the open descriptor.
 */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface Owner {
  uid: number;
  gid: number;
}

function createFresh(path: string, owner: Owner | undefined): number {
  rmSync(path, { force: true });
  const fd = openSync(path, CREATE, 0o600);
  if (owner) {
    try {
      fchownSync(fd, owner.uid, owner.gid);
    } catch {
      // not root (tests): the file is the caller's, as the directory's owner is
    }
  }
  return fd;
}

/** Writes `data` to `path` by a fresh temp file renamed over it (rename replaces a link, never follows it). */
export function writeFileNoFollow(path: string, data: string | Buffer, owner?: Owner): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = createFresh(tmp, owner);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Copies a regular file (never through a link, at either end) to a fresh `to`. */
export function copyFileNoFollow(from: string, to: string, owner?: Owner): void {
  let src: number;
  try {
    src = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new HubError('update_step_failed', `${from} is missing or a link`, undefined, { cause: err });
  }
  try {
    if (!fstatSync(src).isFile()) throw new HubError('update_step_failed', `${from} is not a plain file`);
    const dst = createFresh(to, owner);
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const n = readSync(src, buf, 0, buf.length, null);
        if (n === 0) break;
        writeSync(dst, buf, 0, n);
      }
      fsyncSync(dst);
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

/** Whether `path` is a regular file itself (not a link to one). */
export function isPlainFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
