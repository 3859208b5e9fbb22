import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import nacl from 'tweetnacl';
import { type PakeKeys, plugRespond } from '../../src/drivers/plug/pake.ts';

/**
 * A Hearth plug written from docs/plug-protocol.md in TypeScript, for the hub's unit tests (the
 * end-to-end tests use the real C simulator). It serves the pairing endpoint, connects to the
 * broker with what the claim carried and verifies signed commands exactly as the protocol says.
 * Knobs let a test make it misbehave.
 */
export interface FakePlugOptions {
  id?: string;
  setupCode?: string;
  model?: string;
  /** Answer every claim with this status instead of checking it. */
  claimStatus?: number;
  /** Take the claim but never connect to MQTT. */
  neverConnect?: boolean;
  /** Run the PAKE with a different code (a plug that is not the one on the label). */
  proveWith?: string;
  /** Refuse every hello with this status and error (a closed pairing window, the rate limit). */
  helloRefusal?: { status: number; error: string };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export class FakePlug {
  readonly id: string;
  readonly setupCode: string;
  readonly options: FakePlugOptions;
  readonly box = nacl.box.keyPair();
  server!: Server;
  port = 0;
  claimed = false;
  /** What the claim carried, once opened. */
  claim:
    | {
        deviceId: string;
        mqtt: { host: string; port: number; username: string; password: string };
        hubSignPublicKey: string;
        counter: number;
      }
    | undefined;
  claims = 0;
  hellos = 0;
  relay = false;
  lastCounter = 0;
  client: MqttClient | undefined;
  readonly accepted: { c: number; v: boolean }[] = [];
  readonly rejected: { reason: string; counter: number }[] = [];
  /** The open PAKE session: its sid (base64) and keys. */
  #session: { sid: string; keys: PakeKeys } | undefined;

  constructor(options: FakePlugOptions = {}) {
    this.options = options;
    this.id = options.id ?? `plug-${randomBytes(6).toString('hex')}`;
    this.setupCode = options.setupCode ?? '12345678';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://plug');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && url.pathname === '/pair/hello') {
        this.hellos++;
        if (this.claimed) return send(409, { error: 'already_claimed' });
        if (this.options.helloRefusal)
          return send(this.options.helloRefusal.status, { error: this.options.helloRefusal.error });
        if (url.searchParams.get('pv') !== '2') return send(400, { error: 'unsupported_version', pv: 2 });
        const sid = Buffer.from(url.searchParams.get('sid') ?? '', 'base64url');
        const hubShare = Buffer.from(url.searchParams.get('share') ?? '', 'base64url');
        const code = this.options.proveWith ?? this.setupCode;
        const answer = sid.length === 16 ? plugRespond(code, this.id, sid, hubShare, this.box.publicKey) : undefined;
        if (!answer) return send(400, { error: 'malformed' });
        this.#session = { sid: b64(sid), keys: answer.keys };
        return send(200, {
          id: this.id,
          model: this.options.model ?? 'HP-1',
          fw: '1.0.0',
          pv: 2,
          claimed: false,
          boxPublicKey: b64(this.box.publicKey),
          share: b64(answer.share),
        });
      }
      if (req.method === 'POST' && url.pathname === '/pair/claim') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          this.claims++;
          if (this.options.claimStatus) return send(this.options.claimStatus, { error: 'forced' });
          if (this.claimed) return send(409, { error: 'already_claimed' });
          let body: { sid: string; confirm: string; nonce: string; box: string };
          try {
            body = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            return send(400, { error: 'malformed' });
          }
          const session = this.#session;
          if (!session || session.sid !== body.sid) return send(410, { error: 'session_expired' });
          this.#session = undefined;
          const confirm = Buffer.from(body.confirm ?? '', 'base64');
          if (confirm.length !== 32 || !timingSafeEqual(confirm, session.keys.hubConfirm))
            return send(403, { error: 'wrong_code' });
          const opened = nacl.secretbox.open(
            Buffer.from(body.box, 'base64'),
            Buffer.from(body.nonce, 'base64'),
            session.keys.claimKey,
          );
          if (!opened) return send(400, { error: 'malformed' });
          const plaintext = JSON.parse(Buffer.from(opened).toString());
          this.claim = plaintext;
          this.lastCounter = plaintext.counter;
          this.claimed = true;
          send(200, { ok: true, confirm: b64(session.keys.plugConfirm) });
          if (!this.options.neverConnect) void this.connect();
        });
        return;
      }
      send(404, { error: 'not_found' });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** A directory entry as mDNS would give it. */
  sighting(claimed = this.claimed) {
    return {
      name: this.id,
      port: this.port,
      addresses: ['127.0.0.1'],
      txt: { id: this.id, model: this.options.model ?? 'HP-1', fw: '1.0.0', claimed: claimed ? '1' : '0', pv: '2' },
    };
  }

  /** Connects with the claimed credentials, as the protocol says (will, retained online, state). */
  connect(): Promise<void> {
    const claim = this.claim!;
    const status = `hearth/${this.id}/status`;
    return new Promise((resolve, reject) => {
      const client = mqtt.connect({
        host: claim.mqtt.host,
        port: claim.mqtt.port,
        clientId: this.id,
        username: claim.mqtt.username,
        password: claim.mqtt.password,
        clean: false,
        keepalive: 10,
        reconnectPeriod: 0,
        protocolVersion: 4,
        will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
      });
      this.client = client;
      client.once('error', reject);
      client.once('connect', async () => {
        client.on('message', (_topic, payload) => this.#onCommand(payload));
        await client.subscribeAsync(`hearth/${this.id}/cmd`, { qos: 1 });
        await client.publishAsync(status, 'online', { qos: 1, retain: true });
        await this.publishState();
        resolve();
      });
    });
  }

  publishState(): Promise<unknown> {
    return this.client!.publishAsync(`hearth/${this.id}/state`, JSON.stringify({ switch: this.relay }), { qos: 1 });
  }

  publishTelemetry(values: Record<string, number>): Promise<unknown> {
    return this.client!.publishAsync(`hearth/${this.id}/telemetry`, JSON.stringify(values), { qos: 0 });
  }

  #onCommand(payload: Buffer): void {
    let cmd: { c: number; t: number; cap: string; v: boolean; sig: string };
    try {
      cmd = JSON.parse(payload.toString());
    } catch {
      return void this.#reject('malformed', 0);
    }
    const message = `hearth-cmd-v1|${this.id}|${cmd.c}|${cmd.t}|${cmd.cap}|${JSON.stringify(cmd.v)}`;
    const ok = nacl.sign.detached.verify(
      Buffer.from(message),
      Buffer.from(cmd.sig ?? '', 'base64'),
      Buffer.from(this.claim!.hubSignPublicKey, 'base64'),
    );
    if (!ok) return void this.#reject('bad_signature', cmd.c);
    if (!(cmd.c > this.lastCounter)) return void this.#reject('replay', cmd.c);
    if (Math.abs(Date.now() - cmd.t) > 30_000) return void this.#reject('stale', cmd.c);
    this.lastCounter = cmd.c;
    this.relay = cmd.v;
    this.accepted.push({ c: cmd.c, v: cmd.v });
    void this.publishState();
  }

  /** Publishes a reading every `ms` like the real plug (1 s), until stop(). */
  startTelemetry(ms = 1000, watts = 60): void {
    let energy = 0;
    this.#telemetry = setInterval(() => {
      if (!this.client?.connected) return;
      const power = this.relay ? watts : 0;
      energy += (power * ms) / 3_600_000_000;
      void this.publishTelemetry({ power, voltage: 230, current: Math.round((power / 230) * 1000) / 1000, energy });
    }, ms);
  }

  #telemetry: NodeJS.Timeout | undefined;

  #reject(reason: string, counter: number): Promise<unknown> {
    this.rejected.push({ reason, counter });
    return this.client!.publishAsync(
      `hearth/${this.id}/event`,
      JSON.stringify({ type: 'cmd_rejected', reason, counter }),
      { qos: 1 },
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.#telemetry);
    this.client?.end(true);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
