import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { settle } from '../helpers/settle.ts';
import { COUNTER_RESERVE } from '../../src/drivers/plug/driver.ts';
import { FakePlug } from './fake-plug.ts';
import { owner, plugHarness, rejection, until, type PlugHarness } from './setup.ts';

describe('plug driver', () => {
  let h: PlugHarness;
  let p: FakePlug;

  beforeEach(async () => {
    h = await plugHarness();
    p = await new FakePlug().start();
    h.directory.seen(p.sighting());
    await h.service.pair(p.id, { setupCode: '12345678', name: 'Heater' }, owner);
    await until(() => h.registry.get(p.id, owner).state.switch === false);
  });
  afterEach(async () => {
    await p.stop();
    await h.close();
  });

  const counterOnDisk = () => h.broker.store.devices.byId(p.id)!.config.counter;

  it('signs each command with the next counter, stored before it leaves; the plug verifies and confirms', async () => {
    const view = await h.registry.command(p.id, 'switch', true, owner);
    expect(view.state.switch).toBe(true);
    await h.registry.command(p.id, 'switch', false, owner);
    expect(p.accepted).toEqual([
      { c: 1, v: true },
      { c: 2, v: false },
    ]);
    expect(p.rejected).toEqual([]);
    // The stored counter is a reservation, written before the first command left.
    expect(counterOnDisk()).toBe(COUNTER_RESERVE);
    expect(
      h.events
        .filter((e) => e.type === 'device.state' && e.payload.capability === 'switch')
        .map((e) => e.payload.value),
    ).toEqual([false, true, false]);
  });

  it('keeps counting after a hub restart, above the reservation on disk', async () => {
    await h.registry.command(p.id, 'switch', true, owner);
    await h.restartRegistry();
    await until(() => h.registry.get(p.id, owner).available);
    await h.registry.command(p.id, 'switch', false, owner);
    expect(p.accepted.map((a) => a.c)).toEqual([1, COUNTER_RESERVE + 1]);
    expect(p.rejected).toEqual([]);
    expect(counterOnDisk()).toBe(2 * COUNTER_RESERVE);
  });

  it('writes the counter once per COUNTER_RESERVE commands, always before a counter above it leaves', async () => {
    const writes: number[] = [];
    const counterRow = h.broker.store.db.prepare(
      `SELECT json_extract(config, '$.counter') AS c FROM devices WHERE id = ?`,
    );
    const sent: number[] = [];
    for (let i = 1; i <= COUNTER_RESERVE + 2; i++) {
      await h.registry.command(p.id, 'switch', i % 2 === 1, owner);
      const onDisk = (counterRow.get(p.id) as { c: number }).c;
      if (writes.at(-1) !== onDisk) writes.push(onDisk);
      sent.push(p.accepted.at(-1)!.c);
      // Never a counter on the wire above what a restart would start from.
      expect(onDisk).toBeGreaterThanOrEqual(sent.at(-1)!);
    }
    expect(sent).toEqual(Array.from({ length: COUNTER_RESERVE + 2 }, (_, i) => i + 1));
    expect(writes).toEqual([COUNTER_RESERVE, 2 * COUNTER_RESERVE]);
    expect(p.rejected).toEqual([]);
  });

  it('turns telemetry into samples of power, voltage, current and energy; ignores the rest', async () => {
    await p.publishTelemetry({ power: 1200.5, voltage: 229.8, current: 5.22, energy: 1.25, bogus: 1 } as Record<
      string,
      number
    >);
    await until(() => h.events.filter((e) => e.type === 'telemetry.sample').length === 4);
    expect(
      h.events.filter((e) => e.type === 'telemetry.sample').map((e) => [e.payload.capability, e.payload.value]),
    ).toEqual([
      ['power', 1200.5],
      ['voltage', 229.8],
      ['current', 5.22],
      ['energy', 1.25],
    ]);
    expect(h.registry.get(p.id, owner).state).toMatchObject({
      power: 1200.5,
      voltage: 229.8,
      current: 5.22,
      energy: 1.25,
    });
  });

  it('marks the plug offline from its Last Will and fails a waiting command at once', async () => {
    p.client!.stream.destroy(); // a crash: the broker publishes the will
    await until(() => !h.registry.get(p.id, owner).available);
    const err = await rejection(h.registry.command(p.id, 'switch', true, owner));
    expect(err.code).toBe('device_unavailable');
  });

  it('fails a command the plug rejected with device_rejected, without waiting for the timeout, and audits it', async () => {
    // The plug's counter is ahead (e.g. restored from another hub): our next one is a "replay".
    p.lastCounter = 100;
    const err = await rejection(settle(h.registry.command(p.id, 'switch', true, owner), h.clock, 1));
    expect(err.code).toBe('device_rejected');
    expect(err.details).toMatchObject({ reason: 'replay' });
    expect(p.rejected).toEqual([{ reason: 'replay', counter: 1 }]);
    expect(
      h.events
        .filter((e) => e.type === 'audit' && e.payload.action === 'plug.cmd_rejected')
        .map((e) => e.payload.details),
    ).toEqual([{ reason: 'replay', counter: 1, ours: true }]);
  });

  it('a forged or replayed command on the plug topic is rejected by the plug and audited as not ours', async () => {
    await h.registry.command(p.id, 'switch', true, owner);
    const creds = h.broker.broker.credentials.createIntegrationUser({
      username: 'ha',
      scope: 'readwrite',
      topics: ['hearth/#'],
    });
    const intruder = await connectMqtt(h.broker.port, { username: creds.username, password: creds.password });
    const seen = nextMessage(intruder, (t) => t === `hearth/${p.id}/cmd`);
    await intruder.subscribeAsync(`hearth/${p.id}/cmd`, { qos: 1 });
    await h.registry.command(p.id, 'switch', false, owner);
    const captured = (await seen).payload.toString();
    // Replay of a genuine command, and a forgery with a fresh counter but no valid signature.
    await intruder.publishAsync(`hearth/${p.id}/cmd`, captured, { qos: 1 });
    await intruder.publishAsync(
      `hearth/${p.id}/cmd`,
      JSON.stringify({ c: 999, t: Date.now(), cap: 'switch', v: true, sig: Buffer.alloc(64).toString('base64') }),
      { qos: 1 },
    );
    await until(() => p.rejected.length === 2);
    expect(p.rejected).toEqual([
      { reason: 'replay', counter: 2 },
      { reason: 'bad_signature', counter: 999 },
    ]);
    expect(p.relay).toBe(false);
    await until(
      () => h.events.filter((e) => e.type === 'audit' && e.payload.action === 'plug.cmd_rejected').length === 2,
    );
    expect(
      h.events
        .filter((e) => e.type === 'audit' && e.payload.action === 'plug.cmd_rejected')
        .map((e) => e.payload.details.ours),
    ).toEqual([true, false]);
    intruder.end(true);
  });

  it('answers a time request with its clock signed over the nonce; malformed and too frequent requests get none', async () => {
    const client = p.client!;
    const answers: { n: string; t: number; sig: string }[] = [];
    client.on('message', (topic, payload) => {
      if (topic === `hearth/${p.id}/time`) answers.push(JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(`hearth/${p.id}/time`, { qos: 0 });
    const nonce = (byte: number) => Buffer.alloc(16, byte).toString('base64');
    const ask = (body: string) => client.publishAsync(`hearth/${p.id}/timereq`, body, { qos: 1 });

    await ask(JSON.stringify({ n: nonce(1) }));
    await until(() => answers.length === 1);
    const [first] = answers;
    expect(first!.n).toBe(nonce(1));
    expect(first!.t).toBe(Math.trunc(h.clock.now()));
    const signed = new TextEncoder().encode(`hearth-time-v1|${p.id}|${nonce(1)}|${first!.t}`);
    expect(nacl.sign.detached.verify(signed, Buffer.from(first!.sig, 'base64'), h.signKey.publicKey)).toBe(true);

    const ignoredBefore = h.driver.ignoredMessages;
    await ask('{"n":"short"}');
    await ask('not json');
    await until(() => h.driver.ignoredMessages === ignoredBefore + 2);
    await ask(JSON.stringify({ n: nonce(2) })); // within a second of the last answer: dropped
    h.clock.advance(1000);
    await ask(JSON.stringify({ n: nonce(3) }));
    await until(() => answers.length === 2);
    expect(answers.map((a) => a.n)).toEqual([nonce(1), nonce(3)]);
  });

  it('removing the plug revokes its credentials at once: the broker disconnects it', async () => {
    const closed = new Promise<void>((resolve) => p.client!.once('close', () => resolve()));
    await h.registry.remove(p.id, owner);
    await closed;
    expect(h.broker.store.mqttCredentials.byUsername(p.id)).toBeUndefined();
    const err = await rejection(
      connectMqtt(h.broker.port, {
        clientId: p.id,
        username: p.id,
        password: p.claim!.mqtt.password,
      }) as Promise<never>,
    );
    expect((err as unknown as { code: number }).code).toBe(4);
  });
});
