import type Database from 'better-sqlite3';

/**
 * Every plug refuses a command whose counter is not above the last one it obeyed. A backup holds
 * the counters as they were when it was made, and the old hub may have sent many commands after
 * that, so a restored hub starts each plug's counter this far ahead: more commands than one plug
 * takes in its life, and still leaving room for two million restores below 2^53 (the largest
 * counter hub and firmware accept).
 */
export const RESTORE_COUNTER_JUMP = 2 ** 32;

/** Moves every plug's stored counter forward; returns how many plugs it moved. */
export function jumpPlugCounters(db: Database.Database): number {
  return db
    .prepare(
      `UPDATE devices SET config = json_set(config, '$.counter', coalesce(json_extract(config, '$.counter'), 0) + ?) WHERE driver = 'plug'`,
    )
    .run(RESTORE_COUNTER_JUMP).changes;
}
