import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { startHub, type HubProcess } from '../../../hub/test/helpers/hub-process.ts';
import { api, readSetupCode, type JsonResponse } from '../../../hub/test/helpers/http.ts';
import { connectMqtt } from '../../../hub/test/helpers/mqtt.ts';
import { tempDir } from '../../../hub/test/helpers/temp.ts';

export { api };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const OWNER = { username: 'owner', password: 'correct horse battery' };

/** Builds ui/dist when it is missing or older than its sources (the same check `npm start` does). */
export function ensureUiBuilt(): void {
  execFileSync('bash', [join(ROOT, 'scripts/lib/ui.sh')], { stdio: 'inherit' });
}

export interface TestHome {
  hub: HubProcess;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** The real hub process on free loopback ports, mDNS off, in a fresh data dir. */
export async function startTestHub(extraArgs: string[] = []): Promise<TestHome> {
  const tmp = tempDir('hearth-ui-');
  const dataDir = join(tmp.dir, 'data');
  const hub = await startHub(dataDir, extraArgs);
  return {
    hub,
    dataDir,
    cleanup: async () => {
      await hub.kill9();
      tmp.cleanup();
    },
  };
}

/**
 * Creates OWNER on a fresh hub through the API, with the setup code the hub wrote to its data dir;
 * the answer carries the owner's session (`body.accessToken`).
 */
export function createOwner(hub: HubProcess): Promise<JsonResponse> {
  return api(hub.baseUrl, 'POST', '/api/v1/setup', { body: { ...OWNER, setupCode: readSetupCode(hub.dataDir) } });
}

export async function ownerToken(baseUrl: string): Promise<string> {
  const res = await api(baseUrl, 'POST', '/api/v1/auth/login', { body: OWNER });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return res.body.accessToken as string;
}

export interface FakeDevice {
  id: string;
  client: MqttClient;
  /** Publishes a telemetry reading, as a metering plug does every few seconds. */
  telemetry(values: Record<string, number>): Promise<void>;
  /** Stops answering commands (a device that hangs). */
  mute(): void;
}

/**
 * An MQTT device on a real connection to the hub's broker: the wire protocol of the generic
 * `mqtt` driver (retained status with a Last Will, commands answered with the new state).
 */
export async function addMqttDevice(
  hub: HubProcess,
  token: string,
  name: string,
  capabilities = ['switch', 'power'],
  roomId?: string,
): Promise<FakeDevice> {
  const res = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
    token,
    body: { name, driver: 'mqtt', capabilities, ...(roomId ? { roomId } : {}) },
  });
  if (res.status !== 201) throw new Error(`device create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const { device, mqtt } = res.body as { device: { id: string }; mqtt: { password: string } };
  const id = device.id;
  const client = await connectMqtt(hub.mqtt, {
    clientId: id,
    username: id,
    password: mqtt.password,
    will: { topic: `hearth/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  let answering = true;
  await client.subscribeAsync(`hearth/${id}/cmd`, { qos: 1 });
  client.on('message', (topic, payload) => {
    if (topic !== `hearth/${id}/cmd` || !answering) return;
    const cmd = JSON.parse(payload.toString()) as { capability: string; value: unknown };
    client.publish(`hearth/${id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
  });
  await client.publishAsync(`hearth/${id}/status`, 'online', { qos: 1, retain: true });
  return {
    id,
    client,
    telemetry: async (values) => {
      await client.publishAsync(`hearth/${id}/telemetry`, JSON.stringify(values), { qos: 0 });
    },
    mute: () => {
      answering = false;
    },
  };
}
