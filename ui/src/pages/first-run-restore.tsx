import { useState } from 'preact/hooks';
import { restoreFromBackup } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError } from '../components/form.tsx';

/**
 * "Restore from a backup" on a new hub's first-run screen (docs/backup.md "First-run restore"):
 * the .hbk file saved from Settings → Backups (or fetched from the relay), its passphrase, and
 * the hub's setup code, which proves the person is at the hub, so a guest on the Wi-Fi cannot
 * put a home of their own onto a new hub. The hub checks the whole file before it changes
 * anything, then restarts on the restored home; this page then logs in as before.
 */
export function FirstRunRestore() {
  const [setupCode, setSetupCode] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ home: string; users: number } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!file) {
      setError('Choose the backup file (it ends in .hbk).');
      document.getElementById('restore-file')?.focus();
      return;
    }
    setBusy(true);
    try {
      const restored = await restoreFromBackup(file, passphrase, setupCode.trim());
      setDone({ home: restored.home, users: restored.counts.users ?? 0 });
      // The hub restarts on the restored home; once it answers again, the login page shows.
      void waitForHub().then(() => location.reload());
    } catch (err) {
      setError(restoreProblem(err));
      if (err instanceof ApiError && err.code === 'setup_code_invalid')
        document.getElementById('restore-setup-code')?.focus();
      if (err instanceof ApiError && err.code === 'backup_passphrase_wrong')
        document.getElementById('restore-passphrase')?.focus();
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <section class="card" aria-labelledby="restore-title">
        <h2 id="restore-title">Restore from a backup</h2>
        <p role="status">
          Restored “{done.home}” with {done.users} {done.users === 1 ? 'account' : 'accounts'}. The hub is restarting;
          log in with your usual account when this page comes back.
        </p>
      </section>
    );
  }
  return (
    <details class="card">
      <summary>Restore from a backup</summary>
      <form onSubmit={submit} aria-label="Restore from a backup">
        <p>
          Moving to a new hub, or the old one broke? Restore the backup file and everything comes back: accounts, rooms,
          devices, rules and history. Plugs reconnect without pairing again.
        </p>
        <Field
          label="Setup code"
          id="restore-setup-code"
          hint="The same code as for a new account: in the hub's log, in the file setup-code in its data folder, or from hearth-admin setup-code."
        >
          <input
            id="restore-setup-code"
            autocomplete="off"
            autocapitalize="characters"
            spellcheck={false}
            required
            value={setupCode}
            onInput={(e) => setSetupCode(e.currentTarget.value)}
            aria-describedby="restore-setup-code-hint"
          />
        </Field>
        <Field label="Backup file" id="restore-file">
          <input
            id="restore-file"
            type="file"
            accept=".hbk"
            required
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
        </Field>
        <Field label="Backup passphrase" id="restore-passphrase" hint="The passphrase chosen when the backup was made.">
          <input
            id="restore-passphrase"
            type="password"
            autocomplete="off"
            required
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
            aria-describedby="restore-passphrase-hint"
          />
        </Field>
        <FormError message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking the backup…' : 'Restore'}
        </button>
      </form>
    </details>
  );
}

/** What went wrong, in words for the person restoring (the shared model's, or these). */
function restoreProblem(err: unknown): string {
  if (err instanceof ApiError && err.code === 'validation_failed') return 'Enter the backup passphrase.';
  return plainMessage(err);
}

async function waitForHub(): Promise<void> {
  // Give the hub time to stop first, then wait for it to answer as the restored home.
  await new Promise((r) => setTimeout(r, 3000));
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch('/api/v1/health')).ok) return;
    } catch {
      // restarting
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
