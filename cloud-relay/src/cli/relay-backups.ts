import { createWriteStream, renameSync, rmSync } from 'node:fs';
import nacl from 'tweetnacl';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { deviceKeysFromSeed, relayAuthMessage } from '@hearth/protocol/keys';
import { parseControl, type ControlMessage } from '@hearth/protocol/relay-messages';
import type { KeysFile } from './keys-file.ts';

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
