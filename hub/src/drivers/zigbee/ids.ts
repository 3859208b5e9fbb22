import type { DeviceRow } from '../../store/devices-repo.ts';

const DEVICE_ID_PREFIX = 'zb-';

/** The Hearth device id of a Zigbee device: its IEEE address, which never changes. */
export function deviceIdFor(ieeeAddr: string): string {
  return `${DEVICE_ID_PREFIX}${ieeeAddr.replace(/^0x/, '').toLowerCase()}`;
}

/** The herdsman IEEE address of a Hearth device row (its config, else read back from its id). */
export function ieeeOf(row: DeviceRow): string {
  const ieee = row.config.ieee;
  return typeof ieee === 'string' ? ieee : `0x${row.id.slice(DEVICE_ID_PREFIX.length)}`;
}
