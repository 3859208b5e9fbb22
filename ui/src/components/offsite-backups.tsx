import type { EnrolledDevice } from '@hearth/protocol/client';
import { useEffect, useState } from 'preact/hooks';
import { plainMessage } from '../api/errors.ts';
import {
  enrolledDevice,
  fetchOffsiteBackup,
  listOffsiteBackups,
  type OffsiteBackups as List,
} from '../api/offsite-backups.ts';
import { formatTime } from '../format.ts';
import { FormError } from './form.tsx';
import { formatSize } from './plug-firmware.tsx';

/**
 * Settings → Off-site backups: the copies the schedule stored at the relay (Backup schedule →
 * off-site), listed and saved to this device straight from the relay, at home or away, also with
 * the hub offline. Shown only on a browser enrolled for remote access; the relay hands them only
 * to the owner's devices. The files are sealed with the schedule's passphrase: restore one on a
 * new hub's first screen ("Restore from a backup") or with `hearth-admin restore`.
 */
export function OffsiteBackups() {
  const [device, setDevice] = useState<EnrolledDevice | null>(null);
  const [list, setList] = useState<List | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<string | null>(null);

  useEffect(() => {
    void enrolledDevice().then((d) => {
      setDevice(d);
      if (d) listOffsiteBackups(d).then(setList, (err) => setError(plainMessage(err)));
    });
  }, []);
  if (!device) return null;

  const save = async (id: string) => {
    if (saving) return;
    setSaving(id);
    setError(null);
    try {
      const url = URL.createObjectURL(await fetchOffsiteBackup(device, id));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${id}.hbk`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setSaving(null);
    }
  };

  const newestFirst = list ? [...list.backups].sort((a, b) => b.storedAt - a.storedAt) : [];
  return (
    <section class="card" aria-labelledby="offsite-title">
      <h2 id="offsite-title">Off-site backups</h2>
      <p class="muted">
        Copies of the scheduled backups kept at the relay, sealed with the schedule's passphrase (the relay cannot open
        them). Save one to this device, at home or away, even with the hub offline.
      </p>
      <FormError message={error} />
      {saving && <p role="status">Fetching the backup from the relay…</p>}
      {list && newestFirst.length === 0 && <p>The relay keeps no backup of this home.</p>}
      {list && newestFirst.length > 0 && (
        <>
          <ul aria-label="Backups at the relay">
            {newestFirst.map((b) => (
              <li key={b.id}>
                {formatTime(b.storedAt)}, {formatSize(b.bytes)}{' '}
                <button
                  type="button"
                  disabled={saving !== null}
                  onClick={() => void save(b.id)}
                  aria-label={`Save the off-site backup of ${formatTime(b.storedAt)}`}
                >
                  Save
                </button>
              </li>
            ))}
          </ul>
          <p class="muted">
            The relay keeps at most {list.quota.count} ({formatSize(list.quota.bytes)} in all).
          </p>
        </>
      )}
    </section>
  );
}
