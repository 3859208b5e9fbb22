// The plug simulator against a real mosquitto: pairing over HTTP, MQTT with the credentials it
// was given, signed commands accepted and every kind of bad one refused, telemetry, and state
// that survives restarts. Assertions are on what leaves the simulator: HTTP answers, MQTT
// messages on the broker, files in its state directory, its event lines.
// Run inside scripts/netns-run (the simulator multicasts mDNS): node --test firmware/test/sim/sim.test.ts
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { Broker, Sim, claimAccepted, claimBody, hello, helloKeys, http, signCommand, tempDir } from './harness.ts';

const id = 'plug-a1b2c3d4e5f6';
const code = '24681357';
const hubKey = nacl.sign.keyPair();
const password = randomBytes(12).toString('hex');

type Msg = { topic: string; payload: string; retain: boolean };

describe('plug simulator with mosquitto', () => {
  const broker = new Broker();
  const state = tempDir('hearth-plug-state-');
  let sim: Sim;
  let hub: mqtt.MqttClient;
  const msgs: Msg[] = [];
  let counter = 0;

  const waitMsg = async (pred: (m: Msg) => boolean, from = 0, ms = 10000): Promise<Msg> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = msgs.slice(from).find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching MQTT message; last: ${JSON.stringify(msgs.slice(-4))}`);
  };
  const topic = (leaf: string) => `hearth/${id}/${leaf}`;
  const publishCmd = (payload: string) => hub.publishAsync(topic('cmd'), payload, { qos: 1 });

  before(async () => {
    broker.user('hub', 'hub-secret');
    broker.user(id, password);
    await broker.start();
    hub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'hub', password: 'hub-secret', clientId: 'test-hub', reconnectPeriod: 0 });
    hub.on('message', (t, p, packet) => msgs.push({ topic: t, payload: p.toString(), retain: packet.retain }));
    await hub.subscribeAsync(`hearth/${id}/#`, { qos: 1 });
    sim = new Sim(id, code, state);
  });

  after(async () => {
    await sim?.stop('SIGKILL');
    await hub?.endAsync();
    await broker.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('starts unclaimed and answers hello with its PAKE share and box key, and no proof', async () => {
    const started = await sim.start();
    assert.equal(started.claimed, false);
    assert.equal(started.id, id);
    assert.ok((started.httpPort as number) > 0);
    const h = await hello(sim.httpPort, id, code);
    assert.equal(h.status, 200);
    assert.equal(h.json.id, id);
    assert.equal(h.json.pv, 2);
    assert.equal(h.json.claimed, false);
    assert.equal(h.json.model, 'hearth-plug-sim');
    assert.deepEqual(Object.keys(h.json).sort(), ['boxPublicKey', 'claimed', 'fw', 'id', 'model', 'pv', 'share']);
    assert.ok(helloKeys(h)); // a valid point
    // The box key is the one kept in the state directory.
    assert.equal(readFileSync(join(state, 'box_pk')).toString('base64'), h.json.boxPublicKey);
  });

  it('refuses bad HTTP: unknown path, wrong method, an older hub, bad share, malformed claim, wrong code', async () => {
    assert.deepEqual(await http(sim.httpPort, 'GET', '/nope'), { status: 404, json: { error: 'not_found' } });
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/hello'), { status: 405, json: { error: 'method_not_allowed' } });
    // A hub of protocol 1 (hello?nonce=...) is told which version this plug speaks.
    const old = `/pair/hello?nonce=${randomBytes(32).toString('base64url')}`;
    assert.deepEqual(await http(sim.httpPort, 'GET', old), { status: 400, json: { error: 'unsupported_version', pv: 2 } });
    assert.deepEqual(await http(sim.httpPort, 'GET', '/pair/hello'), { status: 400, json: { error: 'unsupported_version', pv: 2 } });
    assert.deepEqual(await http(sim.httpPort, 'GET', '/pair/hello?pv=2&sid=short&share=short'), { status: 400, json: { error: 'malformed' } });
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', '{"box":1}'), { status: 400, json: { error: 'malformed' } });
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', 'x'.repeat(5000)), { status: 413, json: { error: 'too_large' } });
    // A hub given the wrong code: its one guess is refused online.
    const h = await hello(sim.httpPort, id, '11111111');
    assert.equal(h.status, 200);
    const wrong = claimBody(id, h, { host: '127.0.0.1', port: broker.port, username: id, password }, hubKey.publicKey, 0);
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', wrong), { status: 403, json: { error: 'wrong_code' } });
    // The session is over: the same claim again is no second guess.
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', wrong), { status: 410, json: { error: 'session_expired' } });
    assert.equal(existsSync(join(state, 'claimed')), false);
  });

  it('is claimed with the right code, connects with the credentials and says online', async () => {
    // A transcript recorded from an earlier session (hello and claim with the right code, the
    // claim never sent) is replayed after a new session: refused, nothing stored.
    const recorded = await hello(sim.httpPort, id, code);
    const recordedClaim = claimBody(id, recorded, { host: '127.0.0.1', port: broker.port, username: id, password: 'stolen' }, hubKey.publicKey, 0);
    assert.equal((await http(sim.httpPort, 'GET', `/pair/hello?${recorded.query}`)).status, 200);
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', recordedClaim), { status: 403, json: { error: 'wrong_code' } });
    assert.equal(existsSync(join(state, 'claimed')), false);
    const h = await hello(sim.httpPort, id, code);
    const body = claimBody(id, h, { host: '127.0.0.1', port: broker.port, username: id, password }, hubKey.publicKey, counter);
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', body), { status: 200, json: claimAccepted(h) });
    await sim.next((e) => e.event === 'claimed');
    await sim.next((e) => e.event === 'mqtt_connected');
    await waitMsg((m) => m.topic === topic('status') && m.payload === 'online');
    await waitMsg((m) => m.topic === topic('state') && m.payload === '{"switch":false}');
    // A fresh subscriber sees the retained online.
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'hub', password: 'hub-secret', reconnectPeriod: 0 });
    const retained = new Promise<string>((res) => late.on('message', (_t, p, pk) => { if (pk.retain) res(p.toString()); }));
    await late.subscribeAsync(topic('status'));
    assert.equal(await retained, 'online');
    await late.endAsync();
    assert.equal(readFileSync(join(state, 'claimed'), 'utf8'), '1');
    // Claimed: hello and claim are refused.
    assert.deepEqual((await hello(sim.httpPort, id, code)).json, { error: 'already_claimed' });
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', body), { status: 409, json: { error: 'already_claimed' } });
  });

  it('obeys a signed command and confirms it with a state message', async () => {
    const from = msgs.length;
    await publishCmd(signCommand(id, hubKey.secretKey, ++counter, Date.now(), true));
    await waitMsg((m) => m.topic === topic('state') && m.payload === '{"switch":true}', from);
    const e = await sim.next((e) => e.event === 'command');
    assert.deepEqual(e, { event: 'command', result: 'accepted', counter: 1, switch: true });
  });

  it('refuses forged, replayed, stale and malformed commands, reports them, keeps the relay', async () => {
    const from = msgs.length;
    const other = nacl.sign.keyPair();
    const cases: Array<[string, string, number]> = [
      [signCommand(id, other.secretKey, 50, Date.now(), false), 'bad_signature', 50],
      [signCommand(id, hubKey.secretKey, counter, Date.now(), false), 'replay', counter],
      [signCommand(id, hubKey.secretKey, 60, Date.now() - 60000, false), 'stale', 60],
      ['{"c":61,"cap":"switch"', 'malformed', 0],
      [signCommand('plug-ffffffffffff', hubKey.secretKey, 62, Date.now(), false), 'bad_signature', 62],
    ];
    for (const [payload, reason, c] of cases) {
      await publishCmd(payload);
      const ev = await waitMsg((m) => m.topic === topic('event') && JSON.parse(m.payload).counter === c && JSON.parse(m.payload).reason === reason, from);
      assert.deepEqual(JSON.parse(ev.payload), { type: 'cmd_rejected', reason, counter: c });
      assert.deepEqual(await sim.next((e) => e.event === 'command'), { event: 'command', result: 'rejected', reason, counter: c });
    }
    assert.equal(msgs.slice(from).filter((m) => m.topic === topic('state')).length, 0);
    // Still on: the load still draws power.
    const t = await waitMsg((m) => m.topic === topic('telemetry'), msgs.length);
    assert.ok(JSON.parse(t.payload).power > 40);
    // Refused commands did not move the stored counter.
    assert.equal(readFileSync(join(state, 'ctr'), 'utf8'), String(counter));
  });

  it('answers garbage HTTP with clear errors and garbage MQTT with malformed, and keeps working', async () => {
    const raw = (data: string) => new Promise<string>((res, rej) => {
      const s = connect(sim.httpPort, '127.0.0.1');
      let got = '';
      s.on('data', (d) => { got += d; });
      s.on('end', () => res(got));
      s.on('error', rej);
      s.end(data);
    });
    const status = (r: string) => [Number(r.split(' ')[1]), JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4))];
    assert.deepEqual(status(await raw('GARBAGE\r\n\r\n')), [400, { error: 'malformed' }]);
    const chunked = 'POST /pair/claim HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    assert.deepEqual(status(await raw(chunked)), [400, { error: 'malformed' }]);
    assert.deepEqual(status(await raw('POST /pair/claim HTTP/1.1\r\nContent-Length: abc\r\n\r\n')), [400, { error: 'malformed' }]);
    assert.deepEqual(status(await raw('POST /pair/claim HTTP/1.1\r\nContent-Length: 99999\r\n\r\n')), [413, { error: 'too_large' }]);
    assert.deepEqual(status(await raw('GET /pair/hello?' + 'x'.repeat(7000))), [413, { error: 'too_large' }]);
    assert.deepEqual(status(await raw('\0\x01\xff\r\n\r\n')), [400, { error: 'malformed' }]);
    // A CR inside the request line ends it: the space after it is not the line's (this read
    // out of bounds once; the fuzz corpus keeps the case under ASan).
    assert.deepEqual(status(await raw('GET\rX /a\r\n\r\n')), [400, { error: 'malformed' }]);
    const from = msgs.length;
    await hub.publishAsync(topic('cmd'), randomBytes(300), { qos: 1 });
    await hub.publishAsync(topic('cmd'), 'x'.repeat(5000), { qos: 1 });
    await hub.publishAsync(topic('cmd'), '', { qos: 1 });
    await waitMsg(() => msgs.slice(from).filter((m) => m.topic === topic('event')).length >= 3, from);
    for (const m of msgs.slice(from).filter((m) => m.topic === topic('event'))) {
      assert.deepEqual(JSON.parse(m.payload), { type: 'cmd_rejected', reason: 'malformed', counter: 0 });
    }
    // Still alive and obeying.
    await publishCmd(signCommand(id, hubKey.secretKey, ++counter, Date.now(), true));
    await waitMsg((m) => m.topic === topic('state') && m.payload === '{"switch":true}', from);
  });

  it('sends telemetry every second with power that moves around the load', async () => {
    const from = msgs.length;
    await waitMsg(() => msgs.slice(from).filter((m) => m.topic === topic('telemetry')).length >= 4, from, 15000);
    const samples = msgs.slice(from).filter((m) => m.topic === topic('telemetry')).map((m) => JSON.parse(m.payload));
    for (const s of samples) {
      assert.deepEqual(Object.keys(s).sort(), ['current', 'energy', 'power', 'voltage']);
      assert.ok(s.power > 50 && s.power < 70, `power ${s.power}`);
      assert.ok(s.voltage > 220 && s.voltage < 240, `voltage ${s.voltage}`);
    }
    assert.ok(new Set(samples.map((s) => s.power)).size > 1, 'power readings move');
    assert.ok(samples.some((s) => s.current > 0.2 && s.current < 0.32));
  });

  it('switches off on command and then reads 0 W', async () => {
    const from = msgs.length;
    await publishCmd(signCommand(id, hubKey.secretKey, ++counter, Date.now(), false));
    await waitMsg((m) => m.topic === topic('state') && m.payload === '{"switch":false}', from);
    const after = msgs.length;
    const t = await waitMsg((m) => m.topic === topic('telemetry') && JSON.parse(m.payload).power === 0, after);
    assert.equal(JSON.parse(t.payload).power, 0);
  });

  it('on SIGTERM says offline and exits cleanly; restarts claimed without pairing', async () => {
    const from = msgs.length;
    assert.equal(await sim.stop('SIGTERM'), 0);
    await waitMsg((m) => m.topic === topic('status') && m.payload === 'offline', from);
    const started = await sim.start();
    assert.equal(started.claimed, true);
    await sim.next((e) => e.event === 'mqtt_connected');
    await waitMsg((m) => m.topic === topic('status') && m.payload === 'online', from);
    // The counter survived: a replay of the last command is still refused.
    await publishCmd(signCommand(id, hubKey.secretKey, counter, Date.now(), true));
    assert.deepEqual(await sim.next((e) => e.event === 'command'), { event: 'command', result: 'rejected', reason: 'replay', counter });
    await publishCmd(signCommand(id, hubKey.secretKey, ++counter, Date.now(), true));
    assert.deepEqual(await sim.next((e) => e.event === 'command'), { event: 'command', result: 'accepted', counter, switch: true });
  });

  it('on SIGKILL the broker publishes its will: offline', async () => {
    await waitMsg((m) => m.topic === topic('status') && m.payload === 'online', 0);
    const from = msgs.length;
    await sim.stop('SIGKILL');
    const m = await waitMsg((m) => m.topic === topic('status'), from);
    assert.equal(m.payload, 'offline');
    // Restarted after a kill: the relay comes back on (power-on restore) and it reconnects.
    const started = await sim.start();
    assert.equal(started.relay, true);
    await sim.next((e) => e.event === 'mqtt_connected');
  });
});

