import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate } from '../../src/tls/hub-certificate.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { wireTap, type WireTap } from '../helpers/wire-tap.ts';
import { owner, plugHarness, type PlugHarness } from '../plugs/setup.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from './helpers.ts';

const P = { id: 'plug-ca97c4e5ca97', setupCode: '86420975' };
const NAME = 'Grandmas Quilt Heater';
const WATTS = 1789;
/** The power figures in telemetry payloads (the simulator adds ±2 % noise), as sent: e.g. "1795.3". */
const powerFigures = (messages: string[]) =>
  messages.filter((m) => m.includes('/telemetry')).flatMap((m) => m.match(/\b1[6-9]\d\d\.\d\b/g) ?? []);

/**
 * What someone on the Wi-Fi records during a whole home session (issue 17, "Tests"): pairing a
 * plug (the C simulator, PAKE over HTTP), the plug on MQTT over TLS taking a command, confirming
 * it and sending telemetry, and an integration (Home Assistant's part) on MQTT over TLS pinning
 * the hub's certificate and reading all of it. Every byte of the three conversations goes
 * through recording relays; none may carry a password, the setup code, a topic, the device's
 * name or a telemetry value. A control session of the same integration on cleartext 1883
 * through the same kind of relay shows its password and topics, so the search does find them.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('a packet capture of pairing, a command, telemetry and an integration', () => {
  let tmp: ReturnType<typeof tempDir>;
  let h: PlugHarness;
  let sim: SimProcess | undefined;
  let pem: string;
  const taps: WireTap[] = [];
  const stateDir = () => join(tmp.dir, 'plug');
  const boot = async () => {
    sim = await startSim({ ...P, stateDir: stateDir(), loadWatts: WATTS });
  };
  /** The simulator's stored MQTT password (its `mq_pass` file). */
  const plugPassword = () =>
    readFileSync(join(stateDir(), readdirSync(stateDir()).find((n) => n === 'mq_pass')!), 'latin1').trim();

  beforeAll(async () => {
    tmp = tempDir();
    const certStore = Store.open(join(tmp.dir, 'cert'));
    const cert = loadHubCertificate(certStore.settings, 'localhost');
    certStore.close();
    pem = cert.certPem;
    h = await plugHarness({ httpTimeoutMs: 10_000, tls: { keyPem: cert.keyPem, certPem: cert.certPem } });
    await boot();
  }, 180_000);
  afterAll(async () => {
    for (const tap of taps) tap.close();
    await sim?.stop();
    await h?.close();
    tmp?.cleanup();
  });

  it('shows no password, setup code, topic, device name or telemetry value in clear', async () => {
    // Pairing through a relay: the hub finds the plug there, as mDNS would say.
    const pairingTap = await wireTap(sim!.httpPort);
    taps.push(pairingTap);
    h.directory.seen({
      name: P.id,
      port: pairingTap.port,
      addresses: ['127.0.0.1'],
      txt: { id: P.id, model: 'hearth-plug-sim', fw: '1.0.0', claimed: '0', pv: '2' },
    });
    const { device } = await h.pair({ plugId: P.id, setupCode: P.setupCode, name: NAME });
    expect(device.name).toBe(NAME);
    expect(readFileSync(join(stateDir(), 'mq_tls_port'), 'utf8')).toBe(String(h.broker.broker.tlsPort));

    // The plug's MQTT over TLS through a relay: it dials the port it stored, pointed at the relay.
    const plugTap = await wireTap(h.broker.broker.tlsPort);
    taps.push(plugTap);
    await sim!.kill9();
    writeFileSync(join(stateDir(), 'mq_tls_port'), String(plugTap.port));
    await boot();
    await waitFor(
      () => (plugTap.seen().length > 0 && h.registry.get(P.id, owner).available ? true : undefined),
      'the plug online through the relay',
      60_000,
    );

    // An integration pinning the certificate, through its own relay, subscribed to everything.
    const ha = h.broker.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['#'] });
    const haTap = await wireTap(h.broker.broker.tlsPort);
    taps.push(haTap);
    const integration = await connectMqtt(haTap.port, {
      protocol: 'mqtts',
      ca: pem,
      servername: 'localhost',
      username: ha.username,
      password: ha.password,
    });
    const received: string[] = [];
    integration.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await integration.subscribeAsync('hearth/#', { qos: 1 });

    // A command (signed, confirmed by the plug) and the telemetry that follows the load.
    h.clock.advance(Date.now() - h.clock.now());
    const view = await h.registry.command(P.id, 'switch', true, owner);
    expect(view.state.switch).toBe(true);
    await waitFor(
      () => (powerFigures(received).length > 0 ? true : undefined),
      'the telemetry value at the integration',
      60_000,
    );
    expect(received.some((m) => m.startsWith(`hearth/${P.id}/state`))).toBe(true);
    integration.end(true);

    const wire = Buffer.concat([pairingTap.seen(), plugTap.seen(), haTap.seen()]);
    expect(pairingTap.seen().length).toBeGreaterThan(500);
    expect(plugTap.seen().length).toBeGreaterThan(1000);
    expect(haTap.seen().length).toBeGreaterThan(1000);
    const secrets = {
      plugPassword: plugPassword(),
      integrationPassword: ha.password,
      setupCode: P.setupCode,
      deviceName: NAME,
      topic: 'hearth/',
      telemetry: 'telemetry',
      power: 'power',
      switch: 'switch',
    };
    expect(secrets.plugPassword.length).toBeGreaterThan(20);
    const figures = powerFigures(received);
    expect(figures.length).toBeGreaterThan(0);
    for (const [i, figure] of figures.entries()) Object.assign(secrets, { [`telemetryValue${i}`]: figure });
    for (const [what, text] of Object.entries(secrets)) {
      expect(wire.includes(Buffer.from(text)), `${what} in clear`).toBe(false);
      // Passwords are base64url text; their bytes in any other encoding are not there either.
      expect(wire.includes(Buffer.from(text, 'utf16le')), `${what} as UTF-16`).toBe(false);
    }
  }, 300_000);

  it('control: the same integration on cleartext 1883 through a relay shows its password and topics', async () => {
    const clear = h.broker.broker.credentials.createIntegrationUser({
      username: 'clear-ha',
      scope: 'read',
      topics: ['#'],
    });
    const tap = await wireTap(h.broker.port);
    taps.push(tap);
    const client = await connectMqtt(tap.port, { username: clear.username, password: clear.password });
    const received: string[] = [];
    client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await client.subscribeAsync('hearth/#', { qos: 1 });
    await waitFor(() => (powerFigures(received).length > 0 ? true : undefined), 'telemetry', 60_000);
    client.end(true);
    for (const text of [clear.password, 'hearth/', 'telemetry', powerFigures(received)[0]!])
      expect(tap.seen().includes(Buffer.from(text)), text).toBe(true);
  }, 120_000);
});
