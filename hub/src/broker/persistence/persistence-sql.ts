import type { Db } from '../../store/db.ts';
import type { OutEntry } from './outgoing-queue.ts';
import { EMPTY, toBlob, type StoredPacket, type WillPacket } from './packets.ts';

/** The rows of the broker's tables (migration 2) and how they map to the in-memory state. */

export interface SubRecord {
  qos: number;
  rh?: number | undefined;
  rap?: boolean | undefined;
  nl?: boolean | undefined;
  subscriptionIdentifier?: number;
}

export interface IncomingEntry {
  readonly clientId: string;
  readonly messageId: number;
  readonly packet: StoredPacket;
  persisted: boolean;
}

/** Rows changed since the last write. A `null` / `false` value means "delete the row". */
export interface DirtyRows {
  retained: Map<string, StoredPacket | null>;
  subs: Map<string, { clientId: string; topic: string; record: SubRecord | null }>;
  out: Map<OutEntry, boolean>;
  incoming: Map<IncomingEntry, boolean>;
  wills: Map<string, WillPacket | null>;
}

export interface LoadedState {
  retained: StoredPacket[];
  subs: { clientId: string; topic: string; record: SubRecord }[];
  /** In queue order. */
  outgoing: OutEntry[];
  incoming: IncomingEntry[];
  wills: WillPacket[];
}

type Row = Record<string, unknown>;
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
const bool = (v: unknown): boolean | undefined => (v === null || v === undefined ? undefined : v === 1);
const flag = (v: boolean | undefined): number | null => (v === undefined ? null : v ? 1 : 0);

export class PersistenceSql {
  readonly #db: Db;
  readonly #s;
  readonly #write: (d: DirtyRows) => void;

