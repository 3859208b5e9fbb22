/**
 * Mosquitto (the Debian package) as the reference broker: started on a free loopback port with a
 * generated config in a temp dir, doing the same work as the hub's broker: a password per client
 * (password_file, hashed by mosquitto_passwd), an ACL that keeps each device on hearth/<id>/...
 * and gives the integration user '#', and persistence in the temp dir.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { captureTail, freePort, makeTempDir, removeTempDir, sleep, spawnTracked, stopChild } from './proc.ts';
import type { ServerCredential } from './hub-broker-server.ts';

export interface MosquittoOptions {
  deviceIds: string[];
  integration: string;
  /**
   * Messages queued per client beyond those in flight; 0 = unlimited. Mosquitto 2.0.11 counts a
   * QoS 1 message until the subscriber's PUBACK is *processed*, and it reads one packet per socket
   * per loop pass, so under load PUBACKs lag and any bound (even 10,000, the hub's default
   * mqtt.maxClientQueue) makes it drop QoS 1 messages to the subscriber. The bench default is
   * unlimited: the reference is Mosquitto's best lossless rate.
   */
  maxQueuedMessages: number;
  /** `set_tcp_nodelay`: off by default in Mosquitto; the hub's listener sets noDelay. */
  noDelay: boolean;
  /** A second listener, MQTT over TLS with this certificate and key (PEM files): `tlsPort`. */
  tls?: { certFile: string; keyFile: string };
}

export interface RunningMosquitto {
  pid: number;
  port: number;
  /** The TLS listener's port (with `tls`), else 0. */
  tlsPort: number;
  version: string;
  devices: ServerCredential[];
  integration: { username: string; password: string };
  dir: string;
  stop(): Promise<void>;
}

export function mosquittoVersion(): string {
  try {
    const out = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    // `mosquitto -h` exits 3 after printing its usage.
    const out = String((err as { stdout?: string }).stdout ?? '');
    const m = /mosquitto version (\S+)/.exec(out);
    if (m) return m[1]!;
    throw new Error('mosquitto is not installed (Debian package "mosquitto"; `npm run bench` installs it)');
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions): Promise<RunningMosquitto> {
  const version = mosquittoVersion();
  const dir = makeTempDir('mosquitto');
  const secret = (): string => randomBytes(18).toString('base64url');
  const devices = opts.deviceIds.map((id) => ({ id, username: id, password: secret() }));
  const integration = { username: opts.integration, password: secret() };

  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, [...devices, integration].map((c) => `${c.username}:${c.password}\n`).join(''), {
    mode: 0o600,
  });
  // Hash the whole file in place (PBKDF2-SHA512), as an installer would.
  execFileSync('mosquitto_passwd', ['-U', passwd], { stdio: ['ignore', 'ignore', 'pipe'] });

  writeFileSync(
    join(dir, 'acl'),
    [
      `user ${integration.username}`,
      'topic readwrite #',
      '',
      '# every device (username = device id) only on its own topics',
      'pattern readwrite hearth/%u/#',
      '',
    ].join('\n'),
  );

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const tlsPort = opts.tls ? await freePort() : 0;
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        // Run as whoever started the bench; as root it would otherwise switch to user mosquitto
        // and could not read this private temp dir.
        `user ${userInfo().username}`,
        `listener ${port} 127.0.0.1`,
        ...(opts.tls
          ? [`listener ${tlsPort} 127.0.0.1`, `certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`]
          : []),
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${join(dir, 'acl')}`,
        'persistence true',
        `persistence_location ${dir}/`,
        `max_queued_messages ${opts.maxQueuedMessages}`,
        `set_tcp_nodelay ${opts.noDelay}`,
        // HEARTH_BENCH_MOSQUITTO_LOG=FILE: everything mosquitto says, for debugging the bench.
        ...(process.env.HEARTH_BENCH_MOSQUITTO_LOG
          ? [`log_dest file ${process.env.HEARTH_BENCH_MOSQUITTO_LOG}`, 'log_type all']
          : ['log_dest stderr', 'log_type error', 'log_type warning']),
        '',
      ].join('\n'),
    );
    const child = spawnTracked('mosquitto', ['-c', conf]);
    const stderr = captureTail(child.stderr);
    child.stdout?.resume();
    const deadline = Date.now() + 5000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await portOpen(port)) && (!tlsPort || (await portOpen(tlsPort)))) {
        up = true;
        break;
      }
      await sleep(50);
    }
    if (up) {
      return {
        pid: child.pid!,
        port,
        tlsPort,
        version,
        devices,
        integration,
        dir,
        async stop() {
          await stopChild(child);
          removeTempDir(dir);
        },
      };
    }
    await stopChild(child, 1000);
    // Someone may have taken the port between freePort() and mosquitto's bind: try another.
    if (attempt >= 2) throw new Error(`mosquitto did not start: ${stderr() || 'no output'}`);
  }
}
