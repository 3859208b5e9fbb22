// Test harness for the plug simulator: a real mosquitto on a free loopback port, the simulator
// started through scripts/plug-sim with its JSON event lines collected, and the hub's half of
// pairing (the hub's own CPace code, hub/src/drivers/plug/pake.ts) and command signing done here
// with tweetnacl and node:crypto, per docs/plug-protocol.md. Everything runs on 127.0.0.1 inside scripts/netns-run.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import nacl from 'tweetnacl';
import { finishHubPake, type HubPake, type PakeKeys, startHubPake } from '../../../hub/src/drivers/plug/pake.ts';

export const root = resolve(import.meta.dirname, '../../..');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const canConnect = (port: number) =>
  new Promise<boolean>((res) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });

export class Broker {
  port = 0;
  dir = tempDir('hearth-mosq-');
  #proc?: ChildProcess;
  #users = new Map<string, string>();

  user(name: string, password: string): void {
    this.#users.set(name, password);
    const file = join(this.dir, 'passwd');
    writeFileSync(file, '');
    for (const [u, p] of this.#users) execFileSync('mosquitto_passwd', ['-b', file, u, p]);
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${join(this.dir, 'passwd')}`,
      'persistence false',
      'set_tcp_nodelay true', // no Nagle delay on small packets someone waits for
      'user root', // stay root: the temp dir is not readable by the mosquitto user
      '',
    ].join('\n'));
    this.#proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.#proc.stderr!.on('data', (d) => { err += d; });
    await until(() => canConnect(this.port), `mosquitto on ${this.port}: ${err}`);
  }

  async stop(): Promise<void> {
    this.#proc?.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type SimEvent = Record<string, unknown> & { event: string };

export class Sim {
  events: SimEvent[] = [];
  proc?: ChildProcess;
  exited?: Promise<number | null>;
  #seen = 0;
  id: string;
  code: string;
  state: string;
  extra: string[];
  constructor(id: string, code: string, state: string, extra: string[] = []) {
    this.id = id;
    this.code = code;
    this.state = state;
    this.extra = extra;
  }

  async start(): Promise<SimEvent> {
    this.events = [];
    this.#seen = 0;
    this.proc = spawn(join(root, 'scripts/plug-sim'),
      ['--id', this.id, '--setup-code', this.code, '--state', this.state, '--http-port', '0', '--address', '127.0.0.1', ...this.extra],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    this.exited = new Promise((res) => this.proc!.once('exit', (code) => res(code)));
    let buf = '';
    this.proc.stdout!.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.events.push(JSON.parse(line));
      }
    });
    return this.next((e) => e.event === 'started', 60000); // the first run may compile
  }

  /** The next event (after the last one returned) matching pred. */
  async next(pred: (e: SimEvent) => boolean, ms = 10000): Promise<SimEvent> {
    let found: SimEvent | undefined;
    await until(() => {
      for (let i = this.#seen; i < this.events.length; i++) {
        if (pred(this.events[i])) { found = this.events[i]; this.#seen = i + 1; return true; }
      }
      return false;
    }, `simulator event (have: ${JSON.stringify(this.events.slice(-3))})`, ms);
    return found!;
  }

  get httpPort(): number {
    return this.events.find((e) => e.event === 'started')!.httpPort as number;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.proc || this.proc.exitCode !== null) return this.proc?.exitCode ?? null;
    this.proc.kill(signal);
    return this.exited!;
  }
}

// ---- the hub's half of the protocol ----

export const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
export async function http(port: number, method: string, path: string, body?: string) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, body });
  return { status: r.status, json: await r.json() as Record<string, unknown> };
}

/** A hello as the hub sends it for this plug id and code: the hub's PAKE session travels along. */
export async function hello(port: number, id: string, code: string) {
  const pake = startHubPake(code, id);
  const url = (u: Uint8Array) => Buffer.from(u).toString('base64url');
  const query = `pv=2&sid=${url(pake.sid)}&share=${url(pake.share)}`;
  const r = await http(port, 'GET', `/pair/hello?${query}`);
  return { ...r, pake, query };
}

/** The hub's keys from the plug's hello answer (undefined for an answer without a valid share). */
export function helloKeys(h: { pake: HubPake; json: Record<string, unknown> }): PakeKeys | undefined {
  const bytes = (s: unknown) => new Uint8Array(Buffer.from(String(s), 'base64'));
  return finishHubPake(h.pake, bytes(h.json.share), bytes(h.json.boxPublicKey));
}

/** The claim body: the hub's confirmation, the credentials in a secretbox under the claim key. */
export function claimBody(
  id: string,
  h: { pake: HubPake; json: Record<string, unknown> },
  mqtt: object,
  hubSignPublicKey: Uint8Array,
  counter: number,
): string {
  const keys = helloKeys(h)!;
  const nonce = nacl.randomBytes(24);
  const plaintext = JSON.stringify({ deviceId: id, mqtt, hubSignPublicKey: b64(hubSignPublicKey), counter });
  const box = nacl.secretbox(new TextEncoder().encode(plaintext), nonce, keys.claimKey);
  return JSON.stringify({ sid: b64(h.pake.sid), confirm: b64(keys.hubConfirm), nonce: b64(nonce), box: b64(box) });
}

/** What an accepted claim is answered with: ok and the plug's confirmation for this session. */
export const claimAccepted = (h: { pake: HubPake; json: Record<string, unknown> }) => ({ ok: true, confirm: b64(helloKeys(h)!.plugConfirm) });

export function signCommand(id: string, secretKey: Uint8Array, c: number, t: number, v: boolean): string {
  const msg = `hearth-cmd-v1|${id}|${c}|${t}|switch|${JSON.stringify(v)}`;
  const sig = nacl.sign.detached(new TextEncoder().encode(msg), secretKey);
  return JSON.stringify({ c, t, cap: 'switch', v, sig: b64(sig) });
}
