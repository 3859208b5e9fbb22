import type { RecorderRepo } from '../store/recorder-repo.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';
import { maskUrl } from './url.ts';

/** Bumped whenever maskUrl learns a credential form: older audit rows are masked again once. */
const MASKING_VERSION = 2;
const SETTING = 'recorder.auditUrlMasking';

/**
 * Audit rows written before maskUrl knew a credential form (a hub that masked only `user:pass@`
 * kept `?password=` and XMEye's `/user=admin_password=` in `camera.add`/`camera.update`) get
 * their `url` and `subUrl` masked, once per masking version. Returns the rows rewritten.
 */
export function maskOldCameraAuditRows(repo: RecorderRepo, settings: SettingsRepo): number {
  if ((settings.get<number>(SETTING) ?? 0) >= MASKING_VERSION) return 0;
  let n = 0;
  for (const row of repo.cameraAuditRows()) {
    const details = { ...row.details };
    for (const field of ['url', 'subUrl']) {
      const value = details[field];
      if (typeof value === 'string') details[field] = maskUrl(value);
    }
    if (JSON.stringify(details) === JSON.stringify(row.details)) continue;
    repo.rewriteAuditDetails(row.id, details);
    n++;
  }
  settings.set(SETTING, MASKING_VERSION);
  return n;
}
