/**
 * Improv Wi-Fi over serial, the client side (https://www.improv-wifi.com/serial/): the plug's
 * firmware (firmware/port/esp-idf/main/provisioning_improv.c) waits for Wi-Fi settings on its
 * console UART at 115200 baud when it has none that work.
 *
 * Packet: "IMPROV" | version 1 | type | length | data | checksum (sum of all bytes before it,
 * mod 256); this client ends each packet with '\n' as the reference clients do (the device skips
 * bytes outside packets, e.g. its boot log). Types: 0x01 current state (device), 0x02 error state
 * (device), 0x03 RPC command (client), 0x04 RPC result (device). States: 0x02 ready, 0x03
 * provisioning, 0x04 provisioned. Errors: 0x01 invalid RPC packet, 0x02 unknown RPC command,
 * 0x03 unable to connect, 0xFF unknown. RPC data: command | length of the rest | the rest; command
 * 0x01 Wi-Fi settings (ssid, password as length-prefixed strings), 0x02 request current state,
 * 0x03 request device info (result: firmware name, version, chip, device name). Results carry
 * length-prefixed strings; the Wi-Fi settings' result is the URL the plug can be reached at.
 * Free of Node APIs: the web UI uses it over Web Serial too.
 */
import { HubError } from '../core/errors.ts';

export const IMPROV = {
  header: [0x49, 0x4d, 0x50, 0x52, 0x4f, 0x56], // "IMPROV"
  version: 1,
  type: { currentState: 0x01, errorState: 0x02, rpc: 0x03, rpcResult: 0x04 },
  state: { ready: 0x02, provisioning: 0x03, provisioned: 0x04 },
  error: { none: 0x00, invalidRpc: 0x01, unknownRpc: 0x02, unableToConnect: 0x03, unknown: 0xff },
  command: { wifiSettings: 0x01, currentState: 0x02, deviceInfo: 0x03 },
} as const;

export interface ImprovPacket {
  type: number;
  data: Uint8Array;
}

export function encodeImprov(type: number, data: Uint8Array): Uint8Array {
  if (data.length > 255) throw new Error('Improv packet data is at most 255 bytes');
  const out = new Uint8Array(6 + 3 + data.length + 2);
  out.set(IMPROV.header, 0);
  out[6] = IMPROV.version;
  out[7] = type;
  out[8] = data.length;
  out.set(data, 9);
  let sum = 0;
  for (let i = 0; i < 9 + data.length; i++) sum = (sum + (out[i] ?? 0)) & 0xff;
  out[9 + data.length] = sum;
  out[10 + data.length] = 0x0a;
  return out;
}

/** An RPC command packet: command | length | payload. */
export function encodeRpc(command: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const data = new Uint8Array(2 + payload.length);
  data[0] = command;
  data[1] = payload.length;
  data.set(payload, 2);
  return encodeImprov(IMPROV.type.rpc, data);
}

/** Length-prefixed strings, as in Wi-Fi settings and RPC results. */
export function lengthPrefixed(strings: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(strings.reduce((n, s) => n + 1 + s.length, 0));
  let o = 0;
  for (const s of strings) {
    out[o++] = s.length;
    out.set(s, o);
    o += s.length;
  }
  return out;
}

