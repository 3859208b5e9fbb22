import type { EnrolledDevice, OffsiteBackups, RemoteClient } from '@hearth/protocol/client';
import { ProtocolError } from '@hearth/protocol/errors';
import { ApiError } from './errors.ts';
import { loadDevice } from './keystore.ts';

/**
 * The home's off-site backups at the relay (docs/backup.md "Off-site"), for this browser when it
 * is enrolled for remote access: the relay hands them only to keys the hub's signed list names as
 * the owner's (`not_owner` otherwise). A connection of its own to the relay, not the API session:
 * it works with the hub offline or gone, which is when they matter most. The protocol is loaded
 * with a dynamic import, as for the relay session.
 */
export type { OffsiteBackups };

/** Plain words for the relay's codes met here. */
const WORDS: Record<string, string> = {
  not_owner: "Only the owner's devices may fetch the home's off-site backups.",
  backup_not_found: 'The relay no longer keeps that backup.',
  device_not_enrolled: 'The relay does not know this device: enable remote access again at home.',
  device_revoked: 'Remote access for this device was turned off.',
  rate_limited: 'Too many requests to the relay: wait a moment and try again.',
  relay_unreachable: 'The relay cannot be reached.',
};

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const code = err instanceof ProtocolError ? err.code : String((err as { code?: unknown }).code ?? 'network');
  return new ApiError(0, code, WORDS[code] ?? 'The relay cannot be reached.');
}

/** This browser's enrolment, if any (the off-site section shows only then). */
export const enrolledDevice = loadDevice;

async function withRelay<T>(device: EnrolledDevice, run: (client: RemoteClient) => Promise<T>): Promise<T> {
  const { RemoteClient } = await import('@hearth/protocol/client');
  let lastError: unknown = new ProtocolError('no_relay', 'no relay URL');
  for (const url of device.relayUrls) {
    let client: RemoteClient;
    try {
      client = await RemoteClient.connect(device, url);
    } catch (err) {
      lastError = err;
      continue;
    }
    try {
      return await run(client);
    } catch (err) {
      throw asApiError(err);
    } finally {
      client.close();
    }
  }
  throw asApiError(lastError);
}

export function listOffsiteBackups(device: EnrolledDevice): Promise<OffsiteBackups> {
  return withRelay(device, (client) => client.offsiteBackups());
}

/** The sealed file, piece by piece into a Blob (the browser may keep large ones on disk). */
export function fetchOffsiteBackup(device: EnrolledDevice, id: string): Promise<Blob> {
  return withRelay(device, async (client) => {
    const pieces: Uint8Array<ArrayBuffer>[] = [];
    await client.offsiteBackup(id, (data) => pieces.push(data as Uint8Array<ArrayBuffer>));
    return new Blob(pieces, { type: 'application/octet-stream' });
  });
}
