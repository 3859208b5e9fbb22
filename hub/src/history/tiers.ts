import type { HubConfig } from '../core/config.ts';

/**
 * The storage tiers. Tier 0 keeps every sample; each coarser tier keeps one bucket per series
 * per bucketMs, rolled up from the tier below. `blockMs` is the window one compressed block
 * covers: long enough that a block holds a few thousand rows (good compression, little SQLite
 * page slack), short enough that the open (unpacked) tail of a tier stays small.
 */
export interface Tier {
  id: 0 | 1 | 2 | 3;
  name: TierName;
  bucketMs: number;
  blockMs: number;
  retentionMs: number;
}

export type TierName = 'raw' | 'minute' | 'hour' | 'day';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const TIER_NAMES: TierName[] = ['raw', 'minute', 'hour', 'day'];

export function buildTiers(config: HubConfig['history']): Tier[] {
  const r = config.retentionDays;
  return [
    // Raw samples have no bucket; 1 s is the nominal rate used to estimate point counts.
    { id: 0, name: 'raw', bucketMs: 1000, blockMs: HOUR, retentionMs: r.raw * DAY },
    { id: 1, name: 'minute', bucketMs: MINUTE, blockMs: DAY, retentionMs: r.minute * DAY },
    { id: 2, name: 'hour', bucketMs: HOUR, blockMs: 30 * DAY, retentionMs: r.hour * DAY },
    { id: 3, name: 'day', bucketMs: DAY, blockMs: 360 * DAY, retentionMs: r.day * DAY },
  ];
}

export function floorTo(t: number, ms: number): number {
  return Math.floor(t / ms) * ms;
}
