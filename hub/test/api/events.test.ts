import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';
import { connect } from './ws-client.ts';

/** A listening hub API with an owner; `base` is the events URL. */
async function listening(config: Record<string, unknown>) {
  const h = await harness({ eventsMaxBufferedBytes: 64 * 1024, config });
  const owner = await h.setupOwner();
  const baseline = h.bus.listenerCount();
  return { h, owner, baseline, base: `${await h.listen()}/api/v1/events` };
}

describe('WebSocket /api/v1/events (real socket)', () => {
  let h: Harness;
  let owner: string;
  let base: string;
  let baseline: number;
  beforeEach(async () => {
    // The shortest token lifetime, so expiry comes before the first keep-alive ping is due.
    ({ h, owner, base, baseline } = await listening({ auth: { accessTokenTtlS: 30 } }));
  });
  afterEach(async () => {
    await h.close();
  });

  it('streams a device.state event to an authenticated user and cleans up on close', async () => {
    const id = await h.addDevice();
    const client = connect(base, { headers: { authorization: `Bearer ${owner}` } });
    expect((await client.next('ready')).role).toBe('owner');
    expect(h.bus.listenerCount()).toBeGreaterThan(baseline);

    h.driver.ctx.reportState(id, { switch: true });
    const event = await client.next('device.state');
    expect(event).toEqual({ type: 'device.state', deviceId: id, capability: 'switch', value: true, at: h.clock.now() });

    client.ws.close();
    await client.closed;
    await expect.poll(() => h.bus.listenerCount()).toBe(baseline);
  });

  it('accepts the token as a bearer.<token> subprotocol or ?token=, answering a non-token protocol', async () => {
    const viaProtocol = connect(base, { protocols: ['hearth.events', `bearer.${owner}`] });
    await viaProtocol.next('ready');
    expect(viaProtocol.ws.protocol).toBe('hearth.events');
    const viaQuery = connect(`${base}?token=${encodeURIComponent(owner)}`);
    await viaQuery.next('ready');
    viaProtocol.ws.close();
    viaQuery.ws.close();
    await Promise.all([viaProtocol.closed, viaQuery.closed]);
  });

  it('closes with 4401 without a valid token', async () => {
    for (const client of [
      connect(base),
      connect(`${base}?token=forged.token`),
      connect(base, { headers: { authorization: 'Bearer nope' } }),
    ]) {
      const { code, reason } = await client.closed;
      expect({ code, reason }).toEqual({ code: 4401, reason: 'unauthorized' });
      expect(client.messages).toEqual([]);
    }
    expect(h.bus.listenerCount()).toBe(baseline);
  });

  it('sends audit events to admins only, rule and camera events to members, device events only for visible devices', async () => {
    const member = await h.userToken('member');
    const guest = await h.userToken('guest');
    const id = await h.addDevice();
    const clients = {
      owner: connect(base, { headers: { authorization: `Bearer ${owner}` } }),
      member: connect(base, { headers: { authorization: `Bearer ${member}` } }),
      guest: connect(base, { headers: { authorization: `Bearer ${guest}` } }),
    };
    await Promise.all(Object.values(clients).map((c) => c.next('ready')));

    await h.call('POST', '/api/v1/rooms', { token: owner, body: { name: 'Attic' } });
    h.driver.ctx.reportState(id, { power: 12.5 });
    await clients.owner.next('audit', (m) => m.action === 'room.add');
    await clients.member.next('device.state');
    await clients.guest.next('ready');
    // The owner got the same device event after the audit event; everything has been flushed.
    await clients.owner.next('device.state');
    await clients.member.next('telemetry.sample');

    expect(clients.member.messages.map((m) => m.type)).not.toContain('audit');
    expect(clients.guest.messages.map((m) => m.type)).toEqual(['ready']);

    // Rule runs and camera events: members see them (they read rules and watch cameras).
    h.bus.emit('rule.fired', { ruleId: 'rule-1', at: 5 });
    h.bus.emit('recording.event', { cameraId: 'cam-1', kind: 'motion', at: 6 });
    expect(await clients.member.next('rule.fired')).toMatchObject({ ruleId: 'rule-1', at: 5 });
    expect(await clients.member.next('recording.event')).toMatchObject({ cameraId: 'cam-1', kind: 'motion' });
    await clients.owner.next('recording.event');

    await h.registry.remove(id, { kind: 'system', part: 'test' });
    expect(await clients.member.next('device.removed')).toMatchObject({ deviceId: id });
    for (const c of Object.values(clients)) c.ws.close();
    await Promise.all(Object.values(clients).map((c) => c.closed));
    expect(clients.guest.messages.map((m) => m.type)).toEqual(['ready']);
  });

  it('closes with 4401 when the access token expires', async () => {
    const client = connect(base, { headers: { authorization: `Bearer ${owner}` } });
    await client.next('ready');
    h.clock.advance(h.config.auth.accessTokenTtlS * 1000);
    expect(await client.closed).toEqual({ code: 4401, reason: 'token_expired' });
    await expect.poll(() => h.bus.listenerCount()).toBe(baseline);
  });

  it('drops a client that stops reading instead of buffering without bound', async () => {
    const id = await h.addDevice('Doorbell', ['button']);
    const client = connect(base, { headers: { authorization: `Bearer ${owner}` } });
    await client.next('ready');
    // Stop reading at the TCP level: the server's send buffer fills up.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(32 * 1024);
    for (let round = 0; round < 2000 && h.bus.listenerCount() > baseline; round++) {
      for (let i = 0; i < 16; i++)
        h.bus.emit('device.state', { deviceId: id, capability: 'button', value: big, previous: undefined, at: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(h.bus.listenerCount()).toBe(baseline);
    client.ws.terminate();
  });
});

describe('events keep-alive', () => {
  it('drops a peer that stops answering pings', async () => {
    const { h, owner, base, baseline } = await listening({});
    try {
      const client = connect(base, { headers: { authorization: `Bearer ${owner}` } });
      await client.next('ready');
      (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      h.clock.advance(30_000); // first ping sent; the paused client never answers
      expect(h.bus.listenerCount()).toBeGreaterThan(baseline);
      h.clock.advance(30_000); // no pong since: dropped
      expect(h.bus.listenerCount()).toBe(baseline);
      client.ws.terminate();
    } finally {
      await h.close();
    }
  });
});

describe('events shutdown', () => {
  it('cuts off a client that does not answer the close frame, so the server can stop', async () => {
    const { h, owner, base } = await listening({});
    const client = connect(base, { headers: { authorization: `Bearer ${owner}` } });
    await client.next('ready');
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // ws would otherwise wait 30 s for the paused client's close frame; the test timeout is 30 s.
    await h.app.close();
    await expect.poll(() => h.app.websocketServer.clients.size).toBe(0);
    client.ws.terminate();
    await h.close();
  });
});
