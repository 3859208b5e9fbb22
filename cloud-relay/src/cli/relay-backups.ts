import { createReadStream, createWriteStream, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import nacl from 'tweetnacl';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { deviceKeysFromSeed, relayAuthMessage } from '@hearth/protocol/keys';
import { parseControl, type ControlMessage } from '@hearth/protocol/relay-messages';
import { CliError, type KeysFile } from './keys-file.ts';

type BackupList = Extract<ControlMessage, { type: 'backup_list'; backups: unknown }>;

/**
 * The home's off-site backups at the relay, for an owner's device (docs/relay-protocol.md
 * "Off-site backups"). Talks to the relay only: it works with the hub gone, which is when a new
 * hub needs them. A connection of its own (the relay admits the key against the hub's signed
 * list, as for a session), then one request.
 */
async function withRelay<T>(
  keys: KeysFile,
  relayUrl: string | undefined,
  run: (ws: WebSocket, next: () => Promise<ControlMessage>) => Promise<T>,
): Promise<T> {
  const url = relayUrl ?? keys.relayUrls[0];
  if (!url) throw new ProtocolError('no_relay', 'no relay URL');
  const sign = deviceKeysFromSeed(fromBase64(keys.seed)).sign;
  const ws = new WebSocket(url);
  const queue: ControlMessage[] = [];
  const waiters: ((m: ControlMessage | ProtocolError) => void)[] = [];
  let failure: ProtocolError | null = null;
  const deliver = (m: ControlMessage | ProtocolError): void => {
    const waiter = waiters.shift();
    if (waiter) waiter(m);
    else if (m instanceof ProtocolError) failure = m;
    else queue.push(m);
  };
  ws.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    const m = parseControl(event.data);
    if (m.type === 'challenge') {
      const sig = nacl.sign.detached(relayAuthMessage('device', fromBase64(m.nonce), keys.hubId), sign.secretKey);
      ws.send(
        JSON.stringify({
          type: 'hello',
          role: 'device',
          hubId: keys.hubId,
          key: toBase64(sign.publicKey),
          sig: toBase64(sig),
        } satisfies ControlMessage),
      );
    } else if (m.type === 'error') {
      deliver(ProtocolError.received(String(m.code), String(m.message ?? m.code)));
    } else {
      deliver(m);
    }
  });
  ws.addEventListener('close', (event) =>
    deliver(
      event.reason
        ? ProtocolError.received(event.reason, 'the relay closed the connection')
        : new ProtocolError('connection_closed', 'the relay closed the connection'),
    ),
  );
  ws.addEventListener('error', () => deliver(new ProtocolError('relay_unreachable', 'cannot reach the relay')));
  const next = (): Promise<ControlMessage> => {
    if (failure) return Promise.reject(failure);
    const queued = queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => waiters.push((m) => (m instanceof ProtocolError ? reject(m) : resolve(m))));
  };
  try {
    const ready = await next();
    if (ready.type !== 'ready') throw new ProtocolError('bad_message', 'expected ready');
    return await run(ws, next);
  } finally {
    ws.close();
  }
}

export function listRelayBackups(keys: KeysFile, relayUrl: string | undefined): Promise<BackupList> {
  return withRelay(keys, relayUrl, async (ws, next) => {
    ws.send(JSON.stringify({ type: 'backup_list' } satisfies ControlMessage));
    for (;;) {
      const m = await next();
      if (m.type === 'backup_list' && 'backups' in m) return m;
    }
  });
}

/** Streams backup `id` into `out` (written `.partial`, renamed when the last piece came). */
export function fetchRelayBackup(
  keys: KeysFile,
  relayUrl: string | undefined,
  id: string,
  out: string,
): Promise<number> {
  return withRelay(keys, relayUrl, async (ws, next) => {
    ws.send(JSON.stringify({ type: 'backup_get', id } satisfies ControlMessage));
    const partial = `${out}.partial`;
    const file = createWriteStream(partial, { mode: 0o600 });
    let bytes = 0;
    let expect = 0;
    try {
      for (;;) {
        const m = await next();
        if (m.type !== 'backup_data') continue;
        if (m.n !== expect++) throw new ProtocolError('bad_message', 'backup pieces out of order');
        const data = fromBase64(m.data);
        bytes += data.length;
        if (!file.write(data)) await new Promise((resolve) => file.once('drain', resolve));
        if (m.final) break;
      }
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
      renameSync(partial, out);
      return bytes;
    } catch (err) {
      file.destroy();
      rmSync(partial, { force: true });
      throw err;
    }
  });
}

export interface RestoreToHub {
  /** The new hub's address on the LAN, e.g. http://hearth.local:8080. */
  hub: string;
  /** Its one-time setup code (console, boot partition, `hearth-admin setup-code`). */
  setupCode: string;
  /** A file whose first line is the backup's passphrase (never on the command line). */
  passphraseFile: string;
  /** The backup to restore; the newest at the relay when absent. */
  id?: string;
}

/**
 * An off-site backup onto a new hub in one step (docs/backup.md "Off-site onto a new hub"): this
 * owner's device fetches the sealed file from the relay (only an owner's key gets it: `not_owner`
 * otherwise) into a private temp dir (one piece in memory, bounded like `backup-get`), then sends
 * it to the hub's first-run restore (`POST /api/v1/setup/restore`, the setup code and the
 * passphrase in headers), which checks the passphrase and every byte before anything changes and
 * restarts on the restored home. The temp file is removed either way. Returns the hub's answer;
 * a refusal is CliError 1 with the hub's code.
 */
export async function restoreToHub(
  keys: KeysFile,
  relayUrl: string | undefined,
  o: RestoreToHub,
): Promise<{ id: string; bytes: number; hub: Record<string, unknown> }> {
  const passphrase = readFileSync(o.passphraseFile, 'utf8').split(/\r?\n/)[0] ?? '';
  if (!passphrase) throw new CliError(2, 'the passphrase file is empty');
  let id = o.id;
  if (!id) {
    const list = await listRelayBackups(keys, relayUrl);
    const newest = [...list.backups].sort((a, b) => b.storedAt - a.storedAt)[0];
    if (!newest) throw new ProtocolError('backup_not_found', 'the relay keeps no backup of this home');
    id = newest.id;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hearth-restore-'));
  try {
    const file = join(dir, 'backup.hbk');
    const bytes = await fetchRelayBackup(keys, relayUrl, id, file);
    let res: Response;
    try {
      res = await fetch(`${o.hub.replace(/\/+$/, '')}/api/v1/setup/restore`, {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(statSync(file).size),
          'x-setup-code': o.setupCode,
          'x-backup-passphrase': encodeURIComponent(passphrase),
        },
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
    } catch (err) {
      throw new CliError(3, `cannot reach the hub: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* not JSON: reported by status */
    }
    if (!res.ok) {
      const code = (body.error as { code?: string } | undefined)?.code ?? `http_${res.status}`;
      process.stdout.write(`${text}\n`);
      throw new CliError(1, code);
    }
    return { id, bytes, hub: body };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
