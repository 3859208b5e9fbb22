import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from './helpers.ts';

const PLUG = { id: 'plug-d4d4d4d4d4d4', setupCode: '24682468' };
const PASSPHRASE = 'the keys to our home';
const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));

/**
 * Issue 16's promise, end to end with the C plug simulator in a loopback-only namespace: back
 * the hub up, keep using it (the plug's replay counter moves past what the backup holds), wipe
 * its data dir, restore the backup into a new one with hearth-admin, start a hub on it (same MQTT
 * port: that is the LAN address the plug was given), and the plug reconnects with the
 * credentials it already has and obeys a signed command. No pairing, no button press.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('backup → wipe → restore keeps plugs without re-pairing', () => {
  let tmp: ReturnType<typeof tempDir>;
  let oldHub: HubProcess;
  let newHub: HubProcess | undefined;
  let sim: SimProcess;
  let token: string;
  let createdAt: number;

  beforeAll(async () => {
    tmp = tempDir();
    oldHub = await startHub(join(tmp.dir, 'old'), ['--mdns', 'lo']);
    token = await setupOwner(oldHub);
    sim = await startSim({ ...PLUG, stateDir: join(tmp.dir, 'sim'), loadWatts: 40 });
  }, 180_000);
  afterAll(async () => {
    await sim?.stop();
    await newHub?.stop();
    await oldHub?.stop();
    tmp?.cleanup();
  });

  const command = (hub: HubProcess, bearer: string, value: boolean) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${PLUG.id}/commands`, {
      token: bearer,
      body: { capability: 'switch', value },
    });

  it('pairs the plug, backs the hub up over the API, and keeps commanding it after the backup', async () => {
    await waitFor(
      async () =>
        ((await api(oldHub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).find(
          (p) => p.id === PLUG.id,
        ),
      'the plug in /plugs/discovered',
      60_000,
    );
    const paired = await api(oldHub.baseUrl, 'POST', `/api/v1/plugs/${PLUG.id}/pair`, {
      token,
      body: { setupCode: PLUG.setupCode, name: 'Desk lamp' },
    });
    expect(paired.status, JSON.stringify(paired.body)).toBe(201);
    createdAt = (await api(oldHub.baseUrl, 'GET', `/api/v1/devices/${PLUG.id}`, { token })).body.createdAt ?? null;
    expect((await command(oldHub, token, true)).status).toBe(200);

    const made = await api(oldHub.baseUrl, 'POST', '/api/v1/backups', { token, body: { passphrase: PASSPHRASE } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const res = await fetch(`${oldHub.baseUrl}/api/v1/backups/${made.body.id}/file`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    writeFileSync(join(tmp.dir, 'home.hbk'), Buffer.from(await res.arrayBuffer()));

    // Used after the backup: the plug now refuses every counter the backup knows of.
    for (const value of [false, true, false]) expect((await command(oldHub, token, value)).status).toBe(200);
  }, 120_000);

  it('restores onto a new data dir after the old one is wiped; the plug reconnects and obeys a signed command', async () => {
    const mqttPort = oldHub.mqtt;
    const mqttsPort = oldHub.mqtts; // where the plug, paired with TLS, dials
    await oldHub.stop();
    rmSync(join(tmp.dir, 'old'), { recursive: true, force: true });

    writeFileSync(join(tmp.dir, 'pass'), `${PASSPHRASE}\n`);
    const restored = spawnSync(
      process.execPath,
      [
        ADMIN,
        'restore',
        '--data',
        join(tmp.dir, 'new'),
        '--file',
        join(tmp.dir, 'home.hbk'),
        '--passphrase-file',
        join(tmp.dir, 'pass'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(restored.status, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ plugCountersMoved: 1, counts: { users: 1, plugs: 1 } });

    newHub = await startHub(join(tmp.dir, 'new'), [
      '--mdns',
      'lo',
      '--mqtt-port',
      String(mqttPort),
      '--mqtts-port',
      String(mqttsPort),
    ]);
    // The token keys came back too: the access token the old hub issued still works.
    const device = await waitFor(
      async () => {
        const d = await api(newHub!.baseUrl, 'GET', `/api/v1/devices/${PLUG.id}`, { token });
        return d.status === 200 && d.body.available === true ? d.body : undefined;
      },
      'the plug back online on the restored hub',
      90_000,
    );
    expect(device).toMatchObject({ id: PLUG.id, name: 'Desk lamp', driver: 'plug' });
    expect(device.createdAt ?? null).toBe(createdAt);

    const on = await command(newHub, token, true);
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body.state.switch).toBe(true);
    // The plug itself says it obeyed (not merely that the hub believes so).
    await waitFor(
      () =>
        sim.lines.some((l) => l.event === 'command' && l.result === 'accepted' && Number(l.counter) > 2 ** 32)
          ? true
          : undefined,
      'the plug accepting a counter past the jump',
      20_000,
    );
    // And nothing was paired again: the plug was claimed once (by the old hub), and reconnected.
    expect(sim.lines.filter((l) => l.event === 'claimed')).toHaveLength(1);
    expect(sim.lines.filter((l) => l.event === 'mqtt_connected').length).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
