/**
 * Every error code of the relay protocol, listed once with what it means: the codes a
 * `ProtocolError` carries, the relay's `{type: "error", code}` messages and close reasons, the
 * codes of a closed session, a refused stream and a push result (docs/relay-protocol.md).
 * The hub's API codes (`unauthorized`, `remote_user_mismatch`, `remote_bytes_exceeded`, ...)
 * also reach a remote device, in answers and stream errors; they are the hub's own list
 * (`@hearth/model/errors`), not repeated here.
 *
 * A new code goes here first: `new ProtocolError(code, ...)` takes only these, and
 * test/errors.test.ts checks every code the protocol, the relay, the hub's relay side and the UI
 * make or send is one of them.
 */
export const PROTOCOL_ERRORS = {
  // Bytes and messages that are not what the protocol says (any peer).
  bad_encoding: 'not base64, or not UTF-8',
  bad_message: 'a control message, tunnel frame or stream body that cannot be read, or is not expected from this peer',
  message_too_large: "a control message (or a state blob in one) over the relay's limit",
  frame_too_large: "a binary frame over the relay's limit: the connection is closed (close code 4413)",
  bad_key: 'a key that is not base64 of the right length',
  bad_hub_id: 'not a hub id (base64url of a 32-byte Ed25519 key)',
  // Admission at the relay.
  handshake_timeout: "the peer did not answer the relay's challenge in time",
  bad_signature: 'the challenge or a device list is not signed by the key that claims it',
  device_not_enrolled: "this device key is not on its hub's signed list (or the hub does not know it)",
  device_revoked: "this device key was removed from its hub's list",
  too_many_tunnels: 'the hub opened too many tunnels in the last minute',
  too_many_sessions: 'the hub has as many device sessions as the relay allows',
  replaced: 'a newer tunnel of the same hub took over (on this node or another)',
  upgrade_required: "a plain HTTP request to the relay's WebSocket port",
  // Routing and presence.
  hub_offline: 'the hub is not connected to the relay (or its tunnel closed)',
  rate_limited: "a frame or push over the relay's rate: that one was dropped",
  device_gone: "the device's connection ended while the hub was answering it",
  closed_by_hub: 'the hub ended this session without giving a reason',
  refused: 'a relay node refused a frame without giving a reason',
  relay_unavailable: 'the relay cannot reach its shared store (Redis): try again',
  internal_error: 'the relay failed on its side (logged there)',
  // The end-to-end session between a device and its hub.
  e2e_bad_frame: 'not the end-to-end frame expected here, or one that does not open with the session key',
  e2e_bad_signature: 'a handshake frame not signed by the key it names',
  e2e_bad_key: 'the handshake reached a hub other than the one this device is enrolled with',
  e2e_replay: 'a sealed frame whose counter is not above the last one (replayed or reordered)',
  mux_bad_frame: 'a stream frame of an unknown kind, a used stream id, or a body that cannot be read',
  bad_request: 'a remote request whose method or path the hub does not take through the relay',
  too_many_streams: 'the device has as many open streams as the hub allows in one session',
  too_slow: "the device did not take the event stream's data fast enough: the hub ended it",
  // On the remote device itself.
  no_relay: 'the enrolled record names no relay',
  relay_unreachable: 'the relay cannot be reached (network, address)',
  connection_closed: 'the relay closed the connection without a reason',
  cancelled: 'the device cancelled the request',
  live_ended: 'the live view ended before it started',
  home_key_missing: 'no home key on this device yet (log in through the relay; guests never get one)',
  state_unreadable: "the stored state snapshot does not open with this device's home key (it rotated: log in again)",
  invalid_invite: 'not a whole Hearth invite link',
  invite_failed: 'the hub refused the invite without a code',
  // Web Push through the relay.
  push_refused: 'the relay does not post to this push endpoint (not https, an IP literal, a private address)',
  push_failed: 'the push service could not be reached or did not answer',
  push_timeout: 'the relay did not say in time what the push service answered',
  relay_offline: 'the hub is not connected to the relay, so nothing was sent',
  // Off-site backups at the relay (docs/relay-protocol.md "Off-site backups").
  not_owner: "only devices of the home's owner may list or fetch its off-site backups",
  backup_not_found: 'no off-site backup with that id for this home (or its pieces are gone)',
  backup_too_large: "a backup over the relay's size limit, or more bytes than it announced",
  backup_quota_exceeded: "the home's off-site backups would go over their count or bytes at the relay",
  backup_exists: 'a backup with that id is stored at the relay already',
} as const satisfies Record<string, string>;

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

export function isProtocolErrorCode(code: string): code is ProtocolErrorCode {
  return Object.hasOwn(PROTOCOL_ERRORS, code);
}

/** Only `ProtocolError.received` can make an error with a code from outside the list. */
const RECEIVED: unique symbol = Symbol('received');

/**
 * A protocol failure with its stable code. Made with a listed code; `ProtocolError.received`
 * wraps a code the other side sent (the relay's, or the hub's API codes on a stream), which this
 * side passes on as it is.
 */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(code: ProtocolErrorCode, message: string);
  constructor(code: string, message: string, received: typeof RECEIVED);
  constructor(code: string, message: string, _received?: typeof RECEIVED) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }

  /** A code that came over the wire: kept as it is, whichever list it belongs to. */
  static received(code: string, message: string): ProtocolError {
    return new ProtocolError(code, message, RECEIVED);
  }
}
