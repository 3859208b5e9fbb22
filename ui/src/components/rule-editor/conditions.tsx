import type { Device } from '@hearth/model/api';
import { defaultValue } from './capabilities.ts';
import { useRefs } from './context.ts';
import { DeviceTarget, firstTarget } from './device-fields.tsx';
import { join, listOf, withField, type Item } from './edit.ts';
import { Choice, DurationInput, NumberInput, TextInput, Weekdays } from './fields.tsx';
import { ItemList, type ListProps } from './item-list.tsx';
import { ValueList } from './value-list.tsx';

export const CONDITION_KINDS: [string, string][] = [
  ['state', 'Device is in a state'],
  ['numeric', 'Reading above / below'],
  ['time', 'Time window'],
  ['weekday', 'Weekday'],
  ['sun', 'Before / after sunrise or sunset'],
  ['and', 'All of (and)'],
  ['or', 'Any of (or)'],
  ['not', 'None of (not)'],
];

const LABELS: Record<string, string> = Object.fromEntries(CONDITION_KINDS);

export function newCondition(kind: string, devices: Device[]): Item {
  switch (kind) {
    case 'state': {
      const target = firstTarget(devices, 'any', ['switch']);
      return { type: 'state', ...target, value: defaultValue(target?.capability) };
    }
    case 'numeric':
      return { type: 'numeric', ...firstTarget(devices, 'number'), above: 0 };
    case 'time':
      return { type: 'time', after: '22:00', before: '06:00' };
    case 'weekday':
      return { type: 'weekday', days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
    case 'sun':
      return { type: 'sun', after: 'sunset' };
    default:
      return { type: kind, conditions: [] };
  }
}

const SUN: [string, string][] = [
  ['', 'not set'],
  ['sunrise', 'sunrise'],
  ['sunset', 'sunset'],
];

/** The fields of one condition; and/or/not hold a nested list drawn by the same component. */
export function ConditionFields(props: { item: Item; path: string; onChange: (item: Item) => void }) {
  const { item, path, onChange } = props;
  const set = (key: string, value: unknown) => onChange(withField(item, key, value));
  const at = (key: string) => join(path, key);
  const capability = typeof item.capability === 'string' ? item.capability : undefined;
  switch (item.type) {
    case 'state':
      return (
        <>
          <DeviceTarget
            path={path}
            item={item}
            filter="any"
            valueKeys={Array.isArray(item.value) ? [] : ['value']}
            required={Array.isArray(item.value) ? undefined : 'value'}
            onChange={onChange}
          />
          <ValueList path={at('value')} capability={capability} value={item.value} onChange={(v) => set('value', v)} />
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
          </div>
        </>
      );
    case 'time':
      return (
        <div class="row">
          <TextInput
            path={at('after')}
            label="After (HH:MM)"
            value={item.after}
            hint="Empty: from midnight"
            onChange={(t) => set('after', t || undefined)}
          />
          <TextInput
            path={at('before')}
            label="Before (HH:MM)"
            value={item.before}
            hint="Empty: until midnight"
            onChange={(t) => set('before', t || undefined)}
          />
        </div>
      );
    case 'weekday':
      return <Weekdays path={at('days')} label="On" value={item.days} onChange={(d) => set('days', d ?? [])} />;
    case 'sun':
      return (
        <div class="row">
          <Choice
            path={at('after')}
            label="After"
            value={item.after ?? ''}
            options={SUN}
            onChange={(v) => set('after', v || undefined)}
          />
          <DurationInput
            path={at('afterOffset')}
            label="After, offset"
            signed
            value={item.afterOffset}
            onChange={(v) => set('afterOffset', v)}
          />
          <Choice
            path={at('before')}
            label="Before"
            value={item.before ?? ''}
            options={SUN}
            onChange={(v) => set('before', v || undefined)}
          />
          <DurationInput
            path={at('beforeOffset')}
            label="Before, offset"
            signed
            value={item.beforeOffset}
            onChange={(v) => set('beforeOffset', v)}
          />
        </div>
      );
    case 'and':
    case 'or':
    case 'not':
      return (
        <ConditionList
          path={at('conditions')}
          title={LABELS[item.type]!}
          items={listOf(item.conditions)}
          onChange={(list) => set('conditions', list)}
        />
      );
    default:
      return <p class="muted">The form has no fields for “{String(item.type)}”; edit it in the JSON.</p>;
  }
}

export function ConditionList(props: ListProps & { title?: string }) {
  const { devices } = useRefs();
  return (
    <ItemList
      {...props}
      noun="condition"
      title={props.title ?? 'Only if (all of these conditions)'}
      kinds={CONDITION_KINDS}
      make={(kind) => newCondition(kind, devices)}
      label={(item) => LABELS[String(item.type)] ?? String(item.type)}
      render={(item, path, onChange) => <ConditionFields item={item} path={path} onChange={onChange} />}
    />
  );
}
