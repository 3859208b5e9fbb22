import { createECDH, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlMessage } from '@hearth/protocol/relay-messages';
import { toBase64 } from '@hearth/protocol/encoding';
import { newDeviceKeys } from '@hearth/protocol/keys';
import { PUSH_TIMEOUT_MS, PushDelivery } from '../../src/relay/push-delivery.ts';
import { harness, type Harness } from '../api/harness.ts';

/**
 * Push delivery on the harness's ManualClock (real SQLite, real Web Push encryption): what goes
 * to the relay's control channel, and what the caller gets when the relay's `push_result` comes
 * in time, or never comes.
 */
describe('push delivery: the relay answer, or push_timeout on the clock', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const subscription = (name: string) => ({
    endpoint: `https://push.example/${name}`,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: randomBytes(16).toString('base64url'),
    },
  });

  async function setup() {
    h = await harness({ remote: true });
    const token = await h.setupOwner();
    const { actor } = h.auth.inspectAccess(token);
    const enroll = (name: string) => {
      const keys = newDeviceKeys();
      const device = h.remote!.devices.enroll(actor, {
        publicKey: toBase64(keys.sign.publicKey),
        boxPublicKey: toBase64(keys.box.publicKey),
        name,
      });
      h.remote!.devices.setPush(actor, device.id, subscription(name));
      return device;
    };
    const phone = enroll('phone');
    const tablet = enroll('tablet');
    const sent: Extract<ControlMessage, { type: 'push' }>[] = [];
    const delivery = new PushDelivery({
      devices: h.remote!.devices,
      sender: h.remote!.push,
      clock: h.clock,
      control: () => (message) => {
        if (message.type === 'push') sent.push(message);
      },
    });
    return { phone, tablet, sent, delivery };
  }

  it('one request per subscribed device goes out; one the relay never answers ends as push_timeout when the clock passes 15 s', async () => {
    const { phone, tablet, sent, delivery } = await setup();
    let settled = false;
    const outcome = delivery.notify({ title: 'Door', body: 'opened' }).finally(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(sent.map((m) => m.endpoint).sort()).toEqual(['https://push.example/phone', 'https://push.example/tablet']);
    expect(sent.every((m) => m.headers['content-encoding'] === 'aes128gcm' && m.body.length > 0)).toBe(true);

    // The phone's push service answered 201; the tablet's answer never comes.
    // Each request waits on the clock, not on real time.
    expect(h.clock.pendingTimers()).toBe(2);
    const phoneRequest = sent.find((m) => m.endpoint.endsWith('/phone'))!;
    delivery.result(phoneRequest.id, { status: 201 });
    expect(h.clock.pendingTimers()).toBe(1);
    h.clock.advance(PUSH_TIMEOUT_MS - 1);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    h.clock.advance(1);
    expect((await outcome).sort((x, y) => x.deviceId.localeCompare(y.deviceId))).toEqual(
      [
        { deviceId: phone.id, status: 201 },
        { deviceId: tablet.id, code: 'push_timeout' },
      ].sort((x, y) => x.deviceId.localeCompare(y.deviceId)),
    );
    // A late answer changes nothing and both subscriptions are kept.
    const tabletRequest = sent.find((m) => m.endpoint.endsWith('/tablet'))!;
    delivery.result(tabletRequest.id, { status: 410 });
    expect(
      h
        .remote!.devices.all()
        .filter((d) => d.push)
        .map((d) => d.id)
        .sort(),
    ).toEqual([phone.id, tablet.id].sort());
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('an answer in time cancels the timer; 410 forgets that subscription', async () => {
    const { tablet, sent, delivery } = await setup();
    const outcome = delivery.notify({ title: 'Door', body: 'opened' }, { deviceId: tablet.id });
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    expect(h.clock.pendingTimers()).toBe(1);
    delivery.result(sent[0]!.id, { status: 410 });
    expect(await outcome).toEqual([{ deviceId: tablet.id, status: 410 }]);
    expect(h.clock.pendingTimers()).toBe(0);
    expect(h.remote!.devices.all().find((d) => d.id === tablet.id)!.push).toBeUndefined();
  });
});
