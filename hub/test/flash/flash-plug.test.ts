/**
 * `hearth-admin flash-plug` as an installer runs it, against an emulated plug on a pseudo-terminal
 * pair (hub/test/helpers/esp-rom-emulator.ts: the ESP32-C3 ROM loader, then the firmware's Improv
 * service). What is asserted is what reached the "plug": the bytes at each flash offset, the MD5
 * checks it was asked for, the Wi-Fi settings it received; and for each failure the exit code and
 * the stable error code on the one stderr line.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EspRomEmulator, ptyPair, type EmulatorOptions, type PtyPair } from '../helpers/esp-rom-emulator.ts';
import { mergeBuild, writePlugBuild, type PlugBuild } from '../helpers/esp-image-fixtures.ts';
import { tempDir } from '../helpers/temp.ts';

const ADMIN = resolve(import.meta.dirname, '../../src/admin.ts');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runAdmin(args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [ADMIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // The command bounds every step itself; this only keeps a broken build from hanging the suite.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`flash-plug still running after ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/** The one failure line: `hearth-admin: <code>: <message>`. */
function errorCode(r: CliResult): string | undefined {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('hearth-admin: '));
  expect(lines).toHaveLength(1);
  return /^hearth-admin: ([a-z_]+):/.exec(lines[0]!)?.[1];
}

