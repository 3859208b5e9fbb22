import { request } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';

/** One request with a chosen Host header (fetch will not let a page, or a test, set it). */
function get(port: number, path: string, host: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* the UI's HTML */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade with a chosen Host: the HTTP status it was refused with, or 101. */
function upgrade(port: number, path: string, host: string, protocol?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol ? [protocol] : [], { headers: { host } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('upgrade', () => {
      resolve(101);
    });
    ws.on('open', () => ws.terminate());
    ws.on('error', (err) => {
      if (!String(err).includes('closed before')) reject(err);
    });
  });
}

/**
 * DNS rebinding (issue 12): a page on an attacker's site that points its name at the hub must not
 * be answered, first run included. The hub serves only its own names and IP literals (and names
 * configured in http.allowedHosts); others are 421 host_not_allowed, WebSockets too.
 */
describe('Host allow-list', () => {
  let hub: HubProcess;
  const tmp = tempDir();

  beforeAll(async () => {
    const config = join(tmp.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ http: { allowedHosts: ['hearth.home.arpa'] } }));
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
  });
  afterAll(async () => {
    await hub?.kill9();
    tmp.cleanup();
  });

  it('refuses another name with 421 host_not_allowed on the API, setup and the UI', async () => {
    for (const path of ['/api/v1/health', '/api/v1/devices', '/', '/metrics', '/no/such/route']) {
      for (const host of [
        'attacker.example',
        `attacker.example:${hub.http}`,
        'hearth.home.arpa.attacker.example',
        'localhost.attacker.example',
      ]) {
        const res = await get(hub.http, path, host);
        expect({ path, host, status: res.status, code: res.body?.error?.code }).toEqual({
          path,
          host,
          status: 421,
          code: 'host_not_allowed',
        });
      }
    }
  });

  it('answers IP literals, localhost, its hostname, <hostname>.local and configured names', async () => {
    const own = hostname().toLowerCase();
    const hosts = [
      `127.0.0.1:${hub.http}`,
      '192.168.1.20',
      `[::1]:${hub.http}`,
      '[fe80::1]',
      `localhost:${hub.http}`,
      own,
      `${own.split('.')[0]}.local:${hub.http}`,
      `Hearth-${hostname()}.local`,
      'hearth.home.arpa',
      'HEARTH.home.arpa.',
    ];
    for (const host of hosts) {
      const res = await get(hub.http, '/api/v1/health', host);
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
  });

  it('refuses a request with no Host at all', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(hub.http, '127.0.0.1', () => socket.write('GET /api/v1/health HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.[01] 421 /);
    expect(answer).toContain('host_not_allowed');
  });

  it('refuses WebSocket upgrades addressed to another name', async () => {
    expect(await upgrade(hub.http, '/api/v1/events', 'attacker.example')).toBe(421);
    expect(await upgrade(hub.http, '/mqtt', 'attacker.example', 'mqtt')).toBe(421);
    // The hub's own names still upgrade.
    expect(await upgrade(hub.http, '/mqtt', `127.0.0.1:${hub.http}`, 'mqtt')).toBe(101);
    expect(await upgrade(hub.http, '/mqtt', `localhost:${hub.http}`, 'mqtt')).toBe(101);
  });
});
