/**
 * Writes a plug image with esptool-js through the ESP32-C3's ROM serial loader, the way
 * `esptool.py --no-stub write_flash --compress` does: reset into the loader (DTR/RTS, where the
 * adapter has them) and SYNC, identify the chip (GET_SECURITY_INFO, else the chip-detect magic
 * register), SPI_ATTACH and SPI_SET_PARAMS (4 MB), CHANGE_BAUDRATE, FLASH_DEFL_BEGIN/DATA per
 * part in the ROM's 1 KB blocks, SPI_FLASH_MD5 of each part against the file, then a reset: RTS
 * where the adapter has it, else FLASH_BEGIN(0) + FLASH_END("run user code"), the ROM's way out.
 *
 * No stub loader is uploaded: the ROM alone is documented (esptool's "Serial Protocol" page),
 * works on every C3 revision and is fast enough for a 2 MB image (about half a minute at
 * 460800 baud). Every step is bounded: esptool-js's per-command timeouts, a deadline for the
 * whole write, and a lost device (write error, device node gone) ends it at once as
 * flash_interrupted rather than as a protocol timeout.
 *
 * Free of Node APIs: `hearth-admin flash-plug` runs it over NodeSerialPort, the web UI over the
 * browser's own Web Serial port (ui/src/components/flash-plug.tsx).
 */
import { ESPLoader, Transport, UnexpectedChipIdError, UnexpectedChipMagicError } from 'esptool-js';
import { HubError, isHubError } from '../core/errors.ts';
import { PLUG_TARGET, type FlashPart } from './plug-target.ts';

/** What the flasher needs to know about the port besides the Web Serial object itself. */
export interface FlashPortState {
  /** Names the port in messages (a device path, or "the selected port"). */
  readonly label: string;
  /** Why the device went away, once it did. */
  readonly lost: string | undefined;
  /** False when the port cannot drive DTR/RTS (no reset through the adapter). */
  readonly modemLines: boolean;
}

const ROM_BAUD = 115200;
const ESP_SPI_SET_PARAMS = 0x0b;
const ESP_SPI_ATTACH = 0x0d;
const ESP_SPI_FLASH_MD5 = 0x13;
const CONNECT_ATTEMPTS = 7;

export interface FlashOptions {
  baud: number;
  /** For the whole job; a lost device or a step timing out ends it sooner. */
  timeoutMs: number;
  log: (line: string) => void;
  /** esptool-js's own chatter and serial trace, for --verbose. */
  debug?: ((line: string) => void) | undefined;
  /** MD5 as lowercase hex (node:crypto in Node; the browser's Web Crypto has no MD5). */
  md5Hex: (data: Uint8Array) => string;
}

export interface FlashResult {
  chip: string;
  mac: string;
  plugId: string;
  parts: { name: string; offset: number; size: number; md5: string }[];
  reset: 'rts' | 'run-user-code';
}

/** esptool-js's Transport prints its trace with console.log; this sends it to our log instead. */
class QuietTransport extends Transport {
  onTrace: ((line: string) => void) | undefined;
  override trace(message: string): void {
    this.onTrace?.(message);
  }
  /** Stops the read loop without closing the port (the Improv client reads it next). */
  async detach(): Promise<void> {
    const reader = (this as unknown as { reader?: ReadableStreamDefaultReader<Uint8Array> }).reader;
    await reader?.cancel().catch(() => undefined);
    await this.waitForUnlock(10);
  }
}

function padTo4(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data;
  const out = new Uint8Array(data.length + (4 - (data.length % 4))).fill(0xff);
  out.set(data);
  return out;
}

const u32le = (...values: number[]): Uint8Array => {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
};

/**
 * Flashes `image.parts` through `serial` (a Web Serial SerialPort, or NodeSerialPort which is
 * one too); `port` reports loss and modem lines.
 */
