/**
 * WebSocket close codes in the private range (4000-4999) that mirror HTTP 401/403: a socket
 * whose credentials were refused, expired or ended. Used by the API's sockets and by the event
 * stream (events/event-stream.ts), LAN and remote.
 */
export const WS_CLOSE_UNAUTHORIZED = 4401;
export const WS_CLOSE_FORBIDDEN = 4403;
