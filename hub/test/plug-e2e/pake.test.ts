import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generator } from '../../src/drivers/plug/pake.ts';
import { tempDir } from '../helpers/temp.ts';
import { owner, plugHarness, rejection, type PlugHarness } from '../plugs/setup.ts';
import { HAVE_SIM, IN_NETNS, startSim, type SimProcess } from './helpers.ts';

/**
 * Pairing by PAKE (docs/plug-protocol.md "Pairing", protocol 2) between the hub's pairing code on
 * real parts (broker, SQLite, registry) and the C plug simulator, through a TCP relay that
 * records every byte both ways: what a listener on the Wi-Fi gets. From that recording the test
 * tries what worked against protocol 1 (testing codes offline) and replays it into a new
 * session; then it guesses online until the plug locks.
 */
const ID = 'plug-5a5a5a5a5a5a';
const CODE = '31415926';

interface Exchange {
  request: string;
  response: string;
}

/** A relay to the plug's pairing port that keeps each connection's request and response. */
async function recordingRelay(target: () => number): Promise<{ server: Server; port: number; log: Exchange[] }> {
  const log: Exchange[] = [];
  const server = createServer((client) => {
    const entry = { request: '', response: '' };
    log.push(entry);
    const plug = connect(target(), '127.0.0.1');
    client.on('data', (d) => {
      entry.request += d.toString('latin1');
      plug.write(d);
    });
    plug.on('data', (d) => {
      entry.response += d.toString('latin1');
      client.write(d);
    });
    client.on('end', () => plug.end());
    plug.on('end', () => client.end());
    client.on('error', () => plug.destroy());
    plug.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, log };
}

/** Every base64 / base64url value (16 bytes or more) in a recording, decoded, as hex. */
function binaryValues(log: Exchange[]): Set<string> {
  const out = new Set<string>();
  for (const e of log)
    for (const m of `${e.request}\n${e.response}`.matchAll(/[A-Za-z0-9+/_-]{22,}={0,2}/g)) {
      const text = m[0].replace(/-/g, '+').replace(/_/g, '/');
      out.add(Buffer.from(text, 'base64').toString('hex'));
    }
  return out;
}

/** The MQTT password the simulator stored at pairing (its `mq_pass` storage file). */
function storedPassword(dir: string): string | undefined {
  const file = readdirSync(dir).find((n) => n.startsWith('mq_pass'));
  return file ? readFileSync(join(dir, file), 'latin1').trim() : undefined;
}

describe.skipIf(!IN_NETNS || !HAVE_SIM)('pairing by PAKE with the C simulator, as a listener sees it', () => {
  let tmp: ReturnType<typeof tempDir>;
  let h: PlugHarness;
  let sim: SimProcess;
  let relay: Awaited<ReturnType<typeof recordingRelay>>;
  const stateDir = () => join(tmp.dir, 'plug');
  const boot = async () => {
    sim = await startSim({ id: ID, setupCode: CODE, stateDir: stateDir() });
  };
  const pair = (setupCode: string) => h.pair({ plugId: ID, setupCode, name: 'Lamp' });
  /** A factory reset: the plug forgets everything (a new box key, unclaimed) and starts again. */
  const factoryReset = async () => {
    await sim.stop();
    rmSync(stateDir(), { recursive: true, force: true });
    await boot();
  };

  beforeAll(async () => {
    tmp = tempDir();
    h = await plugHarness({ httpTimeoutMs: 10_000 });
    await boot();
    relay = await recordingRelay(() => sim.httpPort);
    // The hub finds the plug at the relay (as mDNS would say, with the relay's port).
    h.directory.seen({
      name: ID,
      port: relay.port,
      addresses: ['127.0.0.1'],
      txt: { id: ID, model: 'hearth-plug-sim', fw: '1.0.0', claimed: '0', pv: '2' },
    });
  }, 180_000);
  afterAll(async () => {
    await sim?.stop();
    relay?.server.close();
    await h?.close();
    tmp?.cleanup();
  });

  it('a wrong code is refused by the plug (pairing_wrong_code / wrong_code), a right one pairs; the recording tests no code', async () => {
    const wrong = await rejection(pair('27182818'));
    expect({ code: wrong.code, step: wrong.details?.step }).toEqual({ code: 'pairing_wrong_code', step: 'send_claim' });
    expect(sim.lines.some((l) => l.event === 'claim_refused' && l.status === 403)).toBe(true);
    expect(h.broker.store.devices.byId(ID)).toBeUndefined();

    const started = performance.now();
    const { device } = await pair(CODE);
    const ms = performance.now() - started;
    expect(device).toMatchObject({ id: ID, driver: 'plug' });
    console.log(`pairing with the C simulator (hello, claim, MQTT online): ${ms.toFixed(0)} ms`);

    // Both runs: hello + claim each, and nothing else on the wire.
    expect(relay.log.map((e) => e.request.split(' ').slice(0, 2).join(' ').replace(/\?.*/, ''))).toEqual([
      'GET /pair/hello',
      'POST /pair/claim',
      'GET /pair/hello',
      'POST /pair/claim',
    ]);
    const seen = binaryValues(relay.log);
    // What protocol 1 handed out (an HMAC of the code over values on the wire) and the code's
    // own generator: for every code, the right one included, none of them is on the wire, so a
    // listener has nothing to test a guess against.
    const hello = relay.log[2]!;
    const query = new URLSearchParams(hello.request.split(' ')[1]!.split('?')[1]);
    const answer = JSON.parse(hello.response.slice(hello.response.indexOf('\r\n\r\n') + 4));
    expect(Object.keys(answer).sort()).toEqual(['boxPublicKey', 'claimed', 'fw', 'id', 'model', 'pv', 'share']);
    const sid = Buffer.from(query.get('sid')!, 'base64url');
    for (let i = 0; i < 300; i++) {
      const code = i === 0 ? CODE : String(10_000_000 + i * 271_828);
      const hmac = (m: string) => createHmac('sha256', Buffer.from(code, 'ascii')).update(m).digest('hex');
      expect(seen.has(hmac(`hearth-pair-v1|${ID}|${answer.boxPublicKey}|${query.get('sid')}|${answer.share}`))).toBe(
        false,
      );
      expect(seen.has(hmac(`hearth-claim-v1|${ID}|${answer.share}`))).toBe(false);
      expect(seen.has(Buffer.from(generator(code, ID, sid).toBytes()).toString('hex'))).toBe(false);
    }
    // The MQTT password the plug got travelled only inside the claim's secretbox.
    const password = storedPassword(stateDir());
    expect(password).toBeTruthy();
    const wire = relay.log.map((e) => e.request + e.response).join('');
    expect(wire.includes(password!)).toBe(false);
    expect([...seen].some((hex) => hex.includes(Buffer.from(password!).toString('hex')))).toBe(false);
  });

  it('the recorded hello and claim replayed into a new session of the plug are refused; nothing is stored', async () => {
    await factoryReset();
    const [hello, claim] = relay.log.slice(2, 4);
    const send = async (raw: string) => {
      const socket = connect(sim.httpPort, '127.0.0.1');
      socket.write(Buffer.from(raw, 'latin1'));
      let text = '';
      for await (const chunk of socket) text += (chunk as Buffer).toString('latin1');
      return { status: Number(text.split(' ')[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) };
    };
    expect((await send(hello!.request)).status).toBe(200); // a fresh share for the old query
    expect(await send(claim!.request)).toEqual({ status: 403, body: { error: 'wrong_code' } });
    expect(storedPassword(stateDir())).toBeUndefined();
    expect(sim.lines.some((l) => l.event === 'claimed')).toBe(false);
  });

  it('online guessing is bounded: five wrong codes lock the plug (pairing_locked), even for the right code', async () => {
    await factoryReset();
    // The hub had paired this id: forget that device first (removal revokes its credentials).
    await h.registry.remove(ID, owner);
    for (let i = 0; i < 5; i++) {
      const err = await rejection(pair(String(20_000_000 + i)));
      expect({ i, code: err.code }).toEqual({ i, code: 'pairing_wrong_code' });
    }
    const locked = await rejection(pair(CODE));
    expect({ code: locked.code, step: locked.details?.step }).toEqual({ code: 'pairing_locked', step: 'send_claim' });
    expect(sim.lines.filter((l) => l.event === 'claim_refused').map((l) => l.status)).toEqual([
      403, 403, 403, 403, 403, 429,
    ]);
    expect(storedPassword(stateDir())).toBeUndefined();
  });
});
