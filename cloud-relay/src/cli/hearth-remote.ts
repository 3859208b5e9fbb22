import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RemoteClient, type RemoteResponse } from '@hearth/protocol/client';
import { fromUtf8, toBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';
import { parseInviteLink, redeemInvite } from '@hearth/protocol/invite';
import { newDeviceKeys } from '@hearth/protocol/keys';
import { CliError, readKeys, writeKeys, type KeysFile } from './keys-file.ts';
import { fetchRelayBackup, listRelayBackups, restoreToHub } from './relay-backups.ts';

const USAGE = `Usage:
  hearth-remote enroll --hub URL --username U --password P --keys FILE [--name NAME]
      enrol this machine on the LAN; FILE gets the device key, hub id and relay address
  hearth-remote invite --hub URL --username U --password P [--name NAME]
      on the LAN: print a one-time invite link (valid 30 minutes) for another device of U
  hearth-remote redeem --link URL --keys FILE [--name NAME]
      anywhere: enrol this machine with an invite link, through the relay; FILE as for enroll
  hearth-remote login  --keys FILE --password P [--relay URL]
      log in through the relay (the device's own user); the session is kept in FILE
  hearth-remote call   --keys FILE [--relay URL] [--password P] [--out FILE] METHOD PATH [JSON]
      call the hub's API through the relay; prints the body (or saves it to --out, e.g. a
      recording: at most a minute through the relay), exits 1 on an HTTP error.
      With the hub offline, GET /api/v1/devices answers from the last-known state
  hearth-remote state  --keys FILE [--relay URL]
      the relay's last-known state of the home (sealed; opened here with the home key, which
      a device gets at its remote login) and "offline since"
  hearth-remote events --keys FILE [--relay URL] [--count N]
      print the hub's events (one JSON per line) after a line {"type":"ready",...}
  hearth-remote live   --keys FILE --camera ID --out FILE [--stream main|sub] [--count N]
      save a camera's live view (fragmented MP4, N fragments, default 100) through the relay
  hearth-remote backups --keys FILE [--relay URL]
      the home's off-site backups kept at the relay (an owner's device; works with the hub gone)
  hearth-remote backup-get --keys FILE --id ID --out FILE [--relay URL]
      save one of them (a .hbk file, sealed with the owner's passphrase)
  hearth-remote restore-to --keys FILE --hub URL --setup-code CODE --passphrase-file F [--id ID] [--relay URL]
      one step onto a new hub that is not set up yet: fetch an off-site backup (the newest, or
      ID) from the relay and restore it there; the hub checks the passphrase (first line of F)
      and every byte first, then restarts on the restored home. Exits 1 with the hub's code
Exit codes: 0 ok, 1 HTTP error, 2 usage, 3 relay or protocol error (code on stderr).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      hub: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      keys: { type: 'string' },
      name: { type: 'string' },
      relay: { type: 'string' },
      count: { type: 'string' },
      link: { type: 'string' },
      camera: { type: 'string' },
      stream: { type: 'string' },
      out: { type: 'string' },
      id: { type: 'string' },
      'setup-code': { type: 'string' },
      'passphrase-file': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const need = (name: keyof typeof values): string => {
    const value = values[name];
    if (typeof value !== 'string' || !value) throw new CliError(2, `--${name} is required`);
    return value;
  };
  switch (command) {
    case 'enroll':
      return enroll(need('hub'), need('username'), need('password'), need('keys'), values.name ?? 'hearth-remote');
    case 'invite':
      return invite(need('hub'), need('username'), need('password'), values.name);
    case 'redeem': {
      const device = await redeemInvite(parseInviteLink(need('link')), values.name ?? 'hearth-remote');
      writeKeys(need('keys'), device);
      process.stdout.write(
        `${JSON.stringify({ deviceId: device.deviceId, hubId: device.hubId, username: device.username, relayUrls: device.relayUrls })}\n`,
      );
      return 0;
    }
    case 'login': {
      const keysPath = need('keys');
      const keys = readKeys(keysPath);
      const client = await RemoteClient.connect(keys, values.relay);
      try {
        requireOnline(client);
        await login(client, keys, keysPath, need('password'));
        process.stdout.write(`${JSON.stringify({ username: keys.username, loggedIn: true })}\n`);
        return 0;
      } finally {
        client.close();
      }
    }
    case 'call': {
      const [method, path, json] = positionals;
      if (!method || !path) throw new CliError(2, 'call needs METHOD and PATH');
      let body: unknown;
      if (json !== undefined) {
        try {
          body = JSON.parse(json);
        } catch {
          throw new CliError(2, 'the JSON argument does not parse');
        }
      }
      return call(need('keys'), values.relay, values.password, method.toUpperCase(), path, body, values.out);
    }
    case 'state': {
      const keys = readKeys(need('keys'));
      const client = await RemoteClient.connect(keys, values.relay);
      try {
        const state = await client.lastState();
        if (state.snapshotError) throw new CliError(3, snapshotProblem(state.snapshotError));
        process.stdout.write(`${JSON.stringify(state)}\n`);
        return 0;
      } finally {
        client.close();
      }
    }
    case 'live': {
      const stream = values.stream ?? 'main';
      if (stream !== 'main' && stream !== 'sub') throw new CliError(2, '--stream is main or sub');
      const count = values.count === undefined ? 100 : Number(values.count);
      if (!Number.isInteger(count) || count < 1) throw new CliError(2, '--count must be a positive integer');
      return live(need('keys'), values.relay, values.password, need('camera'), stream, count, need('out'));
    }
    case 'backups': {
      const list = await listRelayBackups(readKeys(need('keys')), values.relay);
      process.stdout.write(`${JSON.stringify({ backups: list.backups, quota: list.quota })}\n`);
      return 0;
    }
    case 'backup-get': {
      const bytes = await fetchRelayBackup(readKeys(need('keys')), values.relay, need('id'), need('out'));
      process.stdout.write(`${JSON.stringify({ id: values.id, bytes, file: values.out })}\n`);
      return 0;
    }
    case 'restore-to': {
      const done = await restoreToHub(readKeys(need('keys')), values.relay, {
        hub: need('hub'),
        setupCode: need('setup-code'),
        passphraseFile: need('passphrase-file'),
        ...(values.id ? { id: values.id } : {}),
      });
      process.stdout.write(`${JSON.stringify(done)}\n`);
      return 0;
    }
    case 'events':
      return events(
        need('keys'),
        values.relay,
        values.password,
        values.count === undefined ? Infinity : Number(values.count),
      );
    default:
      throw new CliError(2, command ? `unknown command ${command}` : 'a command is required');
  }
}

async function enroll(
  hub: string,
  username: string,
  password: string,
  keysPath: string,
  name: string,
): Promise<number> {
  const base = hub.replace(/\/+$/, '');
  const session = await lanJson(`${base}/api/v1/auth/login`, { username, password });
  const keys = newDeviceKeys();
  const enrolment = (await lanJson(
    `${base}/api/v1/remote/devices`,
    { publicKey: toBase64(keys.sign.publicKey), boxPublicKey: toBase64(keys.box.publicKey), name },
    session.accessToken as string,
  )) as {
    device: { id: string };
    hubId: string;
    relayUrls: string[];
    homeKey: string | null;
  };
  const file: KeysFile = {
    seed: toBase64(keys.seed),
    deviceId: enrolment.device.id,
    username,
    hubId: enrolment.hubId,
    relayUrls: enrolment.relayUrls,
    homeKey: enrolment.homeKey,
  };
  writeKeys(keysPath, file);
  process.stdout.write(
    `${JSON.stringify({ deviceId: file.deviceId, hubId: file.hubId, relayUrls: file.relayUrls })}\n`,
  );
  return 0;
}

async function invite(hub: string, username: string, password: string, name: string | undefined): Promise<number> {
  const base = hub.replace(/\/+$/, '');
  const session = await lanJson(`${base}/api/v1/auth/login`, { username, password });
  const issued = await lanJson(`${base}/api/v1/remote/invites`, name ? { name } : {}, session.accessToken as string);
  process.stdout.write(`${JSON.stringify(issued)}\n`);
  return 0;
}

async function lanJson(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(3, `cannot reach the hub: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    process.stdout.write(`${text}\n`);
    throw new CliError(1, `${url} answered ${res.status}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

async function call(
  keysPath: string,
  relay: string | undefined,
  password: string | undefined,
  method: string,
  path: string,
  body: unknown,
  out?: string,
): Promise<number> {
  const keys = readKeys(keysPath);
  const client = await RemoteClient.connect(keys, relay);
  try {
    if (!client.hubOnline) {
      // The hub is away: a device list can still come from the relay's sealed last-known copy.
      if (method === 'GET' && path.split('?')[0] === '/api/v1/devices') {
        const state = await client.lastState();
        if (state.snapshotError) throw new CliError(3, `hub_offline; ${snapshotProblem(state.snapshotError)}`);
        if (!state.snapshot) throw new CliError(3, 'hub_offline (no last-known state yet)');
        process.stderr.write(
          `hearth-remote: hub offline since ${iso(state.offlineSince)}; last-known state from ${new Date(state.snapshot.at).toISOString()}\n`,
        );
        process.stdout.write(
          `${JSON.stringify({ offline: true, offlineSince: state.offlineSince, snapshotAt: state.snapshot.at, devices: state.snapshot.devices })}\n`,
        );
        return 0;
      }
      throw new CliError(3, `hub_offline (since ${iso(client.offlineSince)})`);
    }
    const token = await accessToken(client, keys, keysPath, password);
    const homeKey = keys.homeKey;
    const response = await client.call(method, path, {
      ...(token ? { token } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    // A login or refresh called by hand brought a (new) home key: keep it.
    if (keys.homeKey !== homeKey) writeKeys(keysPath, keys);
    if (out !== undefined && response.status < 400) {
      writeFileSync(out, response.body);
      process.stdout.write(
        `${JSON.stringify({ status: response.status, contentType: response.headers['content-type'] ?? null, bytes: response.body.length, out })}\n`,
      );
    } else {
      printBody(response);
    }
    return response.status >= 400 ? 1 : 0;
  } finally {
    client.close();
  }
}

async function events(
  keysPath: string,
  relay: string | undefined,
  password: string | undefined,
  count: number,
): Promise<number> {
  const keys = readKeys(keysPath);
  const client = await RemoteClient.connect(keys, relay);
  requireOnline(client);
  const token = await accessToken(client, keys, keysPath, password);
  if (!token) throw new CliError(3, 'not logged in: run hearth-remote login first');
  let seen = 0;
  return new Promise<number>((resolve, reject) => {
    client
      .subscribe(
        token,
        (event) => {
          process.stdout.write(`${JSON.stringify(event)}\n`);
          if (event.type !== 'ready' && ++seen >= count) {
            client.close();
            resolve(0);
          }
        },
        (err) => reject(new CliError(3, err.code)),
      )
      .catch((err: unknown) => reject(err));
  });
}

/** Writes the init segment and `count` fragments to `out`: a file ffprobe and players read. */
async function live(
  keysPath: string,
  relay: string | undefined,
  password: string | undefined,
  camera: string,
  stream: 'main' | 'sub',
  count: number,
  out: string,
): Promise<number> {
  const keys = readKeys(keysPath);
  const client = await RemoteClient.connect(keys, relay);
  requireOnline(client);
  const token = await accessToken(client, keys, keysPath, password);
  if (!token) throw new CliError(3, 'not logged in: run hearth-remote login first');
  const fd = openSync(out, 'w');
  let fragments = 0;
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const view = client.live(
        token,
        camera,
        (message) => {
          writeSync(fd, message.data);
          bytes += message.data.length;
          if (!message.init && ++fragments >= count) {
            void view.then((v) => v.close());
            resolve();
          }
        },
        (err) => (err ? reject(err) : resolve()),
        { stream },
      );
      view.catch(reject);
    });
  } finally {
    closeSync(fd);
    client.close();
  }
  process.stdout.write(`${JSON.stringify({ camera, stream, fragments, bytes, out })}\n`);
  return 0;
}

/** A valid access token: the stored one, a refreshed one, or a fresh login with --password. */
async function accessToken(
  client: RemoteClient,
  keys: KeysFile,
  keysPath: string,
  password: string | undefined,
): Promise<string | undefined> {
  const session = keys.session;
  if (session && session.accessExpiresAt > Date.now() + 30_000) return session.accessToken;
  if (session) {
    const refreshed = await client.call('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: session.refreshToken },
    });
    if (refreshed.status === 200) return saveSession(keys, keysPath, refreshed);
  }
  if (password) return login(client, keys, keysPath, password);
  return undefined;
}

async function login(client: RemoteClient, keys: KeysFile, keysPath: string, password: string): Promise<string> {
  const response = await client.call('POST', '/api/v1/auth/login', { body: { username: keys.username, password } });
  if (response.status !== 200) {
    printBody(response);
    throw new CliError(1, `login answered ${response.status}`);
  }
  return saveSession(keys, keysPath, response);
}

function saveSession(keys: KeysFile, keysPath: string, response: RemoteResponse): string {
  const session = JSON.parse(fromUtf8(response.body)) as {
    accessToken: string;
    refreshToken: string;
    expiresIn: number;
  };
  keys.session = {
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    accessExpiresAt: Date.now() + session.expiresIn * 1000,
  };
  writeKeys(keysPath, keys);
  return session.accessToken;
}

function requireOnline(client: RemoteClient): void {
  if (!client.hubOnline) throw new CliError(3, `hub_offline (since ${iso(client.offlineSince)})`);
}

function printBody(response: RemoteResponse): void {
  if (response.body.length === 0) return;
  const type = response.headers['content-type'] ?? '';
  // Text and JSON as a line; anything else (an image, a video) as it came.
  if (type === '' || /^text\/|json/.test(type)) process.stdout.write(`${fromUtf8(response.body)}\n`);
  else process.stdout.write(response.body);
}

/** The code first (tests and scripts read it), then what to do about it. */
function snapshotProblem(code: string): string {
  if (code === 'home_key_missing')
    return `${code} (this device has no home key: log in through the relay first, hearth-remote login; guests never get one)`;
  if (code === 'state_unreadable')
    return `${code} (the home key changed since this device last logged in: hearth-remote login)`;
  return code;
}

function iso(ms: number | null): string {
  return ms === null ? 'unknown' : new Date(ms).toISOString();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`hearth-remote: ${err.message}\n${err.exitCode === 2 ? `${USAGE}\n` : ''}`);
      process.exit(err.exitCode);
    }
    if (err instanceof ProtocolError) {
      process.stderr.write(`hearth-remote: ${err.code}\n`);
      process.exit(3);
    }
    if (
      err instanceof TypeError &&
      /parseArgs|option|argument/i.test(String((err as { code?: string }).code ?? err.message))
    ) {
      process.stderr.write(`hearth-remote: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`hearth-remote: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(3);
  },
);
