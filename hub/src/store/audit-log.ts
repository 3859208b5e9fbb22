import type { EventBus, AuditEvent } from '../core/bus.ts';
import type { Store } from './store.ts';

/**
 * Records a change made by a person, a rule or the hub: one row in audit_log and one `audit`
 * event on the bus (the events WebSocket streams it to admins).
 */
export function recordAudit(store: Store, bus: EventBus, event: AuditEvent): void {
  store.audit.insert(event);
  bus.emit('audit', event);
}
