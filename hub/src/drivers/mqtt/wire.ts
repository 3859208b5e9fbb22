import type { StateValue } from '@hearth/model/values';

/**
 * The Hearth wire protocol on MQTT (DESIGN.md "How the parts talk"):
 *   hearth/<deviceId>/state      device → hub  JSON object {capability: value, ...}
 *   hearth/<deviceId>/telemetry  device → hub  JSON object {capability: number, ...}
 *   hearth/<deviceId>/status     device → hub  "online" | "offline", retained (its Last Will)
 *   hearth/<deviceId>/cmd        hub → device  JSON {id, capability, value}
 */
export const TOPIC_PREFIX = 'hearth';

export type DeviceTopicKind = 'state' | 'telemetry' | 'status';

export function parseDeviceTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_PREFIX) return undefined;
  const kind = parts[2];
  if (kind !== 'state' && kind !== 'telemetry' && kind !== 'status') return undefined;
  return { deviceId: parts[1]!, kind };
}

export function commandTopic(deviceId: string): string {
  return `${TOPIC_PREFIX}/${deviceId}/cmd`;
}

/** Parses a state/telemetry payload; undefined when it is not a flat JSON object of scalars. */
export function parseValues(payload: Buffer): Record<string, StateValue> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const values: Record<string, StateValue> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string')
      values[key] = value;
  }
  return values;
}

export function parseStatus(payload: Buffer): boolean | undefined {
  const text = payload.toString('utf8').trim();
  if (text === 'online') return true;
  if (text === 'offline') return false;
  return undefined;
}
