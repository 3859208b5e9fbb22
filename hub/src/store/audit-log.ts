import type { EventBus, AuditEvent } from '../core/bus.ts';
import type { AuditRow } from './audit-repo.ts';
import type { Store } from './store.ts';

/**
 * Records a change made by a person, a rule or the hub: one row in audit_log and one `audit`
 * event on the bus (the events WebSocket streams it to admins).
 */
export function recordAudit(store: Store, bus: EventBus, event: AuditEvent): void {
  store.audit.insert(event);
  bus.emit('audit', event);
}

/** The audit log as one object: record (row and bus event) and read back, newest first. */
export class AuditLog {
  readonly #store: Store;
  readonly #bus: EventBus;

  constructor(store: Store, bus: EventBus) {
    this.#store = store;
    this.#bus = bus;
  }

  record(event: AuditEvent): void {
    recordAudit(this.#store, this.#bus, event);
  }

  /** Up to `limit` entries older than entry `before` (all when absent), newest first. */
  list(limit: number, before?: number): AuditRow[] {
    return this.#store.audit.list(limit, before);
  }
}
