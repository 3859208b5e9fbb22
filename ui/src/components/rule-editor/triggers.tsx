import type { Device } from '@hearth/model/api';
import { BUTTON_PRESSES } from '@hearth/model/capabilities';
import { useRefs } from './context.ts';
import { DeviceTarget, firstTarget } from './device-fields.tsx';
import { join, withField, type Item } from './edit.ts';
import { Choice, DurationInput, NumberInput, TextInput, Weekdays, ValueInput } from './fields.tsx';
import { ItemList, type ListProps } from './item-list.tsx';

/** Trigger types as the add menu offers them; "event" is a state trigger on a button/motion/contact. */
export const TRIGGER_KINDS: [string, string][] = [
  ['state', 'Device state changes'],
  ['event', 'Button, motion or contact event'],
  ['action', 'Remote button press (which button, single/double/hold)'],
  ['numeric', 'Reading above / below'],
  ['time', 'Time of day'],
  ['cron', 'Schedule (cron)'],
  ['sun', 'Sunrise / sunset'],
  ['availability', 'Device online / offline'],
  ['camera', 'Camera event'],
  ['cycle_started', 'Appliance starts a cycle'],
  ['cycle_finished', 'Appliance finishes a cycle (washing done)'],
  ['hub_start', 'Hub starts'],
];

const LABELS: Record<string, string> = Object.fromEntries(TRIGGER_KINDS);

export function newTrigger(kind: string, devices: Device[]): Item {
  switch (kind) {
    case 'state':
      return { type: 'state', ...firstTarget(devices, 'any', ['switch']) };
    case 'event':
      return { type: 'state', ...firstTarget(devices, 'any', ['button', 'motion', 'contact']) };
    case 'action':
      return { type: 'action', device: devices.find((d) => d.capabilities.includes('button'))?.id ?? '' };
    case 'numeric':
      return { type: 'numeric', ...firstTarget(devices, 'number'), above: 0 };
    case 'time':
      return { type: 'time', at: '07:00' };
    case 'cron':
      return { type: 'cron', cron: '0 7 * * 1-5' };
    case 'sun':
      return { type: 'sun', event: 'sunset' };
    case 'availability':
      return { type: 'availability', device: devices[0]?.id ?? '', to: 'offline' };
    case 'cycle_started':
    case 'cycle_finished':
      return { type: kind, device: devices.find((d) => d.capabilities.includes('power'))?.id ?? '' };
    default:
      return { type: kind };
  }
}

