/**
 * For the crash tests of restore (hub/test/backup/admin-cli.test.ts): runs the same restore as
 * `hearth-admin restore --replace`, but stops at step POINT (restore.ts `RestorePoint`), says so
 * on stderr and waits there, so the test can kill -9 it at exactly that step. A test helper, so
 * the shipped command carries no test hook.
 *   node restore-paused.ts DATA FILE PASSPHRASE_FILE POINT
 */
import { readFileSync } from 'node:fs';
import { PRIVATE_UMASK } from '../../src/core/data-dir.ts';
import { restoreBackup } from '../../src/backup/restore.ts';

const [dataDir, file, passphraseFile, point] = process.argv.slice(2);
if (!dataDir || !file || !passphraseFile || !point) {
  process.stderr.write('usage: restore-paused.ts DATA FILE PASSPHRASE_FILE POINT\n');
  process.exit(2);
}
process.umask(PRIVATE_UMASK);
const passphrase = readFileSync(passphraseFile, 'utf8').split(/\r?\n/)[0]!;
await restoreBackup({
  file,
  dataDir,
  passphrase,
  replace: true,
  at: async (reached) => {
    if (reached !== point) return;
    process.stderr.write(`restore paused at ${reached}\n`);
    await new Promise(() => setInterval(() => {}, 1 << 30));
  },
});
process.stderr.write(`restore finished without reaching ${point}\n`);
process.exit(1);
