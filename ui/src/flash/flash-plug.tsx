import { useState } from 'preact/hooks';
import { Field, FormError, Spinner } from '../components/form.tsx';

/**
 * Settings → Flash a plug: writes a merged plug image (`idf.py merge-bin`, written at 0x0) over
 * the browser's Web Serial, with the same flasher as `hearth-admin flash-plug`
 * (hub/src/flash/esp-flasher.ts: esptool-js, the ESP32-C3 ROM loader, MD5 per part), then gives the
 * plug the Wi-Fi over Improv serial (hub/src/flash/improv.ts).
 *
 * Where it cannot work, it says so instead of offering a button that fails: Web Serial exists only
 * in Chromium-based browsers on computers (Chrome, Edge, Opera; not Firefox, not Safari, not any
 * browser on a phone or tablet), and only on a secure page (https://, or http://localhost on the
 * computer itself). The hub's own http://hearth.local:8080 is not one, so there the answer is
 * `hearth-admin flash-plug` on the hub, or the app over HTTPS.
 */

/** The part of Web Serial used here (not in TypeScript's DOM types yet). */
interface WebSerialPort extends EventTarget {
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  readable: ReadableStream<Uint8Array> | null;
  writable: WritableStream<Uint8Array> | null;
}
interface WebSerial extends EventTarget {
  requestPort(options?: object): Promise<WebSerialPort>;
}

export type FlashSupport = 'ok' | 'insecure' | 'no-web-serial';

export function flashSupport(): FlashSupport {
  if (!window.isSecureContext) return 'insecure';
  return (navigator as unknown as { serial?: WebSerial }).serial ? 'ok' : 'no-web-serial';
}

const MAX_IMAGE = 4 * 1024 * 1024;

/** What can be checked of a merged image without Node: ESP image magic, ESP32-C3 chip id, size. */
function checkMerged(bytes: Uint8Array): string | null {
  if (bytes.length === 0 || bytes.length > MAX_IMAGE)
    return "The image must be between 1 byte and 4 MB (the plug's flash).";
  if (bytes[0] !== 0xe9)
    return 'This is not a merged plug image: it does not start with an ESP bootloader (first byte 0xE9). Use the merged .bin of a plug build.';
  if ((bytes[12]! | (bytes[13]! << 8)) !== 5) return 'This image is for another chip: Hearth plugs are ESP32-C3s.';
  if (bytes.length < 0x8000 + 32 || bytes[0x8000] !== 0xaa || bytes[0x8001] !== 0x50)
    return 'This image has no partition table at 0x8000: use the merged image of the whole build, not the app alone.';
  return null;
}

export function FlashPlug() {
  const support = flashSupport();
  const [file, setFile] = useState<File | null>(null);
  const [ssid, setSsid] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [log, setLog] = useState<string[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const flash = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    setLog([]);
    if (!file) return setError('Choose the plug image (.bin) first.');
    const serial = (navigator as unknown as { serial: WebSerial }).serial;
    const say = (line: string) => setLog((l) => [...l.slice(-30), line]);
    let port: WebSerialPort;
    try {
      // First, while the click still counts as the person's gesture (the browser requires one).
      port = await serial.requestPort();
    } catch {
      return setError('No serial port was chosen.');
    }
    setBusy(true);
    const state = { label: 'the selected port', lost: undefined as string | undefined, modemLines: true };
    const onDisconnect = (ev: Event) => {
      if (ev.target === port) state.lost = 'the adapter was unplugged';
    };
    serial.addEventListener('disconnect', onDisconnect);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const bad = checkMerged(bytes);
      if (bad) return setError(bad);
      const [{ flashPlugImage }, { checkWifiSettings, provisionWifi }, { md5Hex }] = await Promise.all([
        import('../../../hub/src/flash/esp-flasher.ts'),
        import('../../../hub/src/flash/improv.ts'),
        import('./md5.ts'),
      ]);
      if (ssid) checkWifiSettings(ssid, passphrase);
      say("Connecting to the plug's bootloader…");
      const result = await flashPlugImage(
        port,
        state,
        { parts: [{ name: 'plug image', offset: 0, data: bytes }] },
        { baud: 460800, timeoutMs: 600_000, log: say, md5Hex },
      );
      let where = '';
      if (ssid) {
        // Improv runs at 115200; Web Serial changes speed only by reopening.
        await port.close();
        await port.open({ baudRate: 115200 });
        say(`Sending the Wi-Fi settings for "${ssid}"…`);
        const res = await provisionWifi(port, {
          ssid,
          passphrase,
          answerTimeoutMs: 60_000,
          connectTimeoutMs: 60_000,
          log: say,
        });
        where = res.url ? ` It is on the Wi-Fi at ${res.url}.` : ' It is on the Wi-Fi.';
      }
      setDone(`Flashed and verified ${result.plugId}.${where} Add it under Devices → Add a plug within 10 minutes.`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      setError(`${(err as Error).message}${code ? ` (${code})` : ''}`);
    } finally {
      serial.removeEventListener('disconnect', onDisconnect);
      await port.close().catch(() => undefined);
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="flash-plug-title">
      <h2 id="flash-plug-title">Flash a plug</h2>
      {support === 'insecure' && (
        <p data-testid="flash-unavailable" data-reason="insecure">
          Flashing from the browser needs Web Serial, which browsers allow only on a secure page (https://, or localhost
          on the computer itself); this page is {location.origin}. Flash on the hub instead with{' '}
          <code>sudo hearth-admin flash-plug --port /dev/ttyUSB0 …</code> (the installer guide explains it), or open the
          app over HTTPS.
        </p>
      )}
      {support === 'no-web-serial' && (
        <p data-testid="flash-unavailable" data-reason="no-web-serial">
          This browser cannot reach serial ports (it has no Web Serial). Firefox, Safari and every browser on phones and
          tablets lack it; Chrome, Edge or Opera on a computer have it. Or flash on the hub with{' '}
          <code>sudo hearth-admin flash-plug --port /dev/ttyUSB0 …</code>.
        </p>
      )}
      {support === 'ok' && (
        <form onSubmit={flash} aria-label="Flash a plug">
          <p class="muted">
            Connect the plug to this computer with a 3.3 V USB serial adapter (hold its boot button while powering it if
            the adapter has no auto-reset). The image is the merged .bin of a plug build, written at 0x0.
          </p>
          <Field label="Plug image" id="flash-image">
            <input
              id="flash-image"
              type="file"
              accept=".bin,application/octet-stream"
              onChange={(ev) => setFile(ev.currentTarget.files?.[0] ?? null)}
            />
          </Field>
          <div class="row">
            <Field label="Wi-Fi name (SSID)" id="flash-ssid" hint="Leave empty to flash only.">
              <input
                id="flash-ssid"
                value={ssid}
                onInput={(ev) => setSsid(ev.currentTarget.value)}
                autocomplete="off"
              />
            </Field>
            <Field label="Wi-Fi passphrase" id="flash-pass">
              <input
                id="flash-pass"
                type="password"
                value={passphrase}
                onInput={(ev) => setPassphrase(ev.currentTarget.value)}
                autocomplete="off"
              />
            </Field>
          </div>
          <FormError message={error} />
          {done && (
            <p role="status" class="ok">
              {done}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy}>
            Choose the port and flash
          </button>
          {busy && <Spinner label="Flashing the plug" />}
          {log.length > 0 && (
            <pre class="muted" aria-live="polite" data-testid="flash-log">
              {log.join('\n')}
            </pre>
          )}
        </form>
      )}
    </section>
  );
}
