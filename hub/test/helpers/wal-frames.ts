import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Counts what SQLite writes to a database's WAL file by reading the file itself (format:
 * sqlite.org/fileformat2.html#walformat), from outside the process that writes it: frames
 * (page images) and commits (a frame whose "database size after commit" field is non-zero ends
 * a transaction). Polled often enough, it sees every frame: a frame stays in the file until the
 * WAL is reset after a checkpoint, and a reset is told by new salts in the header. Frames written
 * after the last poll and overwritten by a reset before the next one are missed, so poll at
 * least a few times per WAL cycle (tests poll after each step, the writes bench every 250 ms).
 *
 * Only frames up to the last commit seen are counted: later ones belong to a transaction still
 * being written, which SQLite may rewrite in place before it commits.
 */
export class WalFrames {
  readonly path: string;
  /** Frames (page images) committed, and their bytes (frame header + page). */
  frames = 0;
  bytes = 0;
  /** Committed transactions. */
  commits = 0;
  /** WAL resets seen (each follows a completed checkpoint). */
  resets = 0;
  pageSize = 0;
  /** Frames per page number, for attributing writes to tables (see `framesByPage`). */
  readonly framesByPage = new Map<number, number>();
  /** Distinct pages of each WAL generation: what a checkpoint copies into the database file. */
  checkpointPages = 0;
  #generationPages = new Set<number>();
  /** When set, each commit's page numbers are pushed here (which tables a transaction touched). */
  commitPages: number[][] | undefined;
  #salt: string | undefined;
  #offset = 32;

  constructor(walPath: string) {
    this.path = walPath;
  }

  /** Reads what was committed since the last poll. A missing or empty WAL counts nothing. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < 32) return;
      const header = Buffer.alloc(32);
      readSync(fd, header, 0, 32, 0);
      const magic = header.readUInt32BE(0);
      if (magic !== 0x377f0682 && magic !== 0x377f0683) return;
      this.pageSize = header.readUInt32BE(8);
      const salt = header.subarray(16, 24).toString('hex');
      if (salt !== this.#salt) {
        if (this.#salt !== undefined) this.resets++;
        this.#salt = salt;
        this.#offset = 32;
        this.checkpointPages += this.#generationPages.size;
        this.#generationPages = new Set();
      }
      const frameSize = 24 + this.pageSize;
      const available = size - this.#offset;
      if (available < frameSize) return;
      const n = Math.floor(available / frameSize);
      const buf = Buffer.alloc(n * frameSize);
      const got = readSync(fd, buf, 0, buf.length, this.#offset);
      const salt1 = header.readUInt32BE(16);
      const salt2 = header.readUInt32BE(20);
      const pending: number[] = [];
      for (let at = 0; at + frameSize <= got; at += frameSize) {
        // A frame with other salts is left over from an earlier generation: the end of this one.
        if (buf.readUInt32BE(at + 8) !== salt1 || buf.readUInt32BE(at + 12) !== salt2) break;
        pending.push(buf.readUInt32BE(at));
        if (buf.readUInt32BE(at + 4) !== 0) {
          // A commit frame: everything up to here is committed.
          for (const page of pending) {
            this.framesByPage.set(page, (this.framesByPage.get(page) ?? 0) + 1);
            this.#generationPages.add(page);
          }
          this.frames += pending.length;
          this.bytes += pending.length * frameSize;
          this.commits++;
          this.commitPages?.push([...pending]);
          this.#offset += pending.length * frameSize;
          pending.length = 0;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Pages a checkpoint has copied or will copy into the database file (all generations so far). */
  checkpointBytes(): number {
    return (this.checkpointPages + this.#generationPages.size) * this.pageSize;
  }
}
