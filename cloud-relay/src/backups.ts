import type { Clock } from './clock.ts';
import type { WebSocket } from 'ws';
import { BACKUP_CHUNK_BYTES, type Backplane } from './backplane/backplane.ts';
import type { RelayLimits } from './limits.ts';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import type { ControlMessage } from '@hearth/protocol/relay-messages';

/**
 * Off-site backups (docs/relay-protocol.md "Off-site backups"): a hub stores its sealed `.hbk`
 * files here, piece by piece, within its home's quota; an owner's device fetches them back, also
 * when the hub is gone (a dead SD card). The files are sealed with the owner's passphrase before
 * they leave the hub, so the relay stores bytes it cannot open, and never holds more than one
 * piece of one in memory per connection: pieces go to the backplane (Redis) as they come and are
 * read back one at a time, the next only once the previous one is written to the socket.
 */
const ID = /^[A-Za-z0-9._-]{1,100}$/;

export function backupListMessage(
  backups: { id: string; bytes: number; storedAt: number }[],
  limits: RelayLimits,
): ControlMessage {
  return {
    type: 'backup_list',
    backups: backups.map((b) => ({ id: b.id, bytes: b.bytes, storedAt: b.storedAt })),
    quota: { count: limits.backupsPerHub, bytes: limits.backupBytesPerHub, maxBytes: limits.maxBackupBytes },
  };
}

/** One hub's upload in progress (a new `n = 0` drops an unfinished one). */
export class BackupUpload {
  readonly #backplane: Backplane;
  readonly #limits: RelayLimits;
  readonly #hubId: string;
  readonly #clock: Clock;
  #current: { id: string; bytes: number; next: number; received: number } | undefined;

  constructor(backplane: Backplane, limits: RelayLimits, hubId: string, clock: Clock) {
    this.#clock = clock;
    this.#backplane = backplane;
    this.#limits = limits;
    this.#hubId = hubId;
  }

  /** Stores one piece; answers `backup_ack` or `backup_refused` (never throws for a refusal). */
  async put(m: Extract<ControlMessage, { type: 'backup_put' }>): Promise<ControlMessage> {
    const id = String(m.id);
    try {
      await this.#put(m, id);
      return { type: 'backup_ack', id, n: Number(m.n) };
    } catch (err) {
      if (this.#current?.id === id) {
        const dropped = this.#current;
        this.#current = undefined;
        await this.#backplane.deleteBackup(this.#hubId, id, dropped.next + 1).catch(() => undefined);
      }
      return { type: 'backup_refused', id, code: err instanceof ProtocolError ? err.code : 'internal_error' };
    }
  }

  async #put(m: Extract<ControlMessage, { type: 'backup_put' }>, id: string): Promise<void> {
    const limits = this.#limits;
    if (!ID.test(id) || !Number.isInteger(m.n) || typeof m.data !== 'string')
      throw new ProtocolError('bad_message', 'backup_put needs an id, n and data');
    if (m.n === 0) {
      const bytes = Number(m.bytes);
      if (!Number.isSafeInteger(bytes) || bytes < 1)
        throw new ProtocolError('bad_message', 'backup_put needs its size');
      if (bytes > limits.maxBackupBytes)
        throw new ProtocolError('backup_too_large', `a backup may be at most ${limits.maxBackupBytes} bytes`);
      const stored = await this.#backplane.listBackups(this.#hubId);
      if (stored.some((b) => b.id === id))
        throw new ProtocolError('backup_exists', 'a backup with that id is stored already');
      const used = stored.reduce((sum, b) => sum + b.bytes, 0);
      if (stored.length + 1 > limits.backupsPerHub || used + bytes > limits.backupBytesPerHub) {
        throw new ProtocolError(
          'backup_quota_exceeded',
          `this home may keep ${limits.backupsPerHub} backups and ${limits.backupBytesPerHub} bytes here; remove one first`,
        );
      }
      if (this.#current)
        await this.#backplane.deleteBackup(this.#hubId, this.#current.id, this.#current.next).catch(() => undefined);
      this.#current = { id, bytes, next: 0, received: 0 };
    }
    const up = this.#current;
    if (!up || up.id !== id || m.n !== up.next)
      throw new ProtocolError('bad_message', 'backup pieces must come in order');
    const data = fromBase64(m.data);
    if (data.length > BACKUP_CHUNK_BYTES || data.length === 0)
      throw new ProtocolError('bad_message', `a backup piece holds 1 to ${BACKUP_CHUNK_BYTES} bytes`);
    if (up.received + data.length > up.bytes)
      throw new ProtocolError('backup_too_large', 'more bytes than the backup announced');
    await this.#backplane.putBackupChunk(this.#hubId, id, up.next, data);
    up.received += data.length;
    up.next += 1;
    if (m.final === true) {
      if (up.received !== up.bytes) throw new ProtocolError('bad_message', 'the backup ended short of its size');
      await this.#backplane.commitBackup(this.#hubId, {
        id,
        bytes: up.bytes,
        chunks: up.next,
        storedAt: this.#clock.now(),
      });
      this.#current = undefined;
    }
  }

  async remove(id: string): Promise<void> {
    const stored = (await this.#backplane.listBackups(this.#hubId)).find((b) => b.id === id);
    if (stored) await this.#backplane.deleteBackup(this.#hubId, id, stored.chunks);
  }
}

/**
 * Sends one stored backup to a device as `backup_data` pieces, each after the previous one left
 * the socket (ws' send callback), so a slow phone holds the relay to one piece in memory.
 */
export async function sendBackup(ws: WebSocket, backplane: Backplane, hubId: string, id: string): Promise<void> {
  const stored = (await backplane.listBackups(hubId)).find((b) => b.id === String(id));
  if (!stored) throw new ProtocolError('backup_not_found', 'no such backup for this home');
  for (let n = 0; n < stored.chunks; n++) {
    const data = await backplane.getBackupChunk(hubId, stored.id, n);
    if (!data) throw new ProtocolError('backup_not_found', 'the backup is incomplete at the relay');
    if (ws.readyState !== ws.OPEN) return;
    const message: ControlMessage = {
      type: 'backup_data',
      id: stored.id,
      n,
      data: toBase64(data),
      final: n === stored.chunks - 1,
    };
    await new Promise<void>((resolve, reject) =>
      ws.send(JSON.stringify(message), (err) => (err ? reject(err) : resolve())),
    );
  }
}
