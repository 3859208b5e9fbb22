import { RemoteClient, type EnrolledDevice } from './client.ts';
import { fromUtf8, keyFromBase64, toBase64 } from './encoding.ts';
import { ProtocolError } from './errors.ts';
import { hubKeyOfId, newDeviceKeys } from './keys.ts';

/**
 * Enrolment by invite (docs/relay-protocol.md "Enrolment by invite"), the same for the browser
 * on the relay's web origin and for `hearth-remote redeem`. An invite link is
 * `<relay web origin>/#invite=<hubId>.<seed>`: the hub id (its public key) says whom the
 * end-to-end handshake must reach, the seed is a throwaway device key the hub admitted once.
 */
export interface Invite {
  hubId: string;
  /** base64 of the invite key's 32-byte seed. */
  seed: string;
  /** The relay's WebSocket address: the link's own origin, ws(s) for http(s). */
  relayUrl: string;
}

const FRAGMENT = /(?:^|[#&])invite=([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})(?:&|$)/;

/** Reads an invite link; `invalid_invite` when it is not one (typed by hand, cut short...). */
export function parseInviteLink(link: string): Invite {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new ProtocolError('invalid_invite', 'not a link');
  }
  const match = FRAGMENT.exec(url.hash);
  if (!match || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new ProtocolError('invalid_invite', 'not a Hearth invite link');
  const [, hubId, secret] = match as unknown as [string, string, string];
  hubKeyOfId(hubId);
  const seed = toBase64(keyFromBase64(secret, 32, 'invalid_invite'));
  return { hubId, seed, relayUrl: `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}/` };
}

/**
 * Connects with the invite's key, has the hub enrol a fresh key of this device for the inviting
 * user, and returns that enrolment (the invite is used up). Errors carry the hub's or the
 * relay's code: `invite_not_found` (used, withdrawn or expired), `device_not_enrolled` (the
 * relay no longer admits the invite key), `hub_offline`.
 */
export async function redeemInvite(invite: Invite, name: string): Promise<EnrolledDevice> {
  const holder: EnrolledDevice = {
    seed: invite.seed,
    deviceId: 'invite',
    username: '',
    hubId: invite.hubId,
    relayUrls: [invite.relayUrl],
    homeKey: null,
  };
  const client = await RemoteClient.connect(holder, invite.relayUrl);
  try {
    if (!client.hubOnline) throw new ProtocolError('hub_offline', 'the hub is not connected to the relay');
    const keys = newDeviceKeys();
    const response = await client.call('POST', '/api/v1/remote/invites/redeem', {
      body: { publicKey: toBase64(keys.sign.publicKey), boxPublicKey: toBase64(keys.box.publicKey), name },
    });
    const body = JSON.parse(fromUtf8(response.body) || '{}') as {
      error?: { code?: string; message?: string };
      device?: { id: string };
      username?: string;
      relayUrls?: string[];
      homeKey?: string | null;
    };
    if (response.status !== 201 || !body.device || typeof body.username !== 'string') {
      const message = body.error?.message ?? `the hub answered ${response.status}`;
      // The hub's own code (invite_not_found, ...) as it is; without one, invite_failed.
      throw body.error?.code
        ? ProtocolError.received(body.error.code, message)
        : new ProtocolError('invite_failed', message);
    }
    // The relay the link came from first: for a page on that origin it is the same-origin socket.
    const relayUrls = [invite.relayUrl, ...(body.relayUrls ?? []).filter((u) => u !== invite.relayUrl)];
    return {
      seed: toBase64(keys.seed),
      deviceId: body.device.id,
      username: body.username,
      hubId: invite.hubId,
      relayUrls,
      homeKey: body.homeKey ?? null,
    };
  } finally {
    client.close();
  }
}
