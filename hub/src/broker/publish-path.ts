import type { Aedes } from 'aedes';
import type { PublishAdmission } from './admission.ts';
import type { HearthClient } from './client-state.ts';
import { DENIED, ROUTED } from './hooks.ts';
import type { SqlitePersistence } from './persistence/sqlite-persistence.ts';
import type { PausableClient, PublishIntake } from './transport/intake.ts';

type Publish = (packet: object, client: unknown, done?: (err?: Error) => void) => void;

/**
 * Every PUBLISH on its way into aedes' router: admitted (admission.ts), counted by the intake,
 * and acknowledged only once what it left to write is committed (group commit).
 *
 * aedes' `publish` is replaced by a wrapper that drops PUBLISHes the ACL refused (hooks.ts
 * explains why they are acknowledged first) and those already routed before their PUBACK
 * (`routeBeforeAck`). A client's QoS 2 PUBLISH is routed in the wrapper, after aedes stored its
 * incoming state; aedes sends the PUBREC when `done` is called, which waits for the commit of
 * what the message left to write. Clients' QoS 0 and 2 PUBLISHes pass admission in the wrapper,
 * QoS 1 ones in `routeBeforeAck`.
 */
export class PublishPath {
  /** aedes' own publish (unwrapped). */
  readonly #route: Publish;
  readonly #admission: PublishAdmission;
  readonly #intake: PublishIntake;
  readonly #persistence: SqlitePersistence;

  constructor(
    aedes: Aedes,
    deps: { admission: PublishAdmission; intake: PublishIntake; persistence: SqlitePersistence },
  ) {
    this.#admission = deps.admission;
    this.#intake = deps.intake;
    this.#persistence = deps.persistence;
    const publish = aedes.publish.bind(aedes) as Publish;
    this.#route = publish;
    const { admission, intake, persistence } = deps;
    (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
      const marks = packet as Record<symbol, unknown>;
      if (marks[DENIED] === true || marks[ROUTED] === true) {
        const callback = typeof client === 'function' ? (client as () => void) : done;
        callback?.();
        return;
      }
      // A client's PUBLISH (not the hub's own, nor a will): within its budget, and slowed if the router is behind.
      if (client === null || typeof client !== 'object') {
        // The hub's own (and wills restored after a restart): never refused, but counted.
        admission.admitOwn(packet as { topic: string; payload?: Buffer | string; retain?: boolean });
      } else {
        if (!admission.admit(client as HearthClient, packet as { qos: number })) {
          done?.();
          return;
        }
        intake.published(client as PausableClient);
        if ((packet as { qos?: number }).qos === 2 && done) {
          publish(packet, client, (err) => (err ? done(err) : persistence.afterCommit(() => done())));
          return;
        }
      }
      publish(packet, client, done);
    };
  }

  /** See HookContext.routeBeforeAck: a QoS 1 PUBLISH is routed, committed, then acknowledged. */
  routeBeforeAck(client: HearthClient, packet: { qos: number }, done: (err?: Error | null) => void): void {
    const intake = this.#intake;
    const persistence = this.#persistence;
    (packet as unknown as Record<symbol, boolean>)[ROUTED] = true;
    // Disconnected for its rate (see PublishAdmission.admit): neither routed nor acknowledged.
    if (!this.#admission.admit(client, packet)) return done(null);
    intake.published(client as unknown as PausableClient);
    this.#route(packet, client, (err) => {
      if (err) return done(err);
      // Checked again once routed: the messages parsed from one read are all routed before any
      // of them reaches the router's queue, so the check before routing saw it empty.
      intake.published(client as unknown as PausableClient);
      persistence.afterCommit(() => done(null));
    });
  }
}
