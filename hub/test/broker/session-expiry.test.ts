import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { ManualClock } from '../../src/core/clock.ts';
import {
  connectBytes,
  eventually,
  packetReader,
  rawConnect,
  startBroker,
  writePacket,
  type Harness,
} from './harness.ts';

const HOUR = 3600_000;

/**
 * Session expiry runs on the broker's clock: with a ManualClock, days pass in a moment and the
 * expiry check (every 6 hours of that clock) drops what a session left behind.
 */
describe('persistent session expiry on the broker clock', () => {
  let h: Harness | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await h?.close();
    h = undefined;
  });

  /** CONNECTs a device with a persistent session on a raw socket; its CONNACK's session-present flag and a packet reader. */
  async function connectDevice(creds: { username: string; password: string; clientId: string }) {
    const socket = await rawConnect(h!.port);
    sockets.push(socket);
    const reader = packetReader(socket);
    socket.write(connectBytes({ ...creds, clean: false }));
    const connack = (await reader.next('connack')) as { returnCode: number; sessionPresent: boolean };
    expect(connack.returnCode).toBe(0);
    return { socket, reader, sessionPresent: connack.sessionPresent };
  }

  async function subscribe(
    c: { socket: Socket; reader: ReturnType<typeof packetReader> },
    topic: string,
  ): Promise<void> {
    writePacket(c.socket, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] } as never);
    await c.reader.next('suback');
  }

  async function leave(c: { socket: Socket }): Promise<void> {
    writePacket(c.socket, { cmd: 'disconnect' } as never);
    await eventually(() => c.socket.destroyed || c.socket.readableEnded, 10_000, 'disconnected');
    await eventually(() => h!.broker.stats().clients === 0, 10_000, 'client gone');
  }

  const outgoingRows = (clientId: string): number =>
    (h!.store.db.prepare('SELECT count(*) AS n FROM mqtt_outgoing WHERE client_id = ?').get(clientId) as { n: number })
      .n;
  const sessionRow = (clientId: string): boolean =>
    h!.store.db.prepare('SELECT 1 FROM mqtt_sessions WHERE client_id = ?').get(clientId) !== undefined;

  it('drops a session unseen for longer than the expiry, with its queued messages; a session seen since stays', async () => {
    const clock = new ManualClock(Date.now());
    h = await startBroker({ clock, limits: { sessionExpiryMs: 24 * HOUR } });
    const a = h.device('plug-a');
    const b = h.device('plug-b');
    for (const creds of [a, b]) {
      const c = await connectDevice(creds);
      await subscribe(c, `hearth/${creds.clientId}/cmd`);
      await leave(c);
    }
    await h.broker.publish('hearth/plug-a/cmd', 'queued-a', { qos: 1 });
    await h.broker.publish('hearth/plug-b/cmd', 'queued-b', { qos: 1 });
    await eventually(() => outgoingRows('plug-a') === 1 && outgoingRows('plug-b') === 1, 10_000, 'queued rows on disk');

    // 20 hours on, plug-b comes back (its queued message waits: it does not ack) and leaves again.
    clock.advance(20 * HOUR);
    const seen = await connectDevice(b);
    expect(seen.sessionPresent).toBe(true);
    await leave(seen);
    expect(outgoingRows('plug-a')).toBe(1);
    expect(h.broker.stats().persistentSessions).toBe(2);

    // 30 hours after plug-a left: its session is older than the expiry at the check of hour 30.
    clock.advance(10 * HOUR);
    await eventually(
      () => outgoingRows('plug-a') === 0 && !sessionRow('plug-a'),
      10_000,
      'expired session gone from disk',
    );
    expect(h.broker.stats().persistentSessions).toBe(1);
    expect(sessionRow('plug-b')).toBe(true);

    // plug-a starts afresh: no session, and the first message it gets is a new one, not the dropped one.
    const fresh = await connectDevice(a);
    expect(fresh.sessionPresent).toBe(false);
    await subscribe(fresh, 'hearth/plug-a/cmd');
    await h.broker.publish('hearth/plug-a/cmd', 'new-a', { qos: 1 });
    const first = (await fresh.reader.next('publish')) as { payload: Buffer };
    expect(String(first.payload)).toBe('new-a');

    // plug-b still gets what was queued for it.
    const back = await connectDevice(b);
    expect(back.sessionPresent).toBe(true);
    const queued = (await back.reader.next('publish')) as { payload: Buffer };
    expect(String(queued.payload)).toBe('queued-b');
  });
});
