/**
 * `hearth-admin flash-plug`: write the plug firmware over a USB serial adapter, then give the
 * plug the home's Wi-Fi over Improv serial, so it shows up in /api/v1/plugs/discovered.
 *
 *   hearth-admin flash-plug --port /dev/ttyUSB0 [--image FILE] [--baud N]
 *       [--wifi-ssid SSID --wifi-passphrase-file FILE] [--provision-only] [--timeout-s N]
 *       [--improv-timeout-s N] [--verbose]
 *
 * Progress goes to stderr; the last stdout line says what was done. A failure is one stderr line
 * `hearth-admin: <code>: <message>` and the exit code of FLASH_EXIT_CODES (2 for bad usage).
 */
import type { ErrorCode } from '@hearth/model/errors';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toolEnv } from '../core/config.ts';
import { HubError, isHubError } from '../core/errors.ts';
import { flashPlugImage } from './esp-flasher.ts';
import { checkWifiSettings, provisionWifi } from './improv.ts';
import { NodeSerialPort } from './node-serial-port.ts';
import { DEFAULT_IMAGE, loadPlugImage } from './plug-image.ts';

export const FLASH_USAGE =
  'usage: hearth-admin flash-plug --port DEVICE [--image flasher_args.json|merged.bin] [--baud N]\n' +
  '         [--wifi-ssid SSID --wifi-passphrase-file FILE] [--provision-only] [--timeout-s N] [--improv-timeout-s N] [--verbose]';

/** One exit code per kind of failure, so scripts can tell them apart without parsing text. */
export const FLASH_EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  validation_failed: 2,
  flash_port_not_found: 3,
  flash_port_busy: 3,
  flash_port_denied: 3,
  flash_image_not_found: 4,
  flash_image_invalid: 4,
  flash_wrong_chip: 5,
  flash_no_bootloader: 6,
  flash_interrupted: 7,
  flash_write_failed: 8,
  flash_verify_failed: 8,
  flash_timeout: 9,
  provision_no_answer: 10,
  provision_wifi_failed: 10,
  provision_rejected: 10,
};

const ROM_BAUD = 115200;
const BAUDS = new Set([115200, 230400, 460800, 921600]);

interface FlashArgs {
  port: string;
  image: string;
  baud: number;
  wifi: { ssid: string; passphrase: string } | undefined;
  provisionOnly: boolean;
  timeoutMs: number;
  improvTimeoutMs: number;
  verbose: boolean;
}

function usage(message: string): HubError {
  return new HubError('validation_failed', `${message}\n${FLASH_USAGE}`);
}

function seconds(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def * 1000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3600)
    throw usage(`--${name} must be a whole number of seconds from 1 to 3600`);
  return n * 1000;
}

export function parseFlashArgs(args: string[]): FlashArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        port: { type: 'string' },
        image: { type: 'string' },
        baud: { type: 'string' },
        'wifi-ssid': { type: 'string' },
        'wifi-passphrase-file': { type: 'string' },
        'provision-only': { type: 'boolean' },
        'timeout-s': { type: 'string' },
        'improv-timeout-s': { type: 'string' },
        verbose: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (!values.port) throw usage('--port is required (e.g. /dev/ttyUSB0)');
  const baud = values.baud === undefined ? 460800 : Number(values.baud);
  if (!BAUDS.has(baud)) throw usage(`--baud must be one of ${[...BAUDS].join(', ')}`);
  const ssid = values['wifi-ssid'];
  const passFile = values['wifi-passphrase-file'];
  if ((ssid === undefined) !== (passFile === undefined))
    throw usage('--wifi-ssid and --wifi-passphrase-file go together (an empty file for an open network)');
  let wifi: FlashArgs['wifi'];
  if (ssid !== undefined && passFile !== undefined) {
    let passphrase: string;
    try {
      // First line only: a trailing newline from `echo` is not part of the passphrase.
      passphrase = readFileSync(passFile, 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (err) {
      throw usage(`cannot read --wifi-passphrase-file: ${(err as Error).message}`);
    }
    checkWifiSettings(ssid, passphrase);
    wifi = { ssid, passphrase };
  }
  if (values['provision-only'] && !wifi) throw usage('--provision-only needs --wifi-ssid and --wifi-passphrase-file');
  return {
    port: values.port,
    image: resolve(values.image ?? toolEnv().plugImage ?? DEFAULT_IMAGE),
    baud,
    wifi,
    provisionOnly: values['provision-only'] === true,
    timeoutMs: seconds(values['timeout-s'], 'timeout-s', 600),
    improvTimeoutMs: seconds(values['improv-timeout-s'], 'improv-timeout-s', 60),
    verbose: values.verbose === true,
  };
}

async function run(a: FlashArgs): Promise<void> {
  const say = (line: string): void => {
    process.stderr.write(`flash-plug: ${line}\n`);
  };
  // The image is checked before the port is touched: a bad file never half-flashes a plug.
  const image = a.provisionOnly ? undefined : loadPlugImage(a.image);
  const port = new NodeSerialPort(a.port);
  // esptool-js opens the port itself (as it opens a Web Serial port); Improv alone needs it here.
  if (!image) await port.open({ baudRate: ROM_BAUD });
  try {
    let flashed: Awaited<ReturnType<typeof flashPlugImage>> | undefined;
    if (image) {
      say(
        `image ${image.source}: ${image.parts.map((p) => `0x${p.offset.toString(16)} ${p.name} (${p.data.length} B)`).join(', ')}`,
      );
      say(
        `connecting to the ROM bootloader on ${a.port} (hold the plug's boot button while powering it if it has no auto-reset)`,
      );
      flashed = await flashPlugImage(port, port, image, {
        baud: a.baud,
        timeoutMs: a.timeoutMs,
        log: say,
        debug: a.verbose ? say : undefined,
        md5Hex: (data) => createHash('md5').update(data).digest('hex'),
      });
      say(
        flashed.reset === 'rts'
          ? 'reset the plug through RTS'
          : 'started the new firmware (no reset line on this port: the ROM ran it)',
      );
    }
    let url: string | undefined;
    let plugId = flashed?.plugId;
    if (a.wifi) {
      await port.setBaudRate(ROM_BAUD); // the firmware's console (and Improv) runs at 115200
      say(`waiting for the plug's Improv service to send it the Wi-Fi settings for "${a.wifi.ssid}"`);
      const res = await provisionWifi(port, {
        ...a.wifi,
        answerTimeoutMs: a.improvTimeoutMs,
        connectTimeoutMs: a.improvTimeoutMs,
        log: say,
      });
      url = res.url;
      plugId ??= res.deviceInfo[3];
    }
    const what = [
      image ? 'flashed and verified' : undefined,
      a.wifi ? `on Wi-Fi "${a.wifi.ssid}"${url ? ` at ${url}` : ''}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    process.stdout.write(
      `${plugId ?? 'plug'}: ${what}${a.wifi ? '; pair it from the web app (Devices > Add a plug)' : '; give it Wi-Fi with --provision-only --wifi-ssid ...'}\n`,
    );
  } finally {
    await port.close();
  }
}

/** Runs the command; never throws: sets the exit code and writes one line on failure. */
export async function flashPlugCommand(args: string[]): Promise<number> {
  try {
    await run(parseFlashArgs(args));
    return 0;
  } catch (err) {
    const e = isHubError(err) ? err : new HubError('flash_write_failed', (err as Error)?.message ?? String(err));
    process.stderr.write(`hearth-admin: ${e.code}: ${e.message}\n`);
    return FLASH_EXIT_CODES[e.code] ?? 1;
  }
}
