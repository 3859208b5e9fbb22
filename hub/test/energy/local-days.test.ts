import { describe, expect, it } from 'vitest';
import { isoAt, localDays } from '../../src/energy/local-days.ts';
import { periodBounds } from '../../src/history/query.ts';
import { Zone } from '../../src/history/zone.ts';

/**
 * The cost queries' fast local days must be exactly history's local days (periodBounds), in
 * zones with DST at 02:00, at midnight (a lost midnight: Havana, Santiago), by 30 minutes (Lord
 * Howe), with a 45-minute offset (Chatham) and none (Kolkata), over two years.
 */
describe('local days with one Intl call a day', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'America/Havana',
    'America/Santiago',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'Asia/Kolkata',
    'UTC',
  ];
  for (const name of zones) {
    it(`matches periodBounds and Zone.iso in ${name}`, () => {
      const zone = new Zone(name);
      const from = Date.UTC(2025, 0, 1, 7, 13);
      const to = Date.UTC(2027, 0, 1);
      const days = localDays(zone, from, to);
      expect(days.starts).toEqual(periodBounds('day', from, to, zone));
      days.starts.forEach((t, k) => {
        expect(isoAt(t, days.offsets[k]!)).toBe(zone.iso(t));
        expect(days.walls[k]!).toBe(Math.floor(zone.wall(t) / 86_400_000) * 86_400_000);
      });
      // Two changes a year where the zone has DST, none where it has not.
      const changes = days.changes.filter(Boolean).length;
      expect(changes).toBe(name === 'Asia/Kolkata' || name === 'UTC' ? 0 : 4);
    });
  }
});
