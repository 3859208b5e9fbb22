import type { ComponentChildren } from 'preact';
import { capabilityInfo } from './capabilities.ts';
import { useErrorAt } from './context.ts';
import { fieldId, parseDuration, parseNumber } from './edit.ts';

/** What every control gets: its id (from its rule path) and the ties to its hint and error. */
export interface Aria {
  id: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
}

/**
 * A labelled control at a rule path (`triggers.0.for`). When the hub refused the rule at that
 * path, its message is shown under the control and tied to it, and the control is marked invalid.
 */
export function EField(props: {
  path: string;
  label: string;
  hint?: string;
  children: (aria: Aria) => ComponentChildren;
}) {
  const id = fieldId(props.path);
  const error = useErrorAt(props.path);
  const described = [props.hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children({
        id,
        ...(error ? { 'aria-invalid': true as const } : {}),
        ...(described ? { 'aria-describedby': described } : {}),
      })}
      {props.hint && <small id={`${id}-hint`}>{props.hint}</small>}
      {error && (
        <p class="field-error" id={`${id}-error`} data-path={props.path}>
          {error}
        </p>
      )}
    </div>
  );
}

export function TextInput(props: {
  path: string;
  label: string;
  value: unknown;
  hint?: string;
  onChange: (text: string) => void;
}) {
  return (
    <EField path={props.path} label={props.label} {...(props.hint ? { hint: props.hint } : {})}>
      {(aria) => (
        <input
          {...aria}
          value={typeof props.value === 'string' ? props.value : props.value === undefined ? '' : String(props.value)}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      )}
    </EField>
  );
}

export function NumberInput(props: {
  path: string;
  label: string;
  value: unknown;
  min?: number | undefined;
  max?: number | undefined;
  step?: string;
  hint?: string;
  onChange: (n: number | undefined) => void;
}) {
  return (
    <EField path={props.path} label={props.label} {...(props.hint ? { hint: props.hint } : {})}>
      {(aria) => (
        <input
          {...aria}
          type="number"
          inputMode="decimal"
          step={props.step ?? 'any'}
          {...(props.min !== undefined ? { min: props.min } : {})}
          {...(props.max !== undefined ? { max: props.max } : {})}
          value={typeof props.value === 'number' ? String(props.value) : ''}
          onInput={(e) => props.onChange(parseNumber(e.currentTarget.value))}
        />
      )}
    </EField>
  );
}

/** A duration: seconds as a number, or text such as 90s, 10m, 1h30m (negative for offsets). */
export function DurationInput(props: {
  path: string;
  label: string;
  value: unknown;
  signed?: boolean;
  onChange: (d: number | string | undefined) => void;
}) {
  const hint = props.signed
    ? 'Seconds, or e.g. -15m, 30m, 1h; negative is before'
    : 'Seconds, or e.g. 90s, 10m, 1h30m; empty for none';
  return (
    <TextInput
      path={props.path}
      label={props.label}
      value={props.value}
      hint={hint}
      onChange={(t) => props.onChange(parseDuration(t))}
    />
  );
}

/** A select over fixed choices; a value the form does not offer (written in JSON) stays shown. */
export function Choice(props: {
  path: string;
  label: string;
  value: unknown;
  options: [string, string][];
  hint?: string | undefined;
  onChange: (v: string) => void;
}) {
  const current = props.value === undefined ? '' : String(props.value);
  const known = props.options.some(([v]) => v === current);
  return (
    <EField path={props.path} label={props.label} {...(props.hint ? { hint: props.hint } : {})}>
      {(aria) => (
        <select {...aria} value={current} onChange={(e) => props.onChange(e.currentTarget.value)}>
          {!known && <option value={current}>{current === '' ? 'Choose…' : `${current} (not offered)`}</option>}
          {props.options.map(([v, label]) => (
            <option value={v}>{label}</option>
          ))}
        </select>
      )}
    </EField>
  );
}