export async function flashPlugImage(
  serial: unknown,
  port: FlashPortState,
  image: { parts: FlashPart[] },
  opts: FlashOptions,
): Promise<FlashResult> {
  const transport = new QuietTransport(serial as ConstructorParameters<typeof Transport>[0], false, true);
  transport.onTrace = opts.debug;
  const loader = new ESPLoader({
    transport,
    baudrate: opts.baud,
    romBaudrate: ROM_BAUD,
    terminal: {
      clean: () => undefined,
      writeLine: (s: string) => opts.debug?.(s),
      write: (s: string) => opts.debug?.(s),
    },
  });
  let step = 'connect';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lostTimer: ReturnType<typeof setInterval> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HubError(
            'flash_timeout',
            `flashing did not finish in ${Math.round(opts.timeoutMs / 1000)} s (step: ${step})`,
            { step },
          ),
        ),
      opts.timeoutMs,
    );
  });
  // A lost device fails the job at once, whatever esptool-js is waiting for.
  const lost = new Promise<never>((_, reject) => {
    lostTimer = setInterval(() => {
      if (port.lost)
        reject(
          new HubError(
            'flash_interrupted',
            `the plug went away during ${step}: ${port.lost}; nothing on it can be trusted, flash it again`,
            { step },
          ),
        );
    }, 100);
  });
  const work = async (): Promise<FlashResult> => {
    await loader.connect('default_reset', CONNECT_ATTEMPTS, true);
    step = 'identify';
    const chip = loader.chip.CHIP_NAME;
    if (chip !== PLUG_TARGET.chipName) {
      throw new HubError(
        'flash_wrong_chip',
        `the device on ${port.label} is an ${chip}, not an ${PLUG_TARGET.chipName}: not a Hearth plug`,
        { chip },
      );
    }
    const mac = await loader.chip.readMac(loader);
    const plugId = `plug-${mac.replaceAll(':', '')}`;
    opts.log(`found ${chip}, MAC ${mac} (plug id ${plugId})`);
    step = 'attach flash';
    // The ROM's SPI_ATTACH takes a second word (is_legacy) after the pin config, as esptool.py sends.
    await loader.checkCommand('configure SPI flash pins', ESP_SPI_ATTACH, u32le(0, 0));
    // id, total size, block 64 KB, sector 4 KB, page 256 B, status mask (esptool's flash_set_parameters)
    await loader.checkCommand(
      'set SPI params',
      ESP_SPI_SET_PARAMS,
      u32le(0, PLUG_TARGET.flashBytes, 0x10000, 0x1000, 0x100, 0xffff),
    );
    if (opts.baud !== ROM_BAUD) {
      step = 'change baud rate';
      await loader.changeBaud();
    }
    // The ROM takes 1 KB flash blocks (esptool-js defaults to the stub's 16 KB).
    loader.FLASH_WRITE_SIZE = loader.chip.FLASH_WRITE_SIZE;
    const parts: FlashResult['parts'] = [];
    for (const part of image.parts) {
      step = `write ${part.name} at 0x${part.offset.toString(16)}`;
      opts.log(`writing ${part.name} at 0x${part.offset.toString(16)} (${part.data.length} bytes)`);
      await loader.writeFlash({
        fileArray: [{ data: part.data, address: part.offset }],
        flashSize: 'keep',
        flashMode: 'keep',
        flashFreq: 'keep',
        eraseAll: false,
        compress: true,
      });
      step = `verify ${part.name}`;
      const padded = padTo4(part.data);
      const want = opts.md5Hex(padded);
      const res = (await loader.checkCommand(
        'calculate md5sum',
        ESP_SPI_FLASH_MD5,
        u32le(part.offset, padded.length, 0, 0),
        0,
        32,
        loader.timeoutPerMb(loader.MD5_TIMEOUT_PER_MB, padded.length),
      )) as Uint8Array;
      // The ROM answers 32 hex digits as text (the stub would send 16 raw bytes).
      const got = String.fromCharCode(...res).toLowerCase();
      if (got !== want)
        throw new HubError(
          'flash_verify_failed',
          `${part.name} at 0x${part.offset.toString(16)} reads back with MD5 ${got}, the file has ${want}`,
          { offset: part.offset },
        );
      parts.push({ name: part.name, offset: part.offset, size: part.data.length, md5: want });
      opts.log(`verified ${part.name} (MD5 ${want})`);
    }
    step = 'reset';
    let reset: FlashResult['reset'];
    if (port.modemLines) {
      // esptool.py's hard reset: EN low through RTS for 100 ms, IO0 (DTR) released: a normal boot.
      await transport.setDTR(false);
      await transport.setRTS(true);
      await new Promise((r) => setTimeout(r, 100));
      await transport.setRTS(false);
      reset = 'rts';
    } else {
      // No reset line: leave the ROM loader into the new firmware ("run user code").
      await loader.flashBegin(0, 0);
      await loader.flashFinish(false);
      reset = 'run-user-code';
    }
    await transport.detach();
    return { chip, mac, plugId, parts, reset };
  };
  try {
    return await Promise.race([work(), deadline, lost]);
  } catch (err) {
    throw classify(err, port, step);
  } finally {
    clearTimeout(timer);
    clearInterval(lostTimer);
  }
}

/** esptool-js's errors as the stable codes the command line and the UI report. */
function classify(err: unknown, port: FlashPortState, step: string): HubError {
  if (port.lost)
    return new HubError(
      'flash_interrupted',
      `the plug went away during ${step}: ${port.lost}; nothing on it can be trusted, flash it again`,
      { step },
    );
  if (isHubError(err)) return err;
  if (err instanceof UnexpectedChipMagicError || err instanceof UnexpectedChipIdError) {
    return new HubError(
      'flash_wrong_chip',
      `the device on ${port.label} is not an ${PLUG_TARGET.chipName} (${err.message})`,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  if (step === 'connect') {
    return new HubError(
      'flash_no_bootloader',
      `no answer from the ESP32 bootloader on ${port.label}: hold the plug's boot button (GPIO9 ` +
        `low) while powering it, check TX/RX are crossed and the adapter is at 3.3 V (${message})`,
    );
  }
  return new HubError('flash_write_failed', `${step} failed: ${message}`, { step });
}
