// A private Avahi for tests: its own D-Bus system bus (a socket in a temp dir, so avahi-browse
// can talk to it without the machine's bus) and an avahi-daemon bound to loopback only.
// Run inside scripts/netns-run and a private mount namespace with a tmpfs on /run/avahi-daemon
// (firmware/test/all.sh does both): the daemon's pid file lives there and would otherwise
// clash with another Avahi, on the host or in a parallel test.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './harness.ts';

const run = promisify(execFile);

export class Avahi {
  dir = tempDir('hearth-avahi-');
  #dbus?: ChildProcess;
  #daemon?: ChildProcess;
  get env() {
    return { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(this.dir, 'bus')}` };
  }

  async start(): Promise<void> {
    writeFileSync(join(this.dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${join(this.dir, 'bus')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`);
    // Loopback is the only interface in the test namespace; Avahi accepts it when named.
    writeFileSync(join(this.dir, 'avahi.conf'), [
      '[server]', 'use-ipv4=yes', 'use-ipv6=no', 'allow-interfaces=lo', 'enable-dbus=yes',
      'ratelimit-burst=1000', '[wide-area]', 'enable-wide-area=no',
      '[publish]', 'publish-addresses=no', 'publish-hinfo=no', 'publish-workstation=no', 'publish-domain=no', '',
    ].join('\n'));
    this.#dbus = spawn('dbus-daemon', ['--config-file', join(this.dir, 'bus.conf'), '--nofork', '--nopidfile'], { stdio: 'ignore' });
    const listNames = [
      '--system', '--dest=org.freedesktop.DBus', '--type=method_call', '--print-reply',
      '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames',
    ];
    await this.#until(async () => (await run('dbus-send', listNames, { env: this.env }).then(() => true, () => false)));
    const daemonArgs = ['--no-drop-root', '--no-chroot', '--no-rlimits', '-f', join(this.dir, 'avahi.conf')];
    this.#daemon = spawn('avahi-daemon', daemonArgs, { env: this.env, stdio: 'ignore' });
    await this.#until(async () => (await run('avahi-browse', ['-apt'], { env: this.env }).then(() => true, () => false)));
  }

  /** avahi-browse -rpt TYPE: resolved entries as objects. */
  async browse(type: string) {
    const { stdout } = await run('avahi-browse', ['-rpt', type], { env: this.env, timeout: 15000 });
    return stdout.split('\n').filter((l) => l.startsWith('=;')).map((l) => {
      const f = l.split(';');
      const txt = Object.fromEntries([...f.slice(9).join(';').matchAll(/"([^"=]*)=([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { iface: f[1], proto: f[2], name: f[3], type: f[4], domain: f[5], host: f[6], address: f[7], port: Number(f[8]), txt };
    });
  }

  async stop(): Promise<void> {
    this.#daemon?.kill('SIGTERM');
    this.#dbus?.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #until(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('avahi/dbus did not start');
  }
}
