import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { batchWrites } from '../../src/broker/transport/write-batcher.ts';

/** A real TCP connection on loopback: `out` is batched, everything it sends is collected at the other end. */
async function pair(): Promise<{ out: Socket; received: () => Promise<Buffer>; server: Server }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection');
  const out = connect(port, '127.0.0.1');
  await once(out, 'connect');
  const [peer] = (await accepted) as [Socket];
  const chunks: Buffer[] = [];
  peer.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(peer, 'end');
  batchWrites(out);
  return {
    out,
    server,
    received: async () => {
      await ended;
      return Buffer.concat(chunks);
    },
  };
}

describe('write batching', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it('sends the writes of a turn, strings and buffers, in order and unchanged', async () => {
    const p = await pair();
    server = p.server;
    expect(p.out.write(Buffer.from([0x30, 0x05]))).toBe(true);
    expect(p.out.write('hé/', 'utf8')).toBe(true);
    expect(p.out.write(new Uint8Array([1, 2]))).toBe(true);
    await new Promise((r) => setImmediate(r));
    p.out.write('next turn');
    p.out.end();
    expect((await p.received()).toString('latin1')).toBe(
      Buffer.concat([
        Buffer.from([0x30, 0x05]),
        Buffer.from('hé/'),
        Buffer.from([1, 2]),
        Buffer.from('next turn'),
      ]).toString('latin1'),
    );
  });

  it('keeps the order when a write has a callback or a chunk is too big to copy, and end() sends what was gathered', async () => {
    const p = await pair();
    server = p.server;
    const big = Buffer.alloc(100_000, 7);
    p.out.write('a');
    let called = false;
    p.out.write('b', () => {
      called = true;
    });
    p.out.write('c');
    p.out.write(big);
    p.out.write('d');
    p.out.end('e');
    const got = await p.received();
    expect(got.subarray(0, 3).toString()).toBe('abc');
    expect(got.subarray(3, 3 + big.length).equals(big)).toBe(true);
    expect(got.subarray(3 + big.length).toString()).toBe('de');
    expect(called).toBe(true);
  });

  it('grows its buffer for a turn with many writes', async () => {
    const p = await pair();
    server = p.server;
    const parts: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(`message ${i};`);
      parts.push(b);
      p.out.write(b);
    }
    p.out.end();
    expect((await p.received()).equals(Buffer.concat(parts))).toBe(true);
  });

  it('drops what was gathered when the connection is destroyed in the same turn', async () => {
    const p = await pair();
    server = p.server;
    p.out.write('lost');
    p.out.destroy();
    expect((await p.received()).length).toBe(0);
  });
});
