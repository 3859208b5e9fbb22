import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import mqtt, { type ErrorWithReasonCode, type MqttClient } from 'mqtt';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { startBroker, type Harness } from './harness.ts';

/** mqtt.js over ws:// (subprotocol `mqtt`), resolving on CONNACK. */
function connectWs(url: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

describe('MQTT over WebSocket', () => {
  let h: Harness;
  let http: Server;
  let url: string;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    h = await startBroker();
    // A tiny stand-in for the API: upgrades on /mqtt go to the broker, like the real route.
    const wss = new WebSocketServer({ noServer: true });
    http = createServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== '/mqtt') return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => {});
        h.broker.handleWebSocket(stream, req);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('authenticates, publishes and subscribes like TCP, with the same ACLs', async () => {
    const creds = h.device('plug-a');
    const plug = await connectWs(url, { ...creds, clientId: 'plug-a' });
    clients.push(plug);
    const grants = await new Promise<number[]>((resolve) =>
      plug.subscribe(['hearth/plug-a/cmd', 'hearth/plug-b/cmd'], { qos: 1 }, (_e, _s, p) =>
        resolve((p as { granted: number[] }).granted),
      ),
    );
    expect(grants).toEqual([1, 128]);

    // TCP client ↔ WebSocket client, both ways.
    const ha = await connectMqtt(
      h.port,
      h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'readwrite', topics: ['hearth/#'] }),
    );
    clients.push(ha);
    await ha.subscribeAsync('hearth/+/state', { qos: 1 });
    const state = nextMessage(ha, (t) => t === 'hearth/plug-a/state');
    await plug.publishAsync('hearth/plug-a/state', '{"switch":true}', { qos: 1 });
    expect((await state).payload.toString()).toBe('{"switch":true}');
    const cmd = nextMessage(plug, (t) => t === 'hearth/plug-a/cmd');
    await ha.publishAsync('hearth/plug-a/cmd', '{"on":false}', { qos: 1 });
    expect((await cmd).payload.toString()).toBe('{"on":false}');
    expect(h.broker.stats().bytesIn).toBeGreaterThan(0);
  });

  it('refuses anonymous and wrong-password CONNECTs over WebSocket too', async () => {
    h.device('plug-a');
    const code = (p: Promise<MqttClient>) =>
      p.then(
        (c) => (c.end(true), -1),
        (err: ErrorWithReasonCode) => err.code,
      );
    expect(await code(connectWs(url))).toBe(5);
    expect(await code(connectWs(url, { username: 'plug-a', password: 'nope' }))).toBe(4);
  });

  it('a retained offline status appears when a WebSocket device drops', async () => {
    const plug = await connectWs(url, {
      ...h.device('plug-a'),
      will: { topic: 'hearth/plug-a/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    const ha = await connectMqtt(
      h.port,
      h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['hearth/#'] }),
    );
    clients.push(ha);
    await ha.subscribeAsync('hearth/+/status', { qos: 1 });
    const offline = nextMessage(ha, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    plug.stream.destroy();
    await offline;
  });
});
