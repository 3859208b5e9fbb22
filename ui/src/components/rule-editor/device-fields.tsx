import type { Device } from '@hearth/model/api';
import { defaultValue, fits, valueFits, type CapabilityFilter } from './capabilities.ts';
import { useRefs } from './context.ts';
import { join, withField, type Item } from './edit.ts';
import { Choice } from './fields.tsx';

/** Devices that have at least one capability the field accepts. */
export function devicesFor(devices: Device[], filter: CapabilityFilter): Device[] {
  return devices.filter((d) => d.capabilities.some((c) => fits(c, filter)));
}

/** A first device and capability for a new item, so it starts out valid where it can. */
export function firstTarget(
  devices: Device[],
  filter: CapabilityFilter,
  prefer: string[] = [],
): { device: string; capability: string } | undefined {
  for (const want of prefer) {
    const d = devices.find((x) => x.capabilities.includes(want));
    if (d) return { device: d.id, capability: want };
  }
  const d = devicesFor(devices, filter)[0];
  const capability = d?.capabilities.find((c) => fits(c, filter));
  return d && capability ? { device: d.id, capability } : undefined;
}

/**
 * Points `item` at another device or capability. Values that no longer fit the capability's type
 * are dropped (a trigger's from/to, a condition's value) or reset (a command's value), since the
 * hub would refuse them anyway; every other field stays.
 */
export function retarget(
  item: Item,
  device: string,
  capability: string,
  valueKeys: string[],
  required: string | undefined,
): Item {
  let next = withField(withField(item, 'device', device), 'capability', capability);
  for (const key of valueKeys) {
    if (next[key] !== undefined && !valueFits(capability, next[key]))
      next = withField(next, key, key === required ? defaultValue(capability) : undefined);
  }
  if (required && next[required] === undefined) next = withField(next, required, defaultValue(capability));
  return next;
}

/**
 * Device and capability pickers for one item (trigger, condition, command, scene state). The
 * capability list is the chosen device's, narrowed to what this item accepts.
 */
export function DeviceTarget(props: {
  path: string;
  item: Item;
  filter: CapabilityFilter;
  valueKeys: string[];
  required?: string;
  onChange: (item: Item) => void;
}) {
  const { devices } = useRefs();
  const deviceId = typeof props.item.device === 'string' ? props.item.device : '';
  const capability = typeof props.item.capability === 'string' ? props.item.capability : '';
  const device = devices.find((d) => d.id === deviceId);
  const deviceOptions = devicesFor(devices, props.filter).map((d): [string, string] => [d.id, d.name]);
  const capOptions = (device?.capabilities ?? [])
    .filter((c) => fits(c, props.filter))
    .map((c): [string, string] => [c, c]);

  const pickDevice = (id: string) => {
    const d = devices.find((x) => x.id === id);
    const keep = d?.capabilities.includes(capability) && fits(capability, props.filter);
    const cap = keep ? capability : (d?.capabilities.find((c) => fits(c, props.filter)) ?? capability);
    props.onChange(retarget(props.item, id, cap, props.valueKeys, props.required));
  };
  return (
    <div class="row">
      <Choice
        path={join(props.path, 'device')}
        label="Device"
        value={deviceId}
        options={deviceOptions}
        onChange={pickDevice}
      />
      <Choice
        path={join(props.path, 'capability')}
        label="Capability"
        value={capability}
        options={capOptions}
        onChange={(c) => props.onChange(retarget(props.item, deviceId, c, props.valueKeys, props.required))}
      />
    </div>
  );
}
