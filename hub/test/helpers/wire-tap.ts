import { once } from 'node:events';
import { createServer, connect as connectTcp, type AddressInfo, type Server } from 'node:net';

export interface WireTap {
  /** Connect here instead of to the real port. */
  port: number;
  /** Every byte that crossed, both directions: what someone on the Wi-Fi sees. */
  seen(): Buffer;
  close(): void;
}

/** A TCP relay on loopback to `port` that records every byte in both directions. */
export async function wireTap(port: number): Promise<WireTap> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    client.on('data', (d: Buffer) => chunks.push(d));
    upstream.on('data', (d: Buffer) => chunks.push(d));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen: () => Buffer.concat(chunks),
    close: () => server.close(),
  };
}
