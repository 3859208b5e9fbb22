import type { BackupFile as Backup, BackupRecordings as Footage, BackupCreate } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api, ensureAccess } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { hubFetch } from '../api/transport.ts';
import { Field, FormError } from './form.tsx';
import { formatSize } from './plug-firmware.tsx';

type Errors = Partial<Record<'passphrase' | 'repeat' | 'form', string>>;

function makeError(err: unknown): Errors {
  if (err instanceof ApiError && err.code === 'backup_in_progress')
    return { form: 'A backup is being made already. Wait for it, then try again.' };
  if (err instanceof ApiError && err.code === 'backup_recordings_too_large')
    return { form: 'The camera recordings are too large for a backup. Make it without them.' };
  if (err instanceof ApiError && err.code === 'validation_failed')
    return { passphrase: 'A passphrase needs 8 to 1024 characters.' };
  return { form: plainMessage(err) };
}

/**
 * Settings → Backups, for the owner (the hub allows no one else: a backup holds every key of the
 * home). A passphrase typed twice makes an encrypted backup on the hub; each one can be saved to
 * this computer. Without the passphrase the file cannot be opened, by anyone: the page says so.
 * Camera recordings go in only when ticked, and the box shows their size before it can be ticked.
 */
export function Backups() {
  const [list, setList] = useState<Backup[] | null>(null);
  const [values, setValues] = useState({ passphrase: '', repeat: '' });
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<Backup | null>(null);
  const [footage, setFootage] = useState<Footage | null>(null);
  const [withFootage, setWithFootage] = useState(false);

  const load = () => api<Backup[]>('GET', '/backups').then(setList, (err) => setErrors({ form: plainMessage(err) }));
  useEffect(() => {
    void load();
    // The size comes first: the box to include recordings appears only once it is known.
    api<Footage>('GET', '/backups/recordings').then(setFootage, () => setFootage(null));
  }, []);
  const footageTooLarge = footage !== null && footage.bytes > footage.maxBytes;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setMade(null);
    const local: Errors = {};
    if ([...values.passphrase].length < 8) local.passphrase = 'A passphrase needs at least 8 characters.';
    else if (values.repeat !== values.passphrase) local.repeat = 'The two passphrases are not the same.';
    setErrors(local);
    if (local.passphrase) document.getElementById('backup-passphrase')?.focus();
    else if (local.repeat) document.getElementById('backup-repeat')?.focus();
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      setMade(
        await api<Backup>('POST', '/backups', {
          passphrase: values.passphrase,
          ...(withFootage && !footageTooLarge ? { recordings: true } : {}),
        } satisfies BackupCreate),
      );
      setValues({ passphrase: '', repeat: '' });
      setWithFootage(false);
      await load();
    } catch (err) {
      setErrors(makeError(err));
    } finally {
      setBusy(false);
    }
  };

  /** The file comes with the session's token (a plain link cannot send it), saved as a blob. */
  const download = async (b: Backup) => {
    try {
      const res = await hubFetch(
        'GET',
        `/api/v1/backups/${encodeURIComponent(b.id)}/file`,
        undefined,
        await ensureAccess(),
      );
      if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, res.statusText);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${b.id}.hbk`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setErrors({ form: plainMessage(err) });
    }
  };

  const invalid = (field: 'passphrase' | 'repeat', id: string) =>
    errors[field] ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : {};

  return (
    <form class="card" onSubmit={submit} aria-labelledby="backups-title" noValidate>
      <h2 id="backups-title">Backups</h2>
      <p class="muted">
        A backup holds the whole home (people, devices, rules, history, the hub's keys and the Zigbee network; camera
        recordings only if you tick them below), encrypted with a passphrase you choose. Keep the passphrase safe:
        without it nobody can open the backup, not even you. Restore it on a new hub from its first screen (“Restore
        from a backup”) or with <code>hearth-admin restore</code>; plugs keep working without pairing again.
      </p>
      <Field
        label="Passphrase"
        id="backup-passphrase"
        error={errors.passphrase}
        hint="At least 8 characters; a few unrelated words are good."
      >
        <input
          id="backup-passphrase"
          type="password"
          autoComplete="new-password"
          value={values.passphrase}
          onInput={(e) => setValues({ ...values, passphrase: (e.currentTarget as HTMLInputElement).value })}
          {...invalid('passphrase', 'backup-passphrase')}
        />
      </Field>
      <Field label="Repeat the passphrase" id="backup-repeat" error={errors.repeat}>
        <input
          id="backup-repeat"
          type="password"
          autoComplete="new-password"
          value={values.repeat}
          onInput={(e) => setValues({ ...values, repeat: (e.currentTarget as HTMLInputElement).value })}
          {...invalid('repeat', 'backup-repeat')}
        />
      </Field>
      {footage && footage.files > 0 && (
        <div class="field">
          <label>
            <input
              type="checkbox"
              checked={withFootage}
              disabled={footageTooLarge}
              onChange={(e) => setWithFootage((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Include camera recordings ({formatSize(footage.bytes)}, {footage.files} segments)
          </label>
          {footageTooLarge && (
            <p class="muted">
              Too large for a backup (at most {formatSize(footage.maxBytes)}): the backup will hold everything else.
            </p>
          )}
        </div>
      )}
      <FormError message={errors.form ?? null} />
      <button type="submit" disabled={busy}>
        {busy ? 'Making the backup…' : 'Make a backup'}
      </button>
      {made && (
        <p role="status" class="ok">
          Backup made and checked ({formatSize(made.bytes)}
          {made.recordings ? `, with ${made.recordings.files} recording segments` : ''}).
        </p>
      )}
      {list && list.length === 0 && <p>No backups on the hub yet.</p>}
      {list && list.length > 0 && (
        <ul aria-label="Backups on the hub">
          {list.map((b) => (
            <li key={b.id}>
              {formatTime(b.createdAt)}, {formatSize(b.bytes)}{' '}
              <button
                type="button"
                onClick={() => void download(b)}
                aria-label={`Download the backup of ${formatTime(b.createdAt)}`}
              >
                Download
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
