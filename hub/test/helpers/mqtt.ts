import { spawn } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Connects the real mqtt.js client; rejects with the CONNACK error (err.code = return code). */
export function connectMqtt(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/**
 * Connects and records every message from the first packet on. A broker sends a persistent
 * session's queued messages right behind CONNACK, often in the same TCP read, so a listener
 * attached after `connectMqtt` resolves can miss them; `inbox.next` also looks at what came early.
 */
export async function connectWithInbox(
  port: number,
  options: IClientOptions = {},
): Promise<{
  client: MqttClient;
  next: (predicate: (topic: string) => boolean, timeoutMs?: number) => Promise<{ topic: string; payload: Buffer }>;
  all: { topic: string; payload: Buffer }[];
}> {
  const received: { topic: string; payload: Buffer }[] = [];
  const all: { topic: string; payload: Buffer }[] = [];
  const waiters = new Set<() => void>();
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  client.on('message', (topic, payload) => {
    received.push({ topic, payload });
    all.push({ topic, payload });
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  const next = (predicate: (topic: string) => boolean, timeoutMs = 10_000) =>
    new Promise<{ topic: string; payload: Buffer }>((resolve, reject) => {
      const check = () => {
        const index = received.findIndex((m) => predicate(m.topic));
        if (index < 0) return false;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(received.splice(index, 1)[0]!);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error('no matching MQTT message'));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  return { client, next, all };
}

/** Waits for the next message on `topic` (or matching `predicate`). */
export function nextMessage(
  client: MqttClient,
  predicate: (topic: string, payload: Buffer) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<{ topic: string; payload: Buffer; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error('no matching MQTT message'));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
      if (!predicate(topic, payload)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ topic, payload, retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

/** Runs mosquitto_pub / mosquitto_sub (the reference clients) and collects their output. */
export function mosquitto(
  bin: 'mosquitto_pub' | 'mosquitto_sub',
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(bin, ['-h', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
