import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, SNAPSHOT_STEP_PAGES } from '../../src/backup/create.ts';
import { verifyBackup } from '../../src/backup/verify.ts';
import { startBroker, type Harness } from '../broker/harness.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { pollUntil } from '../helpers/poll.ts';
import { FAST_KDF } from './fixtures.ts';

const FILLER_MB = 48;

/**
 * "No pause in MQTT": a backup of a non-trivial database (48 MB, about 120 snapshot steps) taken
 * while a device publishes at a steady rate through the real broker, to a subscriber. Every
 * message arrives, in order, and messages keep arriving between the snapshot's steps (counts at
 * the first and last step), so the online backup never holds the event loop for its whole length.
 * The rules engine runs on the same event loop as the broker, so what holds for one holds for it.
 */
describe('online backup while MQTT traffic flows', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBroker();
    h.store.db.exec('CREATE TABLE filler (b BLOB)');
    const insert = h.store.db.prepare('INSERT INTO filler (b) VALUES (?)');
    h.store.db.transaction(() => {
      for (let i = 0; i < FILLER_MB * 16; i++) insert.run(randomBytes(64 * 1024));
    })();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('delivers every message and steps through the snapshot', async () => {
    const creds = h.device('plug-live');
    const watcher = await connectMqtt(
      h.port,
      h.broker.credentials.createIntegrationUser({ username: 'watch', scope: 'read', topics: ['hearth/+/state'] }),
    );
    const received: number[] = [];
    watcher.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString()).seq as number));
    await watcher.subscribeAsync('hearth/plug-live/state', { qos: 1 });
    const device = await connectMqtt(h.port, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
    });

    let published = 0;
    const publishOne = (): void =>
      void device.publish('hearth/plug-live/state', JSON.stringify({ seq: published++, power: 10 }), { qos: 1 });
    // A steady stream: one message every 15 ms (below the device's publish budget).
    const timer = setInterval(publishOne, 15);
    await pollUntil('the stream is flowing', async () => received.length >= 5, 25_000, 20);

    const steps: { remainingPages: number; receivedSoFar: number }[] = [];
    const publishedBefore = published;
    const made = await createBackup({
      dataDir: h.dir,
      db: h.store.db,
      out: join(h.dir, 'out', 'live.hbk'),
      passphrase: 'a long enough passphrase',
      kdf: FAST_KDF,
      onSnapshotStep: (p) => steps.push({ remainingPages: p.remainingPages, receivedSoFar: received.length }),
    });
    const publishedDuring = published - publishedBefore;
    clearInterval(timer);
    await pollUntil('every message delivered', async () => received.length === published, 25_000, 20);

    // The snapshot went in many steps of SNAPSHOT_STEP_PAGES pages, not in one go.
    const pages = (FILLER_MB * 1024 * 1024) / 4096;
    expect(steps.length).toBeGreaterThanOrEqual(Math.floor(pages / SNAPSHOT_STEP_PAGES));
    expect(steps[0]!.remainingPages).toBeGreaterThan(steps.at(-1)!.remainingPages);
    // Messages were delivered between its steps, and the stream went on during the backup.
    expect(steps.at(-1)!.receivedSoFar).toBeGreaterThan(steps[0]!.receivedSoFar);
    expect(publishedDuring).toBeGreaterThan(0);
    // Every message, once, in order.
    expect(received).toEqual(Array.from({ length: published }, (_, i) => i));

    // The backup holds the whole database, consistent.
    const manifest = await verifyBackup(made.path, 'a long enough passphrase', join(h.dir, 'scratch'));
    expect(manifest.entries.find((e) => e.path === 'hearth.db')!.bytes).toBeGreaterThan(FILLER_MB * 1024 * 1024);
    watcher.end(true);
    device.end(true);
  }, 180_000);
});
