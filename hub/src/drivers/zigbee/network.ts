import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Zigbee network's identity: PAN ID, extended PAN ID and network key, made once at random
 * and kept in `DATA/zigbee/network.json` (mode 0600: the key lets anyone in radio range read and
 * command the network). Losing it means re-pairing every device, so it is never regenerated
 * while the file exists; a file that cannot be read stops the driver rather than forming a new
 * network over the old one.
 */
export interface ZigbeeNetwork {
  panId: number;
  extendedPanId: number[];
  networkKey: number[];
}

export function zigbeeDir(dataDir: string): string {
  return join(dataDir, 'zigbee');
}

export function loadOrCreateNetwork(dataDir: string): ZigbeeNetwork {
  const dir = zigbeeDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'network.json');
  if (existsSync(path)) {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as ZigbeeNetwork;
    if (!Number.isInteger(parsed.panId) || parsed.extendedPanId?.length !== 8 || parsed.networkKey?.length !== 16) {
      throw new Error(`${path} is not a valid Zigbee network file`);
    }
    return parsed;
  }
  const network: ZigbeeNetwork = {
    // 0x0000 and 0xFFFF are reserved; stay clear of both.
    panId: randomInt(1, 0xfffe),
    extendedPanId: [...randomBytes(8)],
    networkKey: [...randomBytes(16)],
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(network)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return network;
}
