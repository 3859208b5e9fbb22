/**
 * The peer bench/relay measures the relay against: a bare `ws` server with the same socket
 * settings and no protocol. Each connection gets one text message (like the relay's challenge);
 * binary messages from any connection are forwarded to the first one (the "sink"), which is the
 * least a relay could do per frame. Prints {"port":N} once listening.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
let sink: WebSocket | undefined;
wss.on('connection', (ws) => {
  ws.send('{"type":"hello"}');
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      if (String(data) === 'sink') sink = ws;
      return;
    }
    sink?.send(data as Buffer);
  });
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
