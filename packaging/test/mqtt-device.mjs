// A generic MQTT device for the packaged hub's smoke test (hub-smoke.sh), run on this machine's
// node with the checkout's mqtt.js (the hub's tests use the same client):
//   node packaging/test/mqtt-device.mjs PORT DEVICE_ID PASSWORD
// First checks that the broker refuses the device's id with a wrong password (CONNACK 4), then
// connects as the device with its retained offline will, subscribes to its commands, says online,
// reports 42.5 W, prints "ready", and answers every command with the commanded state, the way a
// plug confirms. Stays connected (the hub marks a device offline when its connection goes) until
// SIGTERM, then disconnects cleanly.
import mqtt from 'mqtt';

const [port, id, password] = process.argv.slice(2);
if (!port || !id || !password) {
  console.error('usage: node mqtt-device.mjs PORT DEVICE_ID PASSWORD');
  process.exit(2);
}
// Generous timeouts: the hub may be running under emulation on a loaded machine.
const base = { host: '127.0.0.1', port: Number(port), protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 120_000 };

const connect = (options) =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect({ ...base, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });

try {
  const wrong = await connect({ clientId: id, username: id, password: 'not-the-password' }).then(
    (client) => {
      client.end(true);
      return 'accepted';
    },
    (err) => (err.code === 4 ? 'refused' : `failed otherwise: ${err.message}`),
  );
  if (wrong !== 'refused') throw new Error(`a wrong password was ${wrong}`);

  const client = await connect({
    clientId: id,
    username: id,
    password,
    will: { topic: `hearth/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  client.on('message', (topic, payload) => {
    if (topic !== `hearth/${id}/cmd`) return;
    const cmd = JSON.parse(payload.toString());
    console.log(`command ${cmd.capability}=${JSON.stringify(cmd.value)}`);
    client.publish(`hearth/${id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
  });
  await client.subscribeAsync(`hearth/${id}/cmd`, { qos: 1 });
  await client.publishAsync(`hearth/${id}/status`, 'online', { qos: 1, retain: true });
  await client.publishAsync(`hearth/${id}/telemetry`, JSON.stringify({ power: 42.5 }), { qos: 1 });
  console.log('ready');
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    client.end(false, {}, () => process.exit(0));
  });
  client.on('close', () => {
    if (stopping) return;
    console.error('the broker closed the device connection');
    process.exit(1);
  });
} catch (err) {
  console.error(`mqtt device: ${err.message}`);
  process.exit(1);
}
