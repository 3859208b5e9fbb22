import { join } from 'node:path';
import ciao, { type CiaoService, type Responder } from '@homebridge/ciao';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';
import { FakePlug } from '../plugs/fake-plug.ts';
import { IN_NETNS, startAvahi, waitFor, type Avahi } from './helpers.ts';

/**
 * The hub's mDNS over real multicast on loopback, inside `scripts/netns-run`: what it announces
 * (checked with Avahi, an independent implementation) and what it finds. The plug here is the
 * TypeScript fake announced with ciao, so this runs without the C simulator; sim.test.ts does
 * the same with the real one.
 */
describe.skipIf(!IN_NETNS)('hub mDNS (inside a loopback-only network namespace)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  let avahi: Avahi;
  let responder: Responder;
  const plugs: FakePlug[] = [];

  const announce = async (plug: FakePlug): Promise<CiaoService> => {
    const service = responder.createService({
      name: plug.id,
      type: 'hearth-plug',
      port: plug.port,
      txt: plug.sighting().txt,
    });
    await service.advertise();
    return service;
  };
  const discovered = async () =>
    (await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[];

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(join(tmp.dir, 'hub'), ['--mdns', 'lo']);
    token = await setupOwner(hub);
    avahi = await startAvahi(join(tmp.dir, 'avahi'));
    responder = ciao.getResponder({ interface: 'lo' });
  });
  afterAll(async () => {
    for (const p of plugs) await p.stop();
    await responder?.shutdown();
    await hub?.stop();
    await avahi?.stop();
    tmp?.cleanup();
  });

  it('Avahi resolves the hub: _hearth._tcp on the HTTP port and _mqtt._tcp on the MQTT port', async () => {
    const hearth = await waitFor(
      async () => (await avahi.resolve('hearth')).find((s) => s.port === hub.http),
      '_hearth._tcp in avahi-browse',
    );
    expect(hearth).toMatchObject({ address: '127.0.0.1', port: hub.http });
    expect(hearth.txt).toContain('api=/api/v1');
    const mqtt = await waitFor(
      async () => (await avahi.resolve('mqtt')).find((s) => s.port === hub.mqtt),
      '_mqtt._tcp in avahi-browse',
    );
    expect(mqtt).toMatchObject({ address: '127.0.0.1', port: hub.mqtt });
  });

  it('announces its encrypted ports: https= and mqtts= on _hearth._tcp, _https._tcp and _secure-mqtt._tcp', async () => {
    expect(hub.https).toBeGreaterThan(0);
    const hearth = await waitFor(
      async () => (await avahi.resolve('hearth')).find((s) => s.port === hub.http),
      '_hearth._tcp in avahi-browse',
    );
    expect(hearth.txt).toContain(`https=${hub.https}`);
    expect(hearth.txt).toContain(`mqtts=${hub.mqtts}`);
    const https = await waitFor(
      async () => (await avahi.resolve('https')).find((s) => s.port === hub.https),
      '_https._tcp in avahi-browse',
    );
    expect(https).toMatchObject({ address: '127.0.0.1', port: hub.https });
    expect(https.txt).toContain('path=/');
    const mqtts = await waitFor(
      async () => (await avahi.resolve('secure-mqtt')).find((s) => s.port === hub.mqtts),
      '_secure-mqtt._tcp in avahi-browse',
    );
    expect(mqtts).toMatchObject({ address: '127.0.0.1', port: hub.mqtts });
  });

  it('lists an unclaimed plug it sees; pairs it through the API; a claimed or departed plug leaves the list', async () => {
    const plug = await new FakePlug({ model: 'HP-1' }).start();
    plugs.push(plug);
    const service = await announce(plug);
    const entry = await waitFor(
      async () => (await discovered()).find((p) => p.id === plug.id),
      'the plug in /plugs/discovered',
    );
    expect(entry).toEqual({ id: plug.id, model: 'HP-1', firmware: '1.0.0', address: '127.0.0.1', port: plug.port });

    const wrong = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${plug.id}/pair`, {
      token,
      body: { setupCode: '00000000', name: 'Desk' },
    });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'pairing_wrong_code']);

    const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${plug.id}/pair`, {
      token,
      body: { setupCode: plug.setupCode, name: 'Desk' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: plug.id, name: 'Desk', driver: 'plug', model: 'HP-1', available: true });

    // The plug re-announces with claimed=1 (plug-protocol.md "Discovery").
    await service.updateTxt({ ...plug.sighting().txt, claimed: '1' });
    await waitFor(
      async () => ((await discovered()).some((p) => p.id === plug.id) ? undefined : true),
      'the claimed plug to leave the list',
    );

    const other = await new FakePlug().start();
    plugs.push(other);
    const otherService = await announce(other);
    await waitFor(async () => (await discovered()).find((p) => p.id === other.id), 'a second plug');
    await otherService.end(); // goodbye packets (TTL 0)
    await waitFor(
      async () => ((await discovered()).some((p) => p.id === other.id) ? undefined : true),
      'the departed plug to leave the list',
    );
  });

  it('answers plug_not_found for a plug that is not announced', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/plugs/plug-abcdefabcdef/pair', {
      token,
      body: { setupCode: '12345678', name: 'X' },
    });
    expect([res.status, res.body.error.code]).toEqual([404, 'plug_not_found']);
  });
});