  constructor(db: Db) {
    this.#db = db;
    this.#s = {
      putRetained: db.prepare(
        'INSERT OR REPLACE INTO mqtt_retained (topic, payload, qos, broker_id, broker_counter) VALUES (?, ?, ?, ?, ?)',
      ),
      delRetained: db.prepare('DELETE FROM mqtt_retained WHERE topic = ?'),
      putSub: db.prepare(
        'INSERT OR REPLACE INTO mqtt_subscriptions (client_id, topic, qos, rh, rap, nl, sub_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      delSub: db.prepare('DELETE FROM mqtt_subscriptions WHERE client_id = ? AND topic = ?'),
      putOut: db.prepare(
        'INSERT OR REPLACE INTO mqtt_outgoing (client_id, seq, cmd, topic, payload, qos, retain, ' +
          'dup, message_id, broker_id, broker_counter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      delOut: db.prepare('DELETE FROM mqtt_outgoing WHERE client_id = ? AND seq = ?'),
      putIn: db.prepare(
        'INSERT OR REPLACE INTO mqtt_incoming (client_id, message_id, topic, payload, qos, ' +
          'retain, dup, broker_id, broker_counter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      delIn: db.prepare('DELETE FROM mqtt_incoming WHERE client_id = ? AND message_id = ?'),
      putWill: db.prepare(
        'INSERT OR REPLACE INTO mqtt_wills (client_id, broker_id, topic, payload, qos, retain) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      delWill: db.prepare('DELETE FROM mqtt_wills WHERE client_id = ?'),
    };
    this.#write = db.transaction((d: DirtyRows) => this.#writeRows(d));
  }

  /** Writes all dirty rows in one transaction (all or nothing). */
  write(dirty: DirtyRows): void {
    this.#write(dirty);
  }

  #writeRows(d: DirtyRows): void {
    const s = this.#s;
    for (const [topic, p] of d.retained) {
      if (p) s.putRetained.run(topic, toBlob(p.payload), p.qos ?? 0, p.brokerId ?? null, p.brokerCounter ?? null);
      else s.delRetained.run(topic);
    }
    for (const { clientId, topic, record: r } of d.subs.values()) {
      if (r)
        s.putSub.run(clientId, topic, r.qos, r.rh ?? null, flag(r.rap), flag(r.nl), r.subscriptionIdentifier ?? null);
      else s.delSub.run(clientId, topic);
    }
    for (const [e, write] of d.out) {
      if (!write) {
        s.delOut.run(e.clientId, e.seq);
        continue;
      }
      const p = e.packet;
      const isPublish = p.cmd === 'publish';
      s.putOut.run(
        e.clientId,
        e.seq,
        p.cmd,
        p.topic ?? null,
        isPublish ? toBlob(p.payload) : null,
        p.qos ?? 0,
        p.retain ? 1 : 0,
        p.dup ? 1 : 0,
        p.messageId ?? null,
        p.brokerId ?? null,
        p.brokerCounter ?? null,
      );
    }
    for (const [e, write] of d.incoming) {
      const p = e.packet;
      if (write)
        s.putIn.run(
          e.clientId,
          e.messageId,
          p.topic ?? '',
          toBlob(p.payload),
          p.qos ?? 0,
          p.retain ? 1 : 0,
          p.dup ? 1 : 0,
          p.brokerId ?? null,
          p.brokerCounter ?? null,
        );
      else s.delIn.run(e.clientId, e.messageId);
    }
    for (const [clientId, w] of d.wills) {
      if (w) s.putWill.run(clientId, w.brokerId ?? '', w.topic, toBlob(w.payload), w.qos ?? 0, w.retain ? 1 : 0);
      else s.delWill.run(clientId);
    }
  }

  load(): LoadedState {
    const db = this.#db;
    const retained = (db.prepare('SELECT * FROM mqtt_retained').all() as Row[]).map(
      (r): StoredPacket => ({
        cmd: 'publish',
        topic: r.topic as string,
        payload: r.payload as Buffer,
        qos: r.qos as number,
        retain: true,
        brokerId: str(r.broker_id),
        brokerCounter: num(r.broker_counter),
      }),
    );
    const subs = (db.prepare('SELECT * FROM mqtt_subscriptions').all() as Row[]).map((r) => {
      const record: SubRecord = { qos: r.qos as number, rh: num(r.rh), rap: bool(r.rap), nl: bool(r.nl) };
      if (r.sub_id !== null) record.subscriptionIdentifier = r.sub_id as number;
      return { clientId: r.client_id as string, topic: r.topic as string, record };
    });
    const outgoing = (db.prepare('SELECT * FROM mqtt_outgoing ORDER BY seq').all() as Row[]).map((r): OutEntry => {
      const packet: StoredPacket =
        r.cmd === 'publish'
          ? {
              cmd: 'publish',
              brokerId: str(r.broker_id),
              brokerCounter: num(r.broker_counter) ?? 0,
              topic: r.topic as string,
              payload: (r.payload as Buffer | null) ?? EMPTY,
              qos: r.qos as number,
              retain: r.retain === 1,
              dup: r.dup === 1,
              messageId: num(r.message_id),
            }
          : { cmd: r.cmd as string, messageId: num(r.message_id) };
      return { clientId: r.client_id as string, seq: r.seq as number, packet, persisted: true, removed: false };
    });
    const incoming = (db.prepare('SELECT * FROM mqtt_incoming').all() as Row[]).map(
      (r): IncomingEntry => ({
        clientId: r.client_id as string,
        messageId: r.message_id as number,
        persisted: true,
        packet: {
          cmd: 'publish',
          brokerId: str(r.broker_id),
          brokerCounter: num(r.broker_counter) ?? 0,
          topic: r.topic as string,
          payload: r.payload as Buffer,
          qos: r.qos as number,
          retain: r.retain === 1,
          dup: r.dup === 1,
          messageId: r.message_id as number,
        },
      }),
    );
    const wills = (db.prepare('SELECT * FROM mqtt_wills').all() as Row[]).map(
      (r): WillPacket => ({
        topic: r.topic as string,
        payload: r.payload as Buffer,
        qos: r.qos as number,
        retain: r.retain === 1,
        brokerId: r.broker_id as string,
        clientId: r.client_id as string,
      }),
    );
    return { retained, subs, outgoing, incoming, wills };
  }
}