const BOOLEAN_WORDS: Record<string, [string, string]> = {
  lock: ['locked', 'unlocked'],
  motion: ['motion', 'no motion'],
  contact: ['closed (contact)', 'open (no contact)'],
  occupancy: ['occupied', 'empty'],
};

/**
 * A device value typed by its capability: on/off for a switch, a number input for readings and
 * levels, text for the rest (button presses: single, double, long). `optional` adds "any".
 */
export function ValueInput(props: {
  path: string;
  label: string;
  capability: string | undefined;
  value: unknown;
  optional?: boolean;
  onChange: (v: boolean | number | string | undefined) => void;
}) {
  const info = capabilityInfo(props.capability);
  if (info.type === 'boolean') {
    const [yes, no] = BOOLEAN_WORDS[props.capability ?? ''] ?? ['on', 'off'];
    const options: [string, string][] = [
      ['true', yes],
      ['false', no],
    ];
    if (props.optional) options.unshift(['', 'any']);
    return (
      <Choice
        path={props.path}
        label={props.label}
        value={props.value ?? ''}
        options={options}
        onChange={(v) => props.onChange(v === '' ? undefined : v === 'true')}
      />
    );
  }
  if (info.type === 'number') {
    const unit = info.unit ? ` (${info.unit})` : '';
    return (
      <NumberInput
        path={props.path}
        label={`${props.label}${unit}`}
        value={props.value}
        min={info.min}
        max={info.max}
        onChange={props.onChange}
        {...(props.optional ? { hint: 'Empty for any' } : {})}
      />
    );
  }
  const hint =
    props.capability === 'button' ? 'e.g. single, double, long' : props.optional ? 'Empty for any' : undefined;
  return (
    <TextInput
      path={props.path}
      label={props.label}
      value={props.value}
      {...(hint ? { hint } : {})}
      onChange={(t) => props.onChange(t === '' && props.optional ? undefined : t)}
    />
  );
}

export function Check(props: { path: string; label: string; value: unknown; onChange: (on: boolean) => void }) {
  const id = fieldId(props.path);
  const error = useErrorAt(props.path);
  return (
    <div class="field re-check">
      <label for={id}>
        <input
          id={id}
          type="checkbox"
          checked={props.value === true}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(e) => props.onChange(e.currentTarget.checked)}
        />{' '}
        {props.label}
      </label>
      {error && (
        <p class="field-error" id={`${id}-error`} data-path={props.path}>
          {error}
        </p>
      )}
    </div>
  );
}

const DAYS: [string, string][] = [
  ['mon', 'Mon'],
  ['tue', 'Tue'],
  ['wed', 'Wed'],
  ['thu', 'Thu'],
  ['fri', 'Fri'],
  ['sat', 'Sat'],
  ['sun', 'Sun'],
];

/** Weekday checkboxes; none ticked means the field is left out (every day, where allowed). */
export function Weekdays(props: {
  path: string;
  label: string;
  value: unknown;
  onChange: (days: string[] | undefined) => void;
}) {
  const days = Array.isArray(props.value) ? (props.value as string[]) : [];
  const error = useErrorAt(props.path);
  const toggle = (day: string, on: boolean) => {
    const next = DAYS.map(([d]) => d).filter((d) => (d === day ? on : days.includes(d)));
    props.onChange(next.length ? next : undefined);
  };
  return (
    <fieldset
      class="re-days"
      id={fieldId(props.path)}
      tabIndex={-1}
      aria-describedby={error ? `${fieldId(props.path)}-error` : undefined}
    >
      <legend>{props.label}</legend>
      {DAYS.map(([d, label]) => (
        <label>
          <input type="checkbox" checked={days.includes(d)} onChange={(e) => toggle(d, e.currentTarget.checked)} />{' '}
          {label}
        </label>
      ))}
      {error && (
        <p class="field-error" id={`${fieldId(props.path)}-error`} data-path={props.path}>
          {error}
        </p>
      )}
    </fieldset>
  );
}