export function readStrings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let o = 0; o < bytes.length; ) {
    const len = bytes[o] ?? 0;
    out.push(new TextDecoder().decode(bytes.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  return out;
}

/** Finds packets in a byte stream; anything between them (log lines) is skipped. */
export class ImprovParser {
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array): ImprovPacket[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf);
    joined.set(chunk, this.#buf.length);
    let b = joined;
    const out: ImprovPacket[] = [];
    for (;;) {
      const at = findHeader(b);
      if (at < 0) {
        // Keep a tail that may be the start of a header split across reads.
        b = b.subarray(Math.max(0, b.length - 5));
        break;
      }
      b = b.subarray(at);
      if (b.length < 9) break;
      const len = b[8] ?? 0;
      if (b.length < 10 + len) break;
      let sum = 0;
      for (let i = 0; i < 9 + len; i++) sum = (sum + (b[i] ?? 0)) & 0xff;
      if (b[6] === IMPROV.version && b[9 + len] === sum) {
        out.push({ type: b[7] ?? 0, data: b.slice(9, 9 + len) });
        b = b.subarray(10 + len);
      } else {
        b = b.subarray(1); // a false header: look again one byte on
      }
    }
    this.#buf = Uint8Array.from(b);
    return out;
  }
}

function findHeader(b: Uint8Array): number {
  outer: for (let i = 0; i + 6 <= b.length; i++) {
    for (let j = 0; j < 6; j++) if (b[i + j] !== IMPROV.header[j]) continue outer;
    return i;
  }
  return -1;
}

export interface ImprovPort {
  readable: ReadableStream<Uint8Array> | null;
  writable: WritableStream<Uint8Array> | null;
}

export interface ProvisionOptions {
  ssid: string;
  passphrase: string;
  /** How long the plug may take to boot and answer (it may also need a power cycle by hand). */
  answerTimeoutMs: number;
  /** How long joining the network may take (the firmware gives up after 20 s). */
  connectTimeoutMs: number;
  log?: (line: string) => void;
}

export interface ProvisionResult {
  /** Firmware name, version, chip, device name (the plug id), from the device-info RPC. */
  deviceInfo: string[];
  /** Where the plug says it is reachable (its pairing URL). */
  url: string | undefined;
}

/** Checks Wi-Fi settings before any port is opened (Improv and esp_wifi's limits). */
export function checkWifiSettings(ssid: string, passphrase: string): void {
  const s = new TextEncoder().encode(ssid).length;
  const p = new TextEncoder().encode(passphrase).length;
  if (s < 1 || s > 32) throw new HubError('validation_failed', `Wi-Fi SSID must be 1 to 32 bytes (is ${s})`);
  if (p > 64 || (p > 0 && p < 8))
    throw new HubError(
      'validation_failed',
      `Wi-Fi passphrase must be 8 to 64 bytes, or empty for an open network (is ${p})`,
    );
}

/**
 * Asks the plug for its state and device info, sends the Wi-Fi settings and waits for
 * "provisioned". Throws provision_no_answer, provision_wifi_failed or provision_rejected.
 */
export async function provisionWifi(port: ImprovPort, opts: ProvisionOptions): Promise<ProvisionResult> {
  const readable = port.readable;
  const writable = port.writable;
  if (!readable || !writable) throw new HubError('provision_no_answer', 'the serial port is closed');
  const reader = readable.getReader();
  const parser = new ImprovParser();
  const queue: ImprovPacket[] = [];
  const send = async (bytes: Uint8Array): Promise<void> => {
    const w = writable.getWriter();
    try {
      await w.write(bytes);
    } finally {
      w.releaseLock();
    }
  };
  let pending: ReturnType<typeof reader.read> | undefined;
  /** The next packet matching `want`, or undefined at the deadline. */
  const next = async (want: (p: ImprovPacket) => boolean, deadline: number): Promise<ImprovPacket | undefined> => {
    for (;;) {
      const i = queue.findIndex(want);
      if (i >= 0) return queue.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      pending ??= reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        pending,
        new Promise<'timeout'>((res) => {
          timer = setTimeout(() => res('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (r === 'timeout') return undefined;
      pending = undefined;
      if (r.done) throw new HubError('provision_no_answer', 'the serial port closed while waiting for the plug');
      for (const p of parser.push(r.value)) {
        if (p.type === IMPROV.type.errorState && p.data[0] !== IMPROV.error.none)
          throw improvError(p.data[0] ?? IMPROV.error.unknown);
        queue.push(p);
      }
    }
  };
  try {
    // The plug announces "ready" once booted; ask too, in case that went by before we listened.
    // Asking again every 2 s covers a plug that is still booting or being power-cycled by hand.
    const answerBy = Date.now() + opts.answerTimeoutMs;
    let state: ImprovPacket | undefined;
    while (!state && Date.now() < answerBy) {
      await send(encodeRpc(IMPROV.command.currentState));
      state = await next((p) => p.type === IMPROV.type.currentState, Math.min(answerBy, Date.now() + 2000));
    }
    if (!state)
      throw new HubError(
        'provision_no_answer',
        `no Improv answer from the plug in ${Math.round(opts.answerTimeoutMs / 1000)} s ` +
          `(power-cycle it without holding the boot button, then retry with --provision-only)`,
      );
    await send(encodeRpc(IMPROV.command.deviceInfo));
    const info = await next(
      (p) => p.type === IMPROV.type.rpcResult && p.data[0] === IMPROV.command.deviceInfo,
      Date.now() + 5000,
    );
    const deviceInfo = info ? readStrings(info.data.subarray(2)) : [];
    opts.log?.(`plug answers over Improv${deviceInfo.length ? `: ${deviceInfo.join(', ')}` : ''}`);
    const enc = new TextEncoder();
    await send(
      encodeRpc(IMPROV.command.wifiSettings, lengthPrefixed([enc.encode(opts.ssid), enc.encode(opts.passphrase)])),
    );
    const connectBy = Date.now() + opts.connectTimeoutMs;
    const done = await next(
      (p) =>
        (p.type === IMPROV.type.currentState && p.data[0] === IMPROV.state.provisioned) ||
        (p.type === IMPROV.type.rpcResult && p.data[0] === IMPROV.command.wifiSettings),
      connectBy,
    );
    if (!done)
      throw new HubError(
        'provision_no_answer',
        `the plug did not report joining "${opts.ssid}" in ${Math.round(opts.connectTimeoutMs / 1000)} s`,
      );
    // The URL comes in the RPC result right after the "provisioned" state.
    const result =
      done.type === IMPROV.type.rpcResult
        ? done
        : await next(
            (p) => p.type === IMPROV.type.rpcResult && p.data[0] === IMPROV.command.wifiSettings,
            Date.now() + 3000,
          );
    const url = result ? readStrings(result.data.subarray(2))[0] : undefined;
    return { deviceInfo, url };
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function improvError(code: number): HubError {
  if (code === IMPROV.error.unableToConnect)
    return new HubError(
      'provision_wifi_failed',
      'the plug could not join the Wi-Fi network (wrong passphrase, out of range, or a 5 GHz-only network)',
    );
  return new HubError(
    'provision_rejected',
    `the plug refused the Wi-Fi settings (Improv error 0x${code.toString(16)})`,
    { improvError: code },
  );
}
