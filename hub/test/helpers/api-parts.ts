import type { EventBus } from '../../src/core/bus.ts';
import { HomeService } from '../../src/devices/home.ts';
import { AuditLog } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/store.ts';

/** The API's store-backed parts (the audit log and the home), built as hub.ts builds them. */
export function apiParts(store: Store, bus: EventBus): { audit: AuditLog; home: HomeService } {
  const audit = new AuditLog(store, bus);
  return { audit, home: new HomeService({ store, audit }) };
}
