/**
 * A Web Serial `SerialPort` look-alike over the `@serialport/bindings-cpp` native binding, so
 * esptool-js (written for the browser's Web Serial) runs unchanged in Node: open/close,
 * `readable`/`writable` web streams, `setSignals` (DTR/RTS/break), `getInfo` (USB ids) and
 * `setBaudRate` (esptool-js's in-place baud change, instead of closing and reopening).
 *
 * What Web Serial does and this keeps: `readable` is one stream until it is cancelled, then the
 * next read of `readable` gives a new one (bytes that arrive in between are kept), and null once
 * closed or the device is gone. What Node needs on top:
 * - Device loss. When the cable is pulled, Linux hangs the tty up: a read pending in the binding
 *   never completes and writes fail with EIO. So a write error or the device node vanishing
 *   (checked every 250 ms) marks the port lost, errors the streams and closes the binding;
 *   `lost` says why, for a clear flash_interrupted instead of a protocol timeout.
 * - Ports without modem lines (a pseudo-terminal; some adapters): setSignals cannot reset the
 *   chip there. That is not an error (a plug on a 3-wire adapter is put in download mode by hand);
 *   `modemLines` turns false and the flasher leaves the ROM by command instead of by reset.
 */
import { realpathSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { autoDetect, type BindingPortInterface } from '@serialport/bindings-cpp';
import { HubError } from '../core/errors.ts';

const LOSS_CHECK_MS = 250;
const READ_CHUNK = 4096;
/** Bytes kept while nobody reads `readable` (between esptool-js and the Improv client). */
const MAX_UNREAD = 1024 * 1024;

export interface SerialSignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

export class NodeSerialPort {
  readonly path: string;
  /** False once the port refused a modem-line change (no DTR/RTS to reset the chip with). */
  modemLines = true;
  #port: BindingPortInterface | undefined;
  #readable: ReadableStream<Uint8Array> | null = null;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | null = null;
  #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  #signals = { dtr: false, rts: false, brk: false };
  #lost: string | undefined;
  #closing = false;
  #watch: NodeJS.Timeout | undefined;
  #onLost: ((reason: string) => void) | undefined;

  constructor(path: string, onLost?: (reason: string) => void) {
    this.path = path;
    this.#onLost = onLost;
  }

  get label(): string {
    return this.path;
  }

  /** Why the device went away (write failed, device node gone), if it did. */
  get lost(): string | undefined {
    return this.#lost;
  }

  get readable(): ReadableStream<Uint8Array> | null {
    if (!this.#port || this.#lost || this.#closing) return null;
    if (!this.#readable) {
      this.#readable = new ReadableStream<Uint8Array>({
        start: (c) => {
          this.#controller = c;
          for (const chunk of this.#unread.splice(0)) c.enqueue(chunk);
          this.#unreadBytes = 0;
        },
        cancel: () => {
          this.#controller = undefined;
          this.#readable = null;
        },
      });
    }
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> | null {
    if (!this.#port || this.#lost || this.#closing) return null;
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        const port = this.#port;
        if (!port || this.#lost) throw this.#lostError();
        try {
          await port.write(Buffer.from(chunk));
        } catch (err) {
          this.#markLost(`write failed: ${(err as Error).message}`);
          throw this.#lostError();
        }
      },
    });
    return this.#writable;
  }

  async open(options: { baudRate: number }): Promise<void> {
    if (this.#port) throw new Error('port already open');
    let st;
    try {
      st = statSync(this.path);
    } catch {
      throw new HubError(
        'flash_port_not_found',
        `no such serial port ${this.path} (is the adapter plugged in? ls /dev/ttyUSB* /dev/ttyACM*)`,
        { port: this.path },
      );
    }
    if (!st.isCharacterDevice())
      throw new HubError('flash_port_not_found', `${this.path} is not a serial device`, { port: this.path });
    try {
      this.#port = await autoDetect().open({ path: this.path, baudRate: options.baudRate });
    } catch (err) {
      const msg = (err as Error).message;
      if (/lock|busy/i.test(msg))
        throw new HubError(
          'flash_port_busy',
          `${this.path} is in use by another program (a serial monitor, or the hub's Zigbee driver?)`,
          { port: this.path },
        );
      if (/permission|denied/i.test(msg))
        throw new HubError(
          'flash_port_denied',
          `no permission to open ${this.path} (run as root or join the dialout group)`,
          { port: this.path },
        );
      if (/no such/i.test(msg))
        throw new HubError('flash_port_not_found', `no such serial port ${this.path}`, { port: this.path });
      throw new HubError('flash_port_not_found', `cannot open ${this.path}: ${msg}`, { port: this.path });
    }
    this.#closing = false;
    void this.#pump(this.#port);
    this.#watch = setInterval(() => {
      try {
        statSync(this.path);
      } catch {
        this.#markLost('the serial device disappeared (cable pulled?)');
      }
    }, LOSS_CHECK_MS);
    this.#watch.unref();
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#watch);
    try {
      this.#controller?.close();
    } catch {
      /* already errored or closed */
    }
    this.#controller = undefined;
    this.#readable = null;
    this.#writable = null;
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await port.close().catch(() => undefined);
  }

  async setSignals(s: SerialSignals): Promise<void> {
    if (s.dataTerminalReady !== undefined) this.#signals.dtr = s.dataTerminalReady;
    if (s.requestToSend !== undefined) this.#signals.rts = s.requestToSend;
    if (s.break !== undefined) this.#signals.brk = s.break;
    if (!this.#port || !this.modemLines) return;
    try {
      await this.#port.set({ ...this.#signals });
    } catch {
      this.modemLines = false;
    }
  }

  async setBaudRate(baudRate: number): Promise<void> {
    if (!this.#port) throw new Error('port not open');
    await this.#port.update({ baudRate });
  }

  /** USB vendor and product id from sysfs (esptool-js picks its reset sequence by them). */
  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    try {
      let dir = realpathSync(join('/sys/class/tty', basename(realpathSync(this.path)), 'device'));
      for (let i = 0; i < 4 && dir !== '/'; i++, dir = dirname(dir)) {
        try {
          const vid = Number.parseInt(readFileSync(join(dir, 'idVendor'), 'utf8'), 16);
          const pid = Number.parseInt(readFileSync(join(dir, 'idProduct'), 'utf8'), 16);
          return { usbVendorId: vid, usbProductId: pid };
        } catch {
          /* not the USB device's directory yet */
        }
      }
    } catch {
      /* not a USB tty (a pseudo-terminal, a built-in UART) */
    }
    return {};
  }

  async #pump(port: BindingPortInterface): Promise<void> {
    const buf = Buffer.alloc(READ_CHUNK);
    while (this.#port === port && !this.#lost) {
      let n: number;
      try {
        n = (await port.read(buf, 0, buf.length)).bytesRead;
      } catch (err) {
        if (!this.#closing && this.#port === port) this.#markLost(`read failed: ${(err as Error).message}`);
        return;
      }
      const chunk = Uint8Array.from(buf.subarray(0, n));
      if (this.#controller) {
        this.#controller.enqueue(chunk);
      } else if (this.#unreadBytes + n <= MAX_UNREAD) {
        this.#unread.push(chunk);
        this.#unreadBytes += n;
      }
    }
  }

  #lostError(): Error {
    // Web Serial reports a vanished device as a NetworkError DOMException; esptool-js stops its
    // read loop on any error that is not a line error (framing, parity, break, overrun).
    const err = new Error(`serial device lost: ${this.#lost ?? 'closed'}`);
    err.name = 'NetworkError';
    return err;
  }

  #markLost(reason: string): void {
    if (this.#lost || this.#closing) return;
    this.#lost = reason;
    clearInterval(this.#watch);
    try {
      this.#controller?.error(this.#lostError());
    } catch {
      /* already closed */
    }
    this.#controller = undefined;
    const port = this.#port;
    this.#port = undefined;
    void port?.close().catch(() => undefined);
    this.#onLost?.(reason);
  }
}
