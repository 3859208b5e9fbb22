import { useEffect, useRef, useState } from 'preact/hooks';
import { ensureAccess } from '../api/client.ts';
import { openLiveSocket, type LiveSocket } from '../api/live-socket.ts';

/**
 * The codec string MSE needs, read from the init segment: for H.264 the avcC box carries profile,
 * constraints and level (`avc1.PPCCLL`); H.265 gets a common Main-profile string.
 */
export function codecOf(init: Uint8Array): string {
  for (let i = 4; i + 8 < init.length; i++) {
    // 'avcC' then version(1), profile, constraints, level
    if (init[i] === 0x61 && init[i + 1] === 0x76 && init[i + 2] === 0x63 && init[i + 3] === 0x43) {
      const hex = (b: number) => b.toString(16).padStart(2, '0');
      return `video/mp4; codecs="avc1.${hex(init[i + 5]!)}${hex(init[i + 6]!)}${hex(init[i + 7]!)}"`;
    }
    if (init[i] === 0x68 && init[i + 1] === 0x76 && init[i + 2] === 0x63 && init[i + 3] === 0x43)
      return 'video/mp4; codecs="hvc1.1.6.L93.B0"';
  }
  return 'video/mp4; codecs="avc1.42E01E"';
}

const KEEP_S = 30;
const MAX_LAG_S = 2;

/**
 * Live view: the hub's fMP4 WebSocket (or, in remote mode, the relay's live stream) fed into Media Source Extensions. The first message is the
 * init segment, each next one a fragment. The player is kept near the live edge and only the last
 * 30 s stay buffered, so a view left open for hours does not grow.
 */
export function LiveVideo(props: { cameraId: string; name: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState('Connecting…');
  const [frames, setFrames] = useState(0);

  useEffect(() => {
    const MS = (globalThis as { ManagedMediaSource?: typeof MediaSource }).ManagedMediaSource ?? globalThis.MediaSource;
    if (!MS || !video.current) {
      setStatus('This browser cannot play live video.');
      return;
    }
    let ws: LiveSocket | null = null;
    let closed = false;
    const source = new MS();
    const queue: ArrayBuffer[] = [];
    let buffer: SourceBuffer | null = null;
    video.current.src = URL.createObjectURL(source);

    const pump = () => {
      if (!buffer || buffer.updating || !queue.length) return;
      const v = video.current;
      if (v?.buffered.length && v.currentTime - v.buffered.start(0) > KEEP_S) {
        buffer.remove(0, v.currentTime - KEEP_S / 2);
        return;
      }
      try {
        buffer.appendBuffer(queue.shift()!);
      } catch {
        setStatus('The video could not be decoded.');
      }
    };

    source.addEventListener('sourceopen', async () => {
      const token = await ensureAccess().catch(() => null);
      if (closed || !token) return;
      // On the LAN the hub's WebSocket, away from home a live stream through the relay.
      ws = openLiveSocket(props.cameraId, token);
      ws.onmessage = (message) => {
        const data = message.data as ArrayBuffer;
        if (!buffer) {
          const type = codecOf(new Uint8Array(data));
          if (!MS.isTypeSupported(type)) {
            setStatus('This browser cannot play this camera’s video format.');
            ws?.close();
            return;
          }
          buffer = source.addSourceBuffer(type);
          buffer.mode = 'segments';
          buffer.addEventListener('updateend', () => {
            const v = video.current;
            if (v?.buffered.length) {
              const end = v.buffered.end(v.buffered.length - 1);
              if (end - v.currentTime > MAX_LAG_S) v.currentTime = end - 0.3;
              if (v.paused) void v.play().catch(() => undefined);
            }
            pump();
          });
          setStatus('');
        } else setFrames((n) => n + 1);
        queue.push(data);
        pump();
      };
      ws.onclose = (close) => {
        if (closed) return;
        setStatus(
          close.code === 4404
            ? 'This camera no longer exists.'
            : 'The live view stopped. Reopen the page to try again.',
        );
      };
    });

    return () => {
      closed = true;
      ws?.close();
      if (video.current) {
        URL.revokeObjectURL(video.current.src);
        video.current.removeAttribute('src');
      }
    };
  }, [props.cameraId]);

  return (
    <div>
      <video ref={video} muted autoplay playsInline aria-label={`${props.name}, live`} data-fragments={frames} />
      {status && (
        <p class="muted" role="status">
          {status}
        </p>
      )}
    </div>
  );
}
