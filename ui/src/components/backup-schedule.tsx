import type { BackupFile, BackupSchedule as ScheduleStatus, BackupScheduleBody } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { Field, FormError } from './form.tsx';
import { formatSize } from './plug-firmware.tsx';

type Errors = Partial<Record<'passphrase' | 'repeat' | 'form', string>>;

/**
 * Settings → Backups → Schedule (owner): nightly backups into the hub's backup folder (a USB
 * stick), each checked after it is made, the oldest beyond "keep" removed, optionally a copy at
 * the relay. What went wrong (a failed or damaged backup, none for longer than the schedule)
 * shows here as an alert; the owner's phones are also notified. The passphrase is asked once;
 * the hub keeps a key made from it, never the passphrase itself (docs/backup.md "Schedule").
 */
export function BackupSchedule() {
  const [status, setStatus] = useState<ScheduleStatus | null>(null);
  const [form, setForm] = useState({
    enabled: false,
    time: '03:00',
    keep: 7,
    offsite: false,
    passphrase: '',
    repeat: '',
  });
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const show = (s: ScheduleStatus) => {
    setStatus(s);
    setForm((f) => ({
      ...f,
      enabled: s.enabled,
      time: s.time,
      keep: s.keep,
      offsite: s.offsite ?? false,
      passphrase: '',
      repeat: '',
    }));
  };
  const load = () =>
    api<ScheduleStatus>('GET', '/backups/schedule').then(show, (err) => setErrors({ form: plainMessage(err) }));
  useEffect(() => void load(), []);

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setSaved(null);
    const local: Errors = {};
    const needsPassphrase = form.enabled && !status?.passphraseSet;
    if ((needsPassphrase || form.passphrase) && [...form.passphrase].length < 8)
      local.passphrase = 'A passphrase needs at least 8 characters.';
    else if (form.passphrase && form.repeat !== form.passphrase) local.repeat = 'The two passphrases are not the same.';
    setErrors(local);
    if (local.passphrase) document.getElementById('schedule-passphrase')?.focus();
    else if (local.repeat) document.getElementById('schedule-repeat')?.focus();
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      show(
        await api<ScheduleStatus>('PUT', '/backups/schedule', {
          enabled: form.enabled,
          time: form.time,
          keep: form.keep,
          offsite: form.offsite,
          ...(form.passphrase ? { passphrase: form.passphrase } : {}),
        } satisfies BackupScheduleBody),
      );
      setSaved('Schedule saved.');
    } catch (err) {
      setErrors(
        err instanceof ApiError && err.code === 'backup_passphrase_required'
          ? { passphrase: plainMessage(err) }
          : { form: plainMessage(err) },
      );
    } finally {
      setBusy(false);
    }
  };

  const runNow = async () => {
    setBusy(true);
    setSaved(null);
    setErrors({});
    try {
      const made = await api<BackupFile>('POST', '/backups/schedule/run');
      setSaved(`Backup made and checked (${formatSize(made.bytes)}).`);
    } catch {
      // The failure is in the status (lastError) and shown as its alert.
    } finally {
      setBusy(false);
      await load();
    }
  };

  const problem = status && (status.lastError || status.stale) ? describeProblem(status) : null;
  return (
    <form class="card" onSubmit={save} aria-labelledby="schedule-title" noValidate>
      <h2 id="schedule-title">Backup schedule</h2>
      {status && (
        <p>
          {status.enabled
            ? `Every night at ${status.time} (${status.timeZone}), keeping the last ${status.keep}.`
            : 'Scheduled backups are off.'}{' '}
          {status.nextRunAt !== null && `Next: ${formatTime(status.nextRunAt)}. `}
          {status.lastGoodAt !== null
            ? `Last good backup: ${formatTime(status.lastGoodAt)}.`
            : status.enabled
              ? 'No scheduled backup yet.'
              : ''}
          {status.offsite && status.lastOffsiteAt ? ` Copy at the relay: ${formatTime(status.lastOffsiteAt)}.` : ''}
        </p>
      )}
      {problem && (
        <p role="alert" class="form-error">
          {problem}
        </p>
      )}
      <div class="field">
        <label>
          <input
            type="checkbox"
            checked={form.enabled}
            onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })}
          />{' '}
          Back up every night
        </label>
      </div>
      <Field label="Time" id="schedule-time" hint="The hub's local time.">
        <input
          id="schedule-time"
          type="time"
          required
          value={form.time}
          onInput={(e) => setForm({ ...form, time: e.currentTarget.value })}
          aria-describedby="schedule-time-hint"
        />
      </Field>
      <Field label="Backups to keep" id="schedule-keep">
        <input
          id="schedule-keep"
          type="number"
          min={1}
          max={60}
          required
          value={form.keep}
          onInput={(e) => setForm({ ...form, keep: Number(e.currentTarget.value) })}
        />
      </Field>
      <div class="field">
        <label>
          <input
            type="checkbox"
            checked={form.offsite}
            onChange={(e) => setForm({ ...form, offsite: e.currentTarget.checked })}
          />{' '}
          Also keep a copy at the relay (encrypted; only your phones can fetch it)
        </label>
      </div>
      <Field
        label="Schedule passphrase"
        id="schedule-passphrase"
        error={errors.passphrase}
        hint={
          status?.passphraseSet
            ? 'Set. Type a new one only to change it.'
            : 'Needed to open these backups; the hub keeps a key made from it, not the passphrase.'
        }
      >
        <input
          id="schedule-passphrase"
          type="password"
          autoComplete="new-password"
          value={form.passphrase}
          onInput={(e) => setForm({ ...form, passphrase: e.currentTarget.value })}
          aria-describedby="schedule-passphrase-hint"
        />
      </Field>
      <Field label="Repeat the schedule passphrase" id="schedule-repeat" error={errors.repeat}>
        <input
          id="schedule-repeat"
          type="password"
          autoComplete="new-password"
          value={form.repeat}
          onInput={(e) => setForm({ ...form, repeat: e.currentTarget.value })}
        />
      </Field>
      <FormError message={errors.form ?? null} />
      <button type="submit" disabled={busy}>
        Save schedule
      </button>{' '}
      {status?.enabled && (
        <button type="button" disabled={busy} onClick={() => void runNow()}>
          Back up now
        </button>
      )}
      {saved && (
        <p role="status" class="ok">
          {saved}
        </p>
      )}
    </form>
  );
}

function describeProblem(s: ScheduleStatus): string {
  const words = s.lastError ? plainMessage(new ApiError(0, s.lastError.code, s.lastError.message)) : '';
  const stale = s.stale
    ? s.lastGoodAt === null
      ? 'No scheduled backup has worked yet.'
      : `The last good backup is from ${formatTime(s.lastGoodAt)}, older than the schedule.`
    : '';
  return [stale, words].filter(Boolean).join(' ');
}
