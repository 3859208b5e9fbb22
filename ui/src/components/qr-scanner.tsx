import { useEffect, useRef, useState } from 'preact/hooks';

interface Detector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type DetectorClass = new (options: { formats: string[] }) => Detector;

/** BarcodeDetector exists in Chromium-based browsers (Android, desktop); elsewhere the code is typed. */
export function canScan(): boolean {
  return (
    typeof (globalThis as { BarcodeDetector?: unknown }).BarcodeDetector === 'function' &&
    !!navigator.mediaDevices?.getUserMedia
  );
}

/**
 * Reads a QR code with the back camera: a live preview, a detection every 250 ms, stops the
 * camera as soon as a code is read or the scanner is closed.
 */
export function QrScanner(props: { onCode: (text: string) => void; onClose: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;
    let done = false;
    const Detector = (globalThis as unknown as { BarcodeDetector: DetectorClass }).BarcodeDetector;
    const detector = new Detector({ formats: ['qr_code'] });
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'environment' } })
      .then(async (s) => {
        stream = s;
        if (done || !video.current) return;
        video.current.srcObject = s;
        await video.current.play();
        timer = setInterval(async () => {
          if (!video.current || done) return;
          const codes = await detector.detect(video.current).catch(() => []);
          if (codes[0]) {
            done = true;
            props.onCode(codes[0].rawValue);
          }
        }, 250);
      })
      .catch(() => setError('The camera could not be opened. Allow camera access, or type the code instead.'));
    return () => {
      done = true;
      clearInterval(timer);
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, []);

  return (
    <div class="card">
      <video ref={video} muted playsInline aria-label="Camera preview for the QR code" />
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="button" onClick={props.onClose}>
        Stop scanning
      </button>
    </div>
  );
}
