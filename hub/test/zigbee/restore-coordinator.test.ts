import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';
import { ZStackCoordinator, type EmulatedDevice } from '../helpers/zstack-coordinator.ts';
import { NV } from '../helpers/zstack-nv.ts';

/**
 * Issue 16: a dead SD card and a dead (or replaced) USB stick. The hub is backed up with a
 * joined Zigbee plug, then restored onto a fresh data dir with a brand-new emulated Z-Stack
 * coordinator (another IEEE address, factory-fresh NV). herdsman restores the coordinator
 * backup Hearth kept onto it; the test reads back from the new stick's NV what it ended up with
 * (network key, PAN id, extended PAN id, channel, the old coordinator's IEEE address, the plug in
 * its address manager and TC link key tables, its NWK frame counter) and sees the plug report
 * to the new hub and obey a command, never having joined again.
 *
 * The emulated plug keeps the network it joined and the highest NWK frame counter it took: the
 * new stick reaches it only with the whole network restored and a frame counter above the old
 * stick's (hub/test/helpers/zstack-coordinator.ts). The old stick sends thousands of frames after
 * herdsman's first coordinator backup, so the hub's backup must carry a fresh one.
 */

const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));
const PASSPHRASE = 'zigbee keeps its network';
const ON_OFF = 0x0006;
const PLUG_IEEE = '00158d0000cc0101';
const PLUG_NWK = 0x5b01;
const PLUG_ID = `zb-${PLUG_IEEE}`;
const OLD_STICK = '00124b00aaaa0001';
const NEW_STICK = '00124b00bbbb0002';