describe('hearth-admin flash-plug', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(
    opts: EmulatorOptions = {},
  ): Promise<{ dir: string; build: PlugBuild; pair: PtyPair; plug: EspRomEmulator }> {
    const t = tempDir('hearth-flash-');
    cleanups.push(t.cleanup);
    const build = writePlugBuild(join(t.dir, 'build'));
    const pair = await ptyPair(t.dir);
    cleanups.push(pair.close);
    const plug = new EspRomEmulator(opts);
    await plug.start(pair.plug);
    cleanups.push(() => plug.stop());
    const pass = join(t.dir, 'wifi-pass');
    writeFileSync(pass, 'correct horse battery\n');
    return { dir: t.dir, build, pair, plug };
  }

  it('writes every part of the ESP-IDF build at its offset, verifies each by MD5, starts it and provisions Wi-Fi', async () => {
    const { dir, build, pair, plug } = await setup();
    const r = await runAdmin([
      'flash-plug',
      '--port',
      pair.host,
      '--image',
      build.flasherArgs,
      '--wifi-ssid',
      'Home Net',
      '--wifi-passphrase-file',
      join(dir, 'wifi-pass'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const [offset, bytes] of build.files) {
      expect(
        Buffer.from(plug.flash.subarray(offset, offset + bytes.length)).equals(Buffer.from(bytes)),
        `flash at 0x${offset.toString(16)}`,
      ).toBe(true);
    }
    // Nothing outside the parts was touched (erase is per part, rounded to the ROM's blocks).
    expect(plug.flash.subarray(0x20000 + build.files.get(0x20000)!.length + 0x400).every((b) => b === 0xff)).toBe(true);
    expect(plug.md5Requests).toEqual([...build.files].map(([offset, bytes]) => ({ offset, size: bytes.length })));
    const ops = plug.commands.map((c) => c.op);
    expect(ops.slice(0, 1)).toEqual(['SYNC']);
    expect(ops).toContain('GET_SECURITY_INFO');
    expect(ops.indexOf('SPI_ATTACH')).toBeLessThan(ops.indexOf('FLASH_DEFL_BEGIN'));
    expect(plug.commands.find((c) => c.op === 'SPI_SET_PARAMS')?.args[1]).toBe(4 * 1024 * 1024);
    expect(plug.commands.find((c) => c.op === 'CHANGE_BAUDRATE')?.args[0]).toBe(460800);
    expect(ops.at(-1)).toBe('FLASH_END'); // run the new firmware: a pty has no RTS to reset with
    expect(plug.mode).toBe('app');
    expect(plug.wifi).toEqual({ ssid: 'Home Net', passphrase: 'correct horse battery' });
    expect(r.stdout).toContain(plug.plugId);
    expect(r.stdout).toContain('http://192.0.2.10/pair/hello');
  });

  it('takes a merged image written at 0x0', async () => {
    const { dir, build, pair, plug } = await setup();
    const merged = mergeBuild(build, join(dir, 'merged.bin'));
    const r = await runAdmin([
      'flash-plug',
      '--port',
      pair.host,
      '--image',
      join(dir, 'merged.bin'),
      '--baud',
      '115200',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(plug.flash.subarray(0, merged.length)).equals(Buffer.from(merged))).toBe(true);
    expect(plug.md5Requests).toEqual([{ offset: 0, size: merged.length }]);
    expect(plug.commands.some((c) => c.op === 'CHANGE_BAUDRATE')).toBe(false);
    expect(plug.wifi).toBeUndefined();
  });

  it('refuses a port that does not exist', async () => {
    const { dir, build } = await setup();
    const r = await runAdmin(['flash-plug', '--port', join(dir, 'ttyUSB9'), '--image', build.flasherArgs]);
    expect(r.code).toBe(3);
    expect(errorCode(r)).toBe('flash_port_not_found');
  });

  it('refuses another ESP chip and writes nothing', async () => {
    const { build, pair, plug } = await setup({ chip: 'esp32' });
    const r = await runAdmin(['flash-plug', '--port', pair.host, '--image', build.flasherArgs]);
    expect(r.code).toBe(5);
    expect(errorCode(r)).toBe('flash_wrong_chip');
    expect(plug.commands.filter((c) => c.op.startsWith('FLASH'))).toEqual([]);
  });

  it('refuses a corrupt image before touching the port', async () => {
    const { build, pair, plug } = await setup();
    const app = join(build.dir, 'hearth-plug.bin');
    const good = readFileSync(app);
    for (const corrupt of [
      (b: Buffer) => {
        b[0] = 0x00;
      }, // bad magic
      (b: Buffer) => {
        b[4000] = b[4000]! ^ 0xff;
      }, // a flipped byte: checksum and SHA-256 disagree
      (b: Buffer) => b.subarray(0, 1000), // truncated
    ]) {
      const b = Buffer.from(good);
      writeFileSync(app, corrupt(b) ?? b);
      const r = await runAdmin(['flash-plug', '--port', pair.host, '--image', build.flasherArgs]);
      expect(r.code).toBe(4);
      expect(errorCode(r)).toBe('flash_image_invalid');
    }
    expect(plug.commands).toEqual([]);
  });

  it('reports a cable pulled mid-write as interrupted, promptly', async () => {
    let pair: PtyPair | undefined;
    const s = await setup({
      onDataBlock: (n) => {
        if (n === 20) pair?.unplug();
      },
    });
    pair = s.pair;
    const r = await runAdmin(['flash-plug', '--port', s.pair.host, '--image', s.build.flasherArgs], 60_000);
    expect(r.code).toBe(7);
    expect(errorCode(r)).toBe('flash_interrupted');
  });

  it('reports flash that reads back different from the file as a failed verify', async () => {
    const { build, pair, plug } = await setup({ badFlashAt: 0x20000 + 5000 });
    const r = await runAdmin(['flash-plug', '--port', pair.host, '--image', build.flasherArgs]);
    expect(r.code).toBe(8);
    expect(errorCode(r)).toBe('flash_verify_failed');
    expect(plug.md5Requests.at(-1)?.offset).toBe(0x20000);
    expect(plug.mode).toBe('rom'); // never started on a bad image
  });

  it('does not hang when the chip stops answering mid-write', async () => {
    const { build, pair } = await setup({ hangAfterBlocks: 10 });
    const r = await runAdmin(['flash-plug', '--port', pair.host, '--image', build.flasherArgs]);
    expect(r.code).toBe(8);
    expect(errorCode(r)).toBe('flash_write_failed');
  });

  it('gives up with a clear error when no bootloader answers', async () => {
    const { build, pair } = await setup({ silent: true });
    const r = await runAdmin(['flash-plug', '--port', pair.host, '--image', build.flasherArgs]);
    expect(r.code).toBe(6);
    expect(errorCode(r)).toBe('flash_no_bootloader');
  });

  it('reports a plug that cannot join the Wi-Fi', async () => {
    const { dir, pair, plug } = await setup({ wifiJoins: false });
    // A plug already flashed (running its firmware): --provision-only talks Improv only.
    plug.mode = 'app';
    const r = await runAdmin([
      'flash-plug',
      '--port',
      pair.host,
      '--provision-only',
      '--wifi-ssid',
      'Home Net',
      '--wifi-passphrase-file',
      join(dir, 'wifi-pass'),
      '--improv-timeout-s',
      '20',
    ]);
    expect(r.code).toBe(10);
    expect(errorCode(r)).toBe('provision_wifi_failed');
    expect(plug.wifi?.ssid).toBe('Home Net');
  });
});
