/**
 * Stable reason codes for connections the broker closes on an error, for logs and support
 * (the texts come from aedes, mqtt-packet, Node and our own limits, and may change; these do not).
 */
export type DisconnectReason =
  | 'keepalive_timeout'
  | 'packet_too_large'
  | 'send_queue_full'
  | 'connect_queue_full'
  | 'inflight_limit'
  | 'connection_reset'
  | 'protocol_error';

export function disconnectReason(err: Error & { code?: string }): DisconnectReason {
  const code = err.code;
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ERR_STREAM_PREMATURE_CLOSE')
    return 'connection_reset';
  const message = err.message ?? '';
  if (message === 'keep alive timeout') return 'keepalive_timeout';
  if (/^packet of \d+ bytes exceeds the limit/.test(message)) return 'packet_too_large';
  if (message === 'client send queue over its limit') return 'send_queue_full';
  if (message === 'Client queue limit reached') return 'connect_queue_full';
  if (message.startsWith('maxInflightInbound exceeded')) return 'inflight_limit';
  return 'protocol_error';
}
