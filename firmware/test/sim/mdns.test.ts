// The simulator's mDNS responder as other implementations see it: Avahi (avahi-browse -r)
// must resolve the service with its TXT, SRV port and A address; claiming must re-announce
// claimed=1; SIGTERM must say goodbye (TTL 0) so the entry goes away. Plus a legacy unicast
// query (RFC 6762 6.7) read byte by byte. Inside scripts/netns-run only (real multicast).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { Avahi } from './avahi.ts';
import { Sim, claimBody, hello, http, tempDir } from './harness.ts';

const id = 'plug-00aa11bb22cc';
const code = '13572468';

async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await f();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}; last: ${JSON.stringify(last)}`);
}

// ---- a minimal DNS message reader for the legacy unicast test (names may be compressed) ----
type RR = { name: string; type: number; cls: number; ttl: number; data: Buffer; rdOffset: number };
function readName(b: Buffer, off: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let jumps = 0; jumps < 16; ) {
    const l = b[off];
    if (l === 0) { off++; break; }
    if ((l & 0xc0) === 0xc0) { if (end < 0) end = off + 2; off = ((l & 0x3f) << 8) | b[off + 1]; jumps++; continue; }
    labels.push(b.subarray(off + 1, off + 1 + l).toString());
    off += 1 + l;
  }
  return [labels.join('.'), end < 0 ? off : end];
}
function parse(b: Buffer) {
  const id = b.readUInt16BE(0), flags = b.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => b.readUInt16BE(o));
  let off = 12;
  const questions: string[] = [];
  for (let i = 0; i < counts[0]; i++) { const [n, o] = readName(b, off); questions.push(n); off = o + 4; }
  const rrs: RR[] = [];
  for (let i = 0; i < counts[1] + counts[2] + counts[3]; i++) {
    const [name, o] = readName(b, off);
    const type = b.readUInt16BE(o), cls = b.readUInt16BE(o + 2), ttl = b.readUInt32BE(o + 4), len = b.readUInt16BE(o + 8);
    rrs.push({ name, type, cls, ttl, data: b.subarray(o + 10, o + 10 + len), rdOffset: o + 10 });
    off = o + 10 + len;
  }
  return { id, flags, counts, questions, rrs };
}
function query(name: string, type: number, qid: number): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(qid, 0);
  head.writeUInt16BE(1, 4);
  return Buffer.concat([head, ...labels, Buffer.from([0]), tail]);
}

describe('plug simulator mDNS', () => {
  const avahi = new Avahi();
  const state = tempDir('hearth-plug-mdns-');
  const sim = new Sim(id, code, state, ['--model', 'hearth-plug-c3']);

  before(async () => {
    await avahi.start();
    await sim.start();
  });
  after(async () => {
    await sim.stop('SIGKILL');
    await avahi.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('avahi-browse resolves the plug: name, host, address, port and TXT', async () => {
    const found = await eventually(() => avahi.browse('_hearth-plug._tcp'), (l) => l.some((e) => e.name === id), 'plug not resolved');
    const e = found.find((x) => x.name === id)!;
    assert.equal(e.type, '_hearth-plug._tcp');
    assert.equal(e.host, `${id}.local`);
    assert.equal(e.address, '127.0.0.1');
    assert.equal(e.port, sim.httpPort);
    assert.deepEqual(e.txt, { id, model: 'hearth-plug-c3', fw: '1.0.0', claimed: '0', pv: '2' });
  });

  it('answers a legacy unicast query with the question, PTR, SRV, TXT and A (TTL <= 10)', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const reply = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
    sock.send(query('_hearth-plug._tcp.local', 12, 0x4242), 5353, '224.0.0.251');
    const m = parse(await reply);
    sock.close();
    assert.equal(m.id, 0x4242);
    assert.equal(m.flags & 0x8400, 0x8400);
    assert.deepEqual(m.questions, ['_hearth-plug._tcp.local']);
    const byType = new Map(m.rrs.map((r) => [r.type, r]));
    const ptr = byType.get(12)!, srv = byType.get(33)!, txt = byType.get(16)!, a = byType.get(1)!;
    assert.ok(ptr && srv && txt && a);
    assert.equal(ptr.name, '_hearth-plug._tcp.local');
    assert.equal(srv.name, `${id}._hearth-plug._tcp.local`);
    assert.equal(srv.data.readUInt16BE(4), sim.httpPort);
    assert.deepEqual([...a.data], [127, 0, 0, 1]);
    assert.match(txt.data.toString('latin1'), /claimed=0/);
    for (const r of m.rrs) {
      assert.ok(r.ttl <= 10, 'legacy unicast TTL');
      assert.equal(r.cls, 1, 'no cache-flush bit in legacy unicast answers');
    }
  });

  it('survives garbage packets: truncated, compression loops, oversized labels', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const loop = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1]);
    const longLabel = Buffer.concat([Buffer.from([0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63]), Buffer.alloc(63, 0x61), Buffer.from([63]), Buffer.alloc(40, 0x62)]);
    const junk = [
      loop, longLabel, Buffer.alloc(3), Buffer.from([0, 0, 0, 0, 255, 255]), randomBytes(512),
      query('_hearth-plug._tcp.local', 12, 1).subarray(0, 20),
    ];
    for (let i = 0; i < 50; i++) junk.push(randomBytes(12 + (i % 40)));
    for (const j of junk) sock.send(j, 5353, '224.0.0.251');
    const reply = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
    sock.send(query(`${id}.local`, 1, 0x77), 5353, '224.0.0.251');
    const m = parse(await reply);
    sock.close();
    assert.equal(m.id, 0x77);
    assert.deepEqual([...m.rrs.find((r) => r.type === 1)!.data], [127, 0, 0, 1]);
  });

  it('re-announces claimed=1 when it is claimed', async () => {
    const h = await hello(sim.httpPort, id, code);
    const hub = nacl.sign.keyPair();
    // Nothing listens on port 9: the plug stays claimed and keeps retrying, which is fine here.
    const body = claimBody(id, h, { host: '127.0.0.1', port: 9, username: id, password: randomBytes(8).toString('hex') }, hub.publicKey, 0);
    assert.equal((await http(sim.httpPort, 'POST', '/pair/claim', body)).status, 200);
    await eventually(() => avahi.browse('_hearth-plug._tcp'), (l) => l.some((e) => e.name === id && e.txt.claimed === '1'), 'claimed=1 not seen');
  });

  it('says goodbye on SIGTERM: the service disappears from Avahi', async () => {
    assert.equal(await sim.stop('SIGTERM'), 0);
    await eventually(() => avahi.browse('_hearth-plug._tcp'), (l) => !l.some((e) => e.name === id), 'plug still listed after goodbye', 10000);
  });
});
