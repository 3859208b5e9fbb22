import type { StateValue } from '@hearth/model/values';
import { capabilitySpec, type CapabilitySpec } from '@hearth/model/capabilities';

/**
 * What the editor needs to know about a capability to offer the right control: the type of its
 * value, whether a command may set it, and its range, from the shared capability model
 * (packages/model). The hub stays the judge: it validates every rule on save, and the editor shows
 * its answer at the field. A capability the model does not know is edited as text.
 */
export type CapabilityInfo = Pick<CapabilitySpec, 'type' | 'writable' | 'min' | 'max' | 'unit'>;

export function capabilityInfo(name: string | undefined): CapabilityInfo {
  return (name && capabilitySpec(name)) || { type: 'string', writable: false };
}

/** Which capabilities a field may pick: any, only numbers (numeric), only writable (command). */
export type CapabilityFilter = 'any' | 'number' | 'writable';

export function fits(name: string, filter: CapabilityFilter): boolean {
  const info = capabilityInfo(name);
  return filter === 'any' || (filter === 'number' ? info.type === 'number' : info.writable);
}

/** Does `value` have the type `capability` takes? (null is "no value" and fits any.) */
export function valueFits(capability: string | undefined, value: unknown): boolean {
  return value === null || typeof value === capabilityInfo(capability).type;
}

/** A sensible starting value for a command or condition on `capability`. */
export function defaultValue(capability: string | undefined): StateValue {
  const info = capabilityInfo(capability);
  if (info.type === 'boolean') return true;
  if (info.type === 'number') return info.min ?? 0;
  return capability === 'button' ? 'single' : '';
}
