import { createReadStream, statSync } from 'node:fs';
import type { ControlMessage } from '@hearth/protocol/relay-messages';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** Pieces as the relay takes them (cloud-relay BACKUP_CHUNK_BYTES). */
const PIECE_BYTES = 64 * 1024;
/** An answer the relay owes for longer than this fails the upload. */
const ANSWER_TIMEOUT_MS = 30_000;

type RelayAnswer = Extract<
  ControlMessage,
  { type: 'backup_ack' } | { type: 'backup_refused' } | { type: 'backup_list'; backups: unknown }
>;

/**
 * Off-site copies of the scheduled backups at the relay (docs/relay-protocol.md "Off-site
 * backups"). The files are sealed with the owner's passphrase already, so the relay stores bytes
 * it cannot open. One upload at a time, one piece in flight: the next piece is read from the file
 * only after the relay stored the previous one, so neither end holds the file in memory. Before
 * uploading, the oldest copies at the relay are removed until the new one fits the home's quota.
 */
export class OffsiteBackups {
  readonly #send: (m: ControlMessage) => boolean;
  readonly #clock: Clock;
  readonly #log: Logger;
  #waiter: { resolve: (m: RelayAnswer) => void; reject: (e: Error) => void } | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(deps: { send: (m: ControlMessage) => boolean; clock: Clock; log: Logger }) {
    this.#send = deps.send;
    this.#clock = deps.clock;
    this.#log = deps.log;
  }

  /** The relay's answers (`backup_ack`, `backup_refused`, `backup_list`) from the tunnel. */
  answer(m: ControlMessage): void {
    if (m.type !== 'backup_ack' && m.type !== 'backup_refused' && !(m.type === 'backup_list' && 'backups' in m)) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(m as RelayAnswer);
  }

  /** The tunnel went down: whatever waits fails now rather than at its timeout. */
  disconnected(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(
      new HubError('backup_offsite_failed', 'the relay connection went down', { code: 'relay_disconnected' }),
    );
  }

  upload(path: string, id: string): Promise<void> {
    const run = this.#chain.then(() => this.#upload(path, id));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #upload(path: string, id: string): Promise<void> {
    const bytes = statSync(path).size;
    let list = await this.#ask({ type: 'backup_list' });
    // Make room: the oldest copies go first, never the one being replaced by nothing.
    while (
      list.type === 'backup_list' &&
      list.backups.length > 0 &&
      (list.backups.length + 1 > list.quota.count ||
        list.backups.reduce((s, b) => s + b.bytes, 0) + bytes > list.quota.bytes)
    ) {
      const oldest = [...list.backups].sort((a, b) => a.storedAt - b.storedAt)[0]!;
      list = await this.#ask({ type: 'backup_delete', id: oldest.id });
    }
    let n = 0;
    let sent = 0;
    for await (const piece of createReadStream(path, { highWaterMark: PIECE_BYTES })) {
      const data = piece as Buffer;
      sent += data.length;
      const answer = await this.#ask({
        type: 'backup_put',
        id,
        n,
        bytes,
        data: data.toString('base64'),
        final: sent === bytes,
      });
      if (answer.type === 'backup_refused')
        throw new HubError('backup_offsite_failed', `the relay refused the backup: ${answer.code}`, {
          code: answer.code,
        });
      n += 1;
    }
    this.#log.info({ file: id, bytes, pieces: n }, 'backup stored at the relay');
  }

  #ask(m: ControlMessage): Promise<RelayAnswer> {
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#waiter = undefined;
        reject(new HubError('backup_offsite_failed', 'the relay did not answer', { code: 'relay_timeout' }));
      }, ANSWER_TIMEOUT_MS);
      this.#waiter = {
        resolve: (a) => {
          timer.cancel();
          resolve(a);
        },
        reject: (e) => {
          timer.cancel();
          reject(e);
        },
      };
      if (!this.#send(m)) {
        timer.cancel();
        this.#waiter = undefined;
        reject(
          new HubError('backup_offsite_failed', 'the hub is not connected to the relay', {
            code: 'relay_disconnected',
          }),
        );
      }
    });
  }
}