describe('plug simulator over-current cut-off', () => {
  const broker = new Broker();
  const state = tempDir('hearth-plug-oc-');
  const ocId = 'plug-0c0c0c0c0c0c';
  // 4 kW at 230 V is 17.4 A, above the 10 A limit given here.
  const sim = new Sim(ocId, code, state, ['--load-watts', '4000', '--overcurrent-a', '10', '--no-mdns']);
  let hub: mqtt.MqttClient;
  const msgs: Msg[] = [];

  before(async () => {
    broker.user('hub', 'hub-secret');
    broker.user(ocId, password);
    await broker.start();
    hub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'hub', password: 'hub-secret', reconnectPeriod: 0 });
    hub.on('message', (t, p, packet) => msgs.push({ topic: t, payload: p.toString(), retain: packet.retain }));
    await hub.subscribeAsync(`hearth/${ocId}/#`, { qos: 1 });
  });
  after(async () => {
    await sim.stop('SIGKILL');
    await hub?.endAsync();
    await broker.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('switches the relay off and reports the current when the load draws too much', async () => {
    await sim.start();
    const h = await hello(sim.httpPort, ocId, code);
    const body = claimBody(ocId, h, { host: '127.0.0.1', port: broker.port, username: ocId, password }, hubKey.publicKey, 0);
    assert.equal((await http(sim.httpPort, 'POST', '/pair/claim', body)).status, 200);
    await sim.next((e) => e.event === 'mqtt_connected');
    await hub.publishAsync(`hearth/${ocId}/cmd`, signCommand(ocId, hubKey.secretKey, 1, Date.now(), true), { qos: 1 });
    const find = async (pred: (m: Msg) => boolean) => {
      for (let i = 0; i < 500; i++) {
        const m = msgs.find(pred);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no such message; have ${JSON.stringify(msgs.slice(-5))}`);
    };
    await find((m) => m.topic === `hearth/${ocId}/state` && m.payload === '{"switch":true}');
    // (the plug also reports its firmware on the event topic when it connects: {"type":"ota",...})
    const ev = JSON.parse((await find((m) => m.topic === `hearth/${ocId}/event` && m.payload.includes('"overcurrent"'))).payload);
    assert.equal(ev.type, 'overcurrent');
    assert.ok(ev.current > 15 && ev.current < 20, `current ${ev.current}`);
    const on = msgs.findIndex((m) => m.payload === '{"switch":true}');
    await find((m) => msgs.indexOf(m) > on && m.topic === `hearth/${ocId}/state` && m.payload === '{"switch":false}');
    assert.ok(((await sim.next((e) => e.event === 'overcurrent')).current as number) > 15);
  });
});

describe('plug simulator pairing window', () => {
  const wid = 'plug-0f0e0d0c0b0a';
  const state = tempDir('hearth-plug-window-');
  // A 1 s window after power-on instead of the plug's 10 minutes.
  const sim = new Sim(wid, code, state, ['--pairing-window-s', '1', '--no-mdns']);
  after(async () => {
    await sim.stop('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });

  it('answers hello only after a button press once the power-on window closed, a few a minute', async () => {
    await sim.start();
    await new Promise((r) => setTimeout(r, 1300));
    const closed = await hello(sim.httpPort, wid, code);
    assert.deepEqual([closed.status, closed.json], [403, { error: 'not_in_pairing_mode' }]);
    await sim.next((e) => e.event === 'hello_refused' && e.reason === 'not_in_pairing_mode');
    // The button (SIGUSR1) opens it again.
    sim.proc!.kill('SIGUSR1');
    await sim.next((e) => e.event === 'pairing_window');
    let last: Awaited<ReturnType<typeof hello>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await hello(sim.httpPort, wid, code);
      assert.equal(last.status, 200);
    }
    const flood = await hello(sim.httpPort, wid, code);
    assert.deepEqual([flood.status, flood.json], [429, { error: 'rate_limited' }]);
    // The refused hello did not replace the session: the claim made from the last answer works.
    const body = claimBody(wid, last!, { host: '127.0.0.1', port: 1, username: wid, password }, hubKey.publicKey, 0);
    assert.deepEqual(await http(sim.httpPort, 'POST', '/pair/claim', body), { status: 200, json: claimAccepted(last!) });
    await sim.next((e) => e.event === 'claimed');
  });
});
