import { ActionList } from './actions.tsx';
import { ConditionList } from './conditions.tsx';
import { listOf, withField, type Item } from './edit.ts';
import { Choice, NumberInput, TextInput } from './fields.tsx';
import { TriggerList } from './triggers.tsx';
import './rule-editor.css';

const MODES: [string, string][] = [
  ['single', 'single'],
  ['restart', 'restart'],
  ['queued', 'queued'],
  ['parallel', 'parallel'],
];

/** What each mode does with a firing that comes while a run is still going. */
const MODE_HINTS: Record<string, string> = {
  single: 'A firing while it runs is skipped',
  restart: 'A firing while it runs stops the run and starts again',
  queued: 'Firings while it runs wait their turn',
  parallel: 'Firings while it runs run alongside',
};

/**
 * The whole rule as a form: name, mode (with its maximum), triggers, conditions and actions.
 * It edits the rule object it is given and hands back a new one; the page keeps that in step
 * with the JSON text, so anything the form has no field for is carried along untouched.
 */
export function RuleForm(props: { rule: Item; onChange: (rule: Item) => void; disabled?: boolean }) {
  const { rule, onChange } = props;
  const set = (key: string, value: unknown) => onChange(withField(rule, key, value));
  const bounded = rule.mode === 'queued' || rule.mode === 'parallel';
  return (
    <fieldset class="re-form" disabled={props.disabled}>
      <legend class="sr-only">Rule</legend>
      <TextInput path="name" label="Name" value={rule.name} onChange={(t) => set('name', t)} />
      <div class="row">
        <Choice
          path="mode"
          label="Mode"
          value={rule.mode}
          options={MODES}
          hint={MODE_HINTS[String(rule.mode)]}
          onChange={(v) =>
            onChange(
              v === 'queued' || v === 'parallel'
                ? withField(rule, 'mode', v)
                : withField(withField(rule, 'mode', v), 'max', undefined),
            )
          }
        />
        {bounded && (
          <NumberInput
            path="max"
            label={rule.mode === 'queued' ? 'Most waiting' : 'Most at once'}
            value={rule.max}
            min={1}
            max={100}
            step="1"
            hint="Empty: 10"
            onChange={(n) => set('max', n)}
          />
        )}
      </div>
      <TextInput
        path="description"
        label="Description (optional)"
        value={rule.description}
        onChange={(t) => set('description', t || undefined)}
      />
      <TriggerList path="triggers" items={listOf(rule.triggers)} onChange={(l) => set('triggers', l)} />
      <ConditionList path="conditions" items={listOf(rule.conditions)} onChange={(l) => set('conditions', l)} />
      <ActionList path="actions" items={listOf(rule.actions)} onChange={(l) => set('actions', l)} />
      <Choice
        path="missed"
        label="Time triggers missed while the hub was off"
        value={rule.missed ?? 'skip'}
        options={[
          ['skip', 'skip them'],
          ['catch_up', 'run once at start'],
        ]}
        onChange={(v) => set('missed', v === 'skip' ? undefined : v)}
      />
    </fieldset>
  );
}