/** The fields of one trigger, by type; a type the form does not know is left to the JSON. */
export function TriggerFields(props: { item: Item; path: string; onChange: (item: Item) => void }) {
  const { item, path, onChange } = props;
  const { devices, cameras } = useRefs();
  const set = (key: string, value: unknown) => onChange(withField(item, key, value));
  const at = (key: string) => join(path, key);
  const capability = typeof item.capability === 'string' ? item.capability : undefined;
  switch (item.type) {
    case 'state':
      return (
        <>
          <DeviceTarget path={path} item={item} filter="any" valueKeys={['from', 'to']} onChange={onChange} />
          <div class="row">
            <ValueInput
              path={at('from')}
              label="From"
              capability={capability}
              value={item.from}
              optional
              onChange={(v) => set('from', v)}
            />
            <ValueInput
              path={at('to')}
              label="To"
              capability={capability}
              value={item.to}
              optional
              onChange={(v) => set('to', v)}
            />
            <DurationInput path={at('for')} label="For at least" value={item.for} onChange={(v) => set('for', v)} />
          </div>
        </>
      );
    case 'numeric':
      return (
        <>
          <DeviceTarget path={path} item={item} filter="number" valueKeys={[]} onChange={onChange} />
          <div class="row">
            <NumberInput
              path={at('above')}
              label="Above"
              value={item.above}
              hint="Empty for no lower bound"
              onChange={(v) => set('above', v)}
            />
            <NumberInput
              path={at('below')}
              label="Below"
              value={item.below}
              hint="Empty for no upper bound"
              onChange={(v) => set('below', v)}
            />
            <DurationInput path={at('for')} label="For at least" value={item.for} onChange={(v) => set('for', v)} />
          </div>
        </>
      );
    case 'time':
      return (
        <>
          <TextInput
            path={at('at')}
            label="At (HH:MM)"
            value={item.at}
            hint="24-hour local time, e.g. 07:30"
            onChange={(t) => set('at', t)}
          />
          <Weekdays
            path={at('weekdays')}
            label="Only on (none ticked: every day)"
            value={item.weekdays}
            onChange={(d) => set('weekdays', d)}
          />
        </>
      );
    case 'cron':
      return (
        <TextInput
          path={at('cron')}
          label="Cron schedule"
          value={item.cron}
          hint="minute hour day month weekday, e.g. 0 7 * * 1-5"
          onChange={(t) => set('cron', t)}
        />
      );
    case 'sun':
      return (
        <div class="row">
          <Choice
            path={at('event')}
            label="Event"
            value={item.event}
            options={[
              ['sunrise', 'sunrise'],
              ['sunset', 'sunset'],
            ]}
            onChange={(v) => set('event', v)}
          />
          <DurationInput
            path={at('offset')}
            label="Offset"
            signed
            value={item.offset}
            onChange={(v) => set('offset', v)}
          />
        </div>
      );
    case 'action':
      // A remote's presses (hub/src/rules/triggers/action.ts): `2_double` is button 2, double.
      return (
        <div class="row">
          <Choice
            path={at('device')}
            label="Remote"
            value={item.device}
            options={devices.filter((d) => d.capabilities.includes('button')).map((d) => [d.id, d.name])}
            onChange={(v) => set('device', v)}
          />
          <TextInput
            path={at('button')}
            label="Button"
            value={item.button}
            hint="Empty for any button, e.g. 2 or brightness_up"
            onChange={(t) => set('button', t || undefined)}
          />
          <Choice
            path={at('press')}
            label="Press"
            value={item.press ?? ''}
            options={[['', 'any press'], ...BUTTON_PRESSES.map((p): [string, string] => [p, p])]}
            onChange={(v) => set('press', v || undefined)}
          />
        </div>
      );
    case 'cycle_started':
    case 'cycle_finished':
      // Cycles are found from a device's power readings (hub/src/energy/cycles.ts).
      return (
        <div class="row">
          <Choice
            path={at('device')}
            label="Appliance"
            value={item.device}
            options={devices.filter((d) => d.capabilities.includes('power')).map((d) => [d.id, d.name])}
            onChange={(v) => set('device', v)}
          />
        </div>
      );
    case 'availability':
      return (
        <div class="row">
          <Choice
            path={at('device')}
            label="Device"
            value={item.device}
            options={devices.map((d) => [d.id, d.name])}
            onChange={(v) => set('device', v)}
          />
          <Choice
            path={at('to')}
            label="Goes"
            value={item.to}
            options={[
              ['offline', 'offline'],
              ['online', 'online'],
            ]}
            onChange={(v) => set('to', v)}
          />
          <DurationInput path={at('for')} label="For at least" value={item.for} onChange={(v) => set('for', v)} />
        </div>
      );
    case 'camera':
      return (
        <div class="row">
          <Choice
            path={at('camera')}
            label="Camera"
            value={item.camera ?? ''}
            options={[['', 'any camera'], ...cameras.map((c): [string, string] => [c.id, c.name])]}
            onChange={(v) => set('camera', v || undefined)}
          />
          <TextInput
            path={at('kind')}
            label="Event kind"
            value={item.kind}
            hint="e.g. motion; empty for any"
            onChange={(t) => set('kind', t || undefined)}
          />
        </div>
      );
    case 'hub_start':
      return <p class="muted">Fires once each time the hub starts.</p>;
    default:
      return <p class="muted">The form has no fields for “{String(item.type)}”; edit it in the JSON.</p>;
  }
}

export function TriggerList(props: ListProps & { title?: string }) {
  const { devices } = useRefs();
  return (
    <ItemList
      {...props}
      noun="trigger"
      title={props.title ?? 'When (any of these triggers)'}
      kinds={TRIGGER_KINDS}
      make={(kind) => newTrigger(kind, devices)}
      label={(item) => LABELS[String(item.type)] ?? String(item.type)}
      render={(item, path, onChange) => <TriggerFields item={item} path={path} onChange={onChange} />}
    />
  );
}
