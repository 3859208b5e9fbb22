import type { Camera, Recordings, CameraCreate } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api, ensureAccess } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { hubFetch } from '../api/transport.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { LiveVideo } from '../components/live-video.tsx';
import { formatTime } from '../format.ts';
import { href } from '../router.ts';

const STATES: Record<string, string> = {
  recording: 'Recording',
  starting: 'Starting',
  unavailable: 'Unreachable',
  off: 'Not recording',
  storage_full: 'Storage full: not recording',
};

/** Every camera's live view in a grid, and adding a camera by its RTSP address. */
export function Cameras() {
  const [cameras, setCameras] = useState<Camera[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<Camera[]>('GET', '/cameras').then(setCameras, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), []);

  return (
    <>
      <h1>Cameras</h1>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!cameras && !error && <Spinner label="Loading cameras" />}
      {cameras && cameras.length === 0 && <p>No cameras yet.</p>}
      <div class="cams">
        {cameras?.map((c) => (
          <article class="card" aria-label={c.name}>
            <div class="tile-head">
              <a class="tile-name" href={href(`/cameras/${c.id}`)}>
                {c.name}
              </a>
              <span class={c.available ? 'ok' : 'bad'}>{STATES[c.state] ?? c.state}</span>
            </div>
            <LiveVideo cameraId={c.id} name={c.name} />
          </article>
        ))}
      </div>
      <AddCamera onAdded={() => void load()} />
    </>
  );
}

function AddCamera(props: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/cameras', { name, url } satisfies CameraCreate);
      setName('');
      setUrl('');
      props.onAdded();
    } catch (err) {
      setError(
        (err as { code?: string }).code === 'validation_failed'
          ? 'The address must start with rtsp:// or rtsps://, and the camera needs a name.'
          : plainMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-camera">
      <h2 id="add-camera">Add a camera</h2>
      <Field label="Name" id="camera-name">
        <input id="camera-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="RTSP address" id="camera-url" hint="For example rtsp://user:password@192.168.1.20/stream1">
        <input id="camera-url" value={url} inputMode="url" onInput={(e) => setUrl(e.currentTarget.value)} />
      </Field>
      <FormError message={error} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Checking the camera…' : 'Add camera'}
      </button>
    </form>
  );
}

const DAY = 86400e3;
const PLAY_S = 60;

/**
 * Fetches recorded media with the session's token (a <video> or <img> src cannot send it) into
 * an object URL. Through `hubFetch`, so away from home it comes through the relay: the whole
 * range arrives before it plays (PLAY_S, one minute: about 15-30 MB at 2-4 Mbit/s), and the
 * export link saves that same blob. Longer exports are for the home network.
 */
async function fetchVideo(path: string): Promise<string> {
  const token = await ensureAccess();
  const res = await hubFetch('GET', `/api/v1${path}`, undefined, token);
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(res.status, body.error?.code ?? `http_${res.status}`, body.error?.message ?? res.statusText);
  }
  return URL.createObjectURL(await res.blob());
}

/** One camera: live view, the last day's recordings as a timeline with event marks, playback and export. */
export function CameraPage(props: { id: string }) {
  const [camera, setCamera] = useState<Camera | null>(null);
  const [rec, setRec] = useState<Recordings | null>(null);
  const [span] = useState(() => ({ to: Date.now(), from: Date.now() - DAY }));
  const [playing, setPlaying] = useState<{ url: string; from: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<Camera>('GET', `/cameras/${props.id}`).then(setCamera, (err) => setError(plainMessage(err)));
    api<Recordings>('GET', `/cameras/${props.id}/recordings?from=${span.from}&to=${span.to}`).then(setRec, (err) =>
      setError(plainMessage(err)),
    );
  }, [props.id]);

  const x = (t: string | number) => `${(((typeof t === 'string' ? Date.parse(t) : t) - span.from) / DAY) * 100}%`;
  const play = async (at: number) => {
    // The API takes whole epoch milliseconds; a click on the timeline gives fractions.
    const from = Math.round(at);
    setError(null);
    try {
      if (playing) URL.revokeObjectURL(playing.url);
      setPlaying({
        url: await fetchVideo(`/cameras/${props.id}/playback?from=${from}&to=${from + PLAY_S * 1000}`),
        from,
      });
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  const [snapshot, setSnapshot] = useState<string | null>(null);
  const snap = async () => {
    setError(null);
    try {
      if (snapshot) URL.revokeObjectURL(snapshot);
      setSnapshot(await fetchVideo(`/cameras/${props.id}/snapshot`));
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  const onTimeline = (e: MouseEvent) => {
    const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
    void play(span.from + ((e.clientX - box.left) / box.width) * DAY);
  };
  const lastStart = rec?.segments.length ? Date.parse(rec.segments[rec.segments.length - 1]!.start) : null;

  if (!camera)
    return error ? (
      <p class="form-error" role="alert">
        {error}
      </p>
    ) : (
      <Spinner label="Loading camera" />
    );
  return (
    <>
      <h1>{camera.name}</h1>
      <p class={camera.available ? 'ok' : 'bad'}>
        {STATES[camera.state] ?? camera.state} · {camera.codec} {camera.width}×{camera.height} at {camera.fps} fps
      </p>
      <LiveVideo cameraId={camera.id} name={camera.name} />
      <section class="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Last 24 hours</h2>
        {/* biome-ignore lint/a11y/useKeyWithClickEvents: a pointer shortcut; the Play buttons below do the same from the keyboard. */}
        <div
          class="timeline"
          role="group"
          aria-label="Recordings timeline: click to play from that time"
          onClick={onTimeline}
        >
          {rec?.segments.map((s) => (
            <span class="seg" style={{ left: x(s.start), width: `calc(${x(s.end)} - ${x(s.start)} + 1px)` }} />
          ))}
          {rec?.events.map((ev) => (
            <span class="mark" style={{ left: x(ev.at) }} title={`${ev.kind} at ${formatTime(ev.at)}`} />
          ))}
        </div>
        <p class="muted">{rec ? `${rec.segments.length} segments, ${rec.events.length} events` : 'Loading…'}</p>
        <div class="row">
          {lastStart !== null && (
            <button type="button" onClick={() => void play(lastStart - (PLAY_S * 1000) / 2)}>
              Play the last minute
            </button>
          )}
          <button type="button" onClick={() => void snap()}>
            Snapshot
          </button>
        </div>
        <ul class="steps">
          {rec?.events
            .slice(-10)
            .reverse()
            .map((ev) => (
              <li>
                <button type="button" onClick={() => void play(Date.parse(ev.at) - 10_000)}>
                  {formatTime(ev.at)}
                </button>{' '}
                {ev.kind.replace(/_/g, ' ')}
              </li>
            ))}
        </ul>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {snapshot && (
          <figure>
            <img src={snapshot} alt={`Snapshot of ${camera.name}`} style="max-width:100%" />
            <figcaption>
              <a href={snapshot} download={`${camera.name}-snapshot.jpg`}>
                Save the snapshot
              </a>
            </figcaption>
          </figure>
        )}
        {playing && (
          <div>
            <video
              src={playing.url}
              controls
              autoplay
              muted
              aria-label={`Recording from ${formatTime(playing.from)}`}
            />
            <a
              class="button"
              href={playing.url}
              download={`${camera.name}-${new Date(playing.from).toISOString()}.mp4`}
            >
              Export this clip
            </a>
          </div>
        )}
      </section>
    </>
  );
}