describe('restore onto a new Zigbee coordinator: the devices stay joined', () => {
  const tmp = tempDir();
  const oldStick = new ZStackCoordinator({ ieee: OLD_STICK });
  const newStick = new ZStackCoordinator({ ieee: NEW_STICK });
  const configFile = join(tmp.dir, 'hub.json');
  let oldHub: HubProcess | undefined;
  let newHub: HubProcess | undefined;
  let token: string;
  let plug: EmulatedDevice;
  let createdAt: unknown;
  let oldFrameCounter = 0;

  const running = (hub: HubProcess) =>
    pollUntil(
      'the zigbee coordinator to run',
      async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body?.state === 'running' || undefined,
      120_000,
    );
  const device = async (hub: HubProcess) =>
    (await api(hub.baseUrl, 'GET', `/api/v1/devices/${PLUG_ID}`, { token })).body;
  const command = (hub: HubProcess, value: boolean) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${PLUG_ID}/commands`, { token, body: { capability: 'switch', value } });

  beforeAll(async () => {
    await oldStick.listen();
    await newStick.listen();
    writeFileSync(configFile, JSON.stringify({ devices: { commandTimeoutMs: 4000 } }));
  });
  afterAll(async () => {
    await newHub?.stop();
    await oldHub?.stop();
    await oldStick.close();
    await newStick.close();
    tmp.cleanup();
  });

  it('a plug joins the old hub, obeys it, and the hub is backed up after weeks of Zigbee traffic', async () => {
    oldHub = await startHub(join(tmp.dir, 'old'), ['--zigbee', oldStick.url, '--config', configFile]);
    token = await setupOwner(oldHub);
    await running(oldHub);
    const open = await api(oldHub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 120 } });
    expect(open.status).toBe(200);
    plug = oldStick.join({
      ieee: PLUG_IEEE,
      nwkAddr: PLUG_NWK,
      manufacturerName: 'Acme',
      modelId: 'SP-120',
      inClusters: [0x0000, ON_OFF],
      attributes: { [ON_OFF]: { 0x0000: { type: 0x10, value: false } } },
    });
    const joined = await pollUntil(
      'the plug adopted',
      async () => {
        const d = await device(oldHub!);
        return d?.id === PLUG_ID && d.available ? d : undefined;
      },
      60_000,
    );
    createdAt = joined.createdAt ?? null;
    expect((await command(oldHub, true)).status).toBe(200);
    expect(plug.get(ON_OFF, 0)?.value).toBe(true);

    // Weeks of traffic since herdsman wrote its first coordinator backup (at network formation):
    // the plug has taken frame counters far beyond the 2500 herdsman adds on restore.
    oldStick.simulateTraffic(6000);
    oldFrameCounter = oldStick.frameCounter;
    expect(plug.frameCounterSeen).toBe(oldFrameCounter);

    const made = await api(oldHub.baseUrl, 'POST', '/api/v1/backups', { token, body: { passphrase: PASSPHRASE } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const res = await fetch(`${oldHub.baseUrl}/api/v1/backups/${made.body.id}/file`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    writeFileSync(join(tmp.dir, 'home.hbk'), Buffer.from(await res.arrayBuffer()));

    // The SD card and the stick die together: the old hub and coordinator are gone.
    await oldHub.stop();
    oldHub = undefined;
    await oldStick.close();
  }, 240_000);

  it('restored onto a new data dir and a new coordinator, the stick takes the old network (read back from its NV)', async () => {
    writeFileSync(join(tmp.dir, 'pass'), `${PASSPHRASE}\n`);
    const newDir = join(tmp.dir, 'new');
    const restored = spawnSync(
      process.execPath,
      [
        ADMIN,
        'restore',
        '--data',
        newDir,
        '--file',
        join(tmp.dir, 'home.hbk'),
        '--passphrase-file',
        join(tmp.dir, 'pass'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(restored.status, restored.stderr).toBe(0);

    // The plug is in radio range of the new stick, still on the network it joined.
    newStick.attach(plug);
    expect(newStick.reaches(plug)).toBe(false); // factory-fresh: no network at all
    newHub = await startHub(newDir, ['--zigbee', newStick.url, '--config', configFile]);
    await running(newHub);

    const network = JSON.parse(readFileSync(join(newDir, 'zigbee', 'network.json'), 'utf8')) as {
      panId: number;
      extendedPanId: number[];
      networkKey: number[];
    };
    const nib = newStick.nv.get(NV.NIB)!;
    expect(nib.readUInt16LE(33)).toBe(network.panId);
    expect([...nib.subarray(53, 61)].reverse()).toEqual(network.extendedPanId);
    expect(nib[22]).toBe(11); // nwkLogicalChannel
    expect(nib.readUInt32LE(36)).toBe(1 << 11); // channelList
    expect([...newStick.nv.get(NV.NWK_ACTIVE_KEY_INFO)!.subarray(1, 17)]).toEqual(network.networkKey);
    expect([...newStick.nv.get(NV.NWK_ALTERN_KEY_INFO)!.subarray(1, 17)]).toEqual(network.networkKey);
    // It runs as the old coordinator (the devices' trust center): ZCD_NV_EXTADDR holds the old IEEE.
    expect(Buffer.from(newStick.nv.get(NV.EXTADDR)!).reverse().toString('hex')).toBe(OLD_STICK);
    expect(newStick.ieee).toBe(OLD_STICK);
    expect(newStick.factoryIeee).toBe(NEW_STICK);
    // The plug is in its tables: address manager (a child with a link key) and TC link keys.
    expect(newStick.memory.addressManager()).toContainEqual({ user: 0x03, nwkAddr: PLUG_NWK, ieee: PLUG_IEEE });
    expect(newStick.memory.tclk().map((e) => e.ieee)).toContain(PLUG_IEEE);
    // Its NWK frame counter starts above every one the plug took from the old stick.
    expect(newStick.frameCounter).toBeGreaterThan(oldFrameCounter);
    expect(newStick.network()).toEqual(plug.network);

    const status = (await api(newHub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body;
    expect(status).toMatchObject({ state: 'running', channel: 11, permitJoin: false });
  }, 240_000);

  it('the plug reports to the new hub and obeys its command without joining again', async () => {
    const hub = newHub!;
    // A report from the plug (it was switched off by hand) reaches the restored hub.
    plug.set(ON_OFF, 0, { type: 0x10, value: false });
    newStick.report(plug, ON_OFF, [0]);
    const off = await pollUntil(
      'the report on the restored hub',
      async () => {
        const d = await device(hub);
        return d?.available && d.state?.switch === false ? d : undefined;
      },
      30_000,
    );
    expect(off).toMatchObject({ id: PLUG_ID, driver: 'zigbee' });
    expect(off.createdAt ?? null).toBe(createdAt);

    const since = newStick.sent.length;
    const on = await command(hub, true);
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body.state.switch).toBe(true);
    // The ZCL On command went out to the plug's network address, and the plug itself obeyed.
    const sent = await newStick.nextSent((s) => s.nwkAddr === PLUG_NWK && s.clusterId === ON_OFF, since);
    expect(sent.zcl.commandId).toBe(0x01);
    expect(plug.get(ON_OFF, 0)?.value).toBe(true);

    // Nothing joined: the network was never opened on the new stick.
    expect(newStick.permitJoinSeconds).toBe(0);
    expect(newStick.requests).not.toContain('mgmtPermitJoinReq');
    const devices = (await api(hub.baseUrl, 'GET', '/api/v1/devices', { token })).body as { id: string }[];
    expect(devices.filter((d) => d.id.startsWith('zb-'))).toHaveLength(1);
  }, 120_000);
});
