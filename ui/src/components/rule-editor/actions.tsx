import type { Device } from '@hearth/model/api';
import { defaultValue } from './capabilities.ts';
import { ConditionList } from './conditions.tsx';
import { useRefs, type EditorRefs } from './context.ts';
import { DeviceTarget, firstTarget } from './device-fields.tsx';
import { join, listOf, withField, type Item } from './edit.ts';
import { Check, Choice, DurationInput, NumberInput, TextInput, ValueInput } from './fields.tsx';
import { ItemList, type ListProps } from './item-list.tsx';
import { SceneFields } from './scene-fields.tsx';
import { newTrigger, TriggerList } from './triggers.tsx';

export const ACTION_KINDS: [string, string][] = [
  ['command', 'Device command'],
  ['delay', 'Delay'],
  ['scene', 'Scene'],
  ['wait', 'Wait for a trigger'],
  ['if', 'If / else'],
  ['choose', 'Choose'],
  ['repeat', 'Repeat'],
  ['notify', 'Notify'],
  ['camera_clip', 'Camera clip'],
  ['enable_rule', 'Enable a rule'],
  ['disable_rule', 'Disable a rule'],
  ['stop', 'Stop the run'],
];

const LABELS: Record<string, string> = Object.fromEntries(ACTION_KINDS);

export function newCommand(devices: Device[]): Item {
  const target = firstTarget(devices, 'writable', ['switch']);
  return { type: 'command', ...target, value: defaultValue(target?.capability) };
}

export function newAction(kind: string, refs: Pick<EditorRefs, 'devices' | 'scenes' | 'cameras' | 'rules'>): Item {
  switch (kind) {
    case 'command':
      return newCommand(refs.devices);
    case 'delay':
      return { type: 'delay', for: '1m' };
    case 'scene': {
      const scene = refs.scenes[0];
      if (scene) return { type: 'scene', scene: scene.id };
      const { type: _t, ...state } = newCommand(refs.devices);
      return { type: 'scene', states: [state] };
    }
    case 'wait':
      return { type: 'wait', triggers: [newTrigger('state', refs.devices)], timeout: '5m' };
    case 'if':
      return { type: 'if', conditions: [], then: [] };
    case 'choose':
      return { type: 'choose', choices: [{ conditions: [], actions: [] }] };
    case 'repeat':
      return { type: 'repeat', count: 2, actions: [] };
    case 'notify':
      return { type: 'notify', message: '', level: 'info' };
    case 'camera_clip':
      return { type: 'camera_clip', camera: refs.cameras[0]?.id ?? '', seconds: 30 };
    case 'enable_rule':
    case 'disable_rule':
      return { type: kind, rule: refs.rules[0]?.id ?? '' };
    default:
      return { type: kind };
  }
}

type RepeatKind = 'count' | 'while' | 'until';
const repeatKind = (item: Item): RepeatKind =>
  item.while !== undefined ? 'while' : item.until !== undefined ? 'until' : 'count';

/** The fields of one action; if/choose/repeat/wait hold nested lists drawn by the list components. */
export function ActionFields(props: { item: Item; path: string; onChange: (item: Item) => void }) {
  const { item, path, onChange } = props;
  const { cameras, rules } = useRefs();
  const set = (key: string, value: unknown) => onChange(withField(item, key, value));
  const at = (key: string) => join(path, key);
  const capability = typeof item.capability === 'string' ? item.capability : undefined;
  switch (item.type) {
    case 'command':
      return (
        <>
          <DeviceTarget
            path={path}
            item={item}
            filter="writable"
            valueKeys={['value']}
            required="value"
            onChange={onChange}
          />
          <ValueInput
            path={at('value')}
            label="Set to"
            capability={capability}
            value={item.value}
            onChange={(v) => set('value', v)}
          />
          <Check
            path={at('continueOnError')}
            label="Carry on if the device does not answer"
            value={item.continueOnError}
            onChange={(on) => set('continueOnError', on || undefined)}
          />
        </>
      );
    case 'delay':
      return <DurationInput path={at('for')} label="Wait for" value={item.for} onChange={(v) => set('for', v)} />;
    case 'scene':
      return <SceneFields item={item} path={path} onChange={onChange} />;
    case 'wait':
      return (
        <>
          <TriggerList
            path={at('triggers')}
            title="Until one of these triggers"
            items={listOf(item.triggers)}
            onChange={(l) => set('triggers', l)}
          />
          <div class="row">
            <DurationInput
              path={at('timeout')}
              label="Timeout"
              value={item.timeout}
              onChange={(v) => set('timeout', v)}
            />
            <Check
              path={at('continueOnTimeout')}
              label="Stop the run on timeout"
              value={item.continueOnTimeout === false}
              onChange={(on) => set('continueOnTimeout', on ? false : undefined)}
            />
          </div>
        </>
      );
    case 'if':
      return (
        <>
          <ConditionList
            path={at('conditions')}
            title="If (all of)"
            items={listOf(item.conditions)}
            onChange={(l) => set('conditions', l)}
          />
          <ActionList path={at('then')} title="Then" items={listOf(item.then)} onChange={(l) => set('then', l)} />
          <ActionList
            path={at('else')}
            title="Else"
            items={listOf(item.else)}
            onChange={(l) => set('else', l.length ? l : undefined)}
          />
        </>
      );
    case 'choose':
      return <ChooseFields item={item} path={path} onChange={onChange} />;
    case 'repeat': {
      const kind = repeatKind(item);
      const pick = (next: string) => {
        let out = item;
        for (const k of ['count', 'while', 'until']) if (k !== next) out = withField(out, k, undefined);
        onChange(withField(out, next, out[next] ?? (next === 'count' ? 2 : [])));
      };
      return (
        <>
          <Choice
            path={at('kind')}
            label="Repeat"
            value={kind}
            options={[
              ['count', 'a number of times'],
              ['while', 'while conditions hold'],
              ['until', 'until conditions hold'],
            ]}
            onChange={pick}
          />
          {kind === 'count' ? (
            <NumberInput
              path={at('count')}
              label="Times"
              value={item.count}
              min={1}
              step="1"
              onChange={(n) => set('count', n)}
            />
          ) : (
            <ConditionList
              path={at(kind)}
              title={kind === 'while' ? 'While (all of)' : 'Until (all of)'}
              items={listOf(item[kind])}
              onChange={(l) => set(kind, l)}
            />
          )}
          <ActionList
            path={at('actions')}
            title="Do"
            items={listOf(item.actions)}
            onChange={(l) => set('actions', l)}
          />
        </>
      );
    }
    case 'notify':
      return (
        <div class="row">
          <TextInput path={at('message')} label="Message" value={item.message} onChange={(t) => set('message', t)} />
          <Choice
            path={at('level')}
            label="Level"
            value={item.level ?? 'info'}
            options={[
              ['info', 'info'],
              ['warning', 'warning'],
              ['alert', 'alert'],
            ]}
            onChange={(v) => set('level', v)}
          />
        </div>
      );
    case 'camera_clip':
      return (
        <div class="row">
          <Choice
            path={at('camera')}
            label="Camera"
            value={item.camera}
            options={cameras.map((c) => [c.id, c.name])}
            onChange={(v) => set('camera', v)}
          />
          <NumberInput
            path={at('seconds')}
            label="Seconds"
            value={item.seconds}
            min={1}
            max={600}
            step="1"
            onChange={(n) => set('seconds', n)}
          />
        </div>
      );
    case 'enable_rule':
    case 'disable_rule':
      return (
        <Choice
          path={at('rule')}
          label="Rule"
          value={item.rule}
          options={rules.map((r) => [r.id, r.name])}
          onChange={(v) => set('rule', v)}
        />
      );
    case 'stop':
      return (
        <TextInput
          path={at('reason')}
          label="Reason (for the trace)"
          value={item.reason}
          onChange={(t) => set('reason', t || undefined)}
        />
      );
    default:
      return <p class="muted">The form has no fields for “{String(item.type)}”; edit it in the JSON.</p>;
  }
}

/** choose: the first choice whose conditions all hold runs its actions, else the default list. */
function ChooseFields(props: { item: Item; path: string; onChange: (item: Item) => void }) {
  const { item, path, onChange } = props;
  return (
    <>
      <ItemList
        path={join(path, 'choices')}
        items={listOf(item.choices)}
        onChange={(l) => onChange(withField(item, 'choices', l))}
        noun="choice"
        title="Choices (the first that holds runs)"
        make={() => ({ conditions: [], actions: [] })}
        label={() => 'when … do …'}
        render={(choice, at, change) => (
          <>
            <ConditionList
              path={join(at, 'conditions')}
              title="When (all of)"
              items={listOf(choice.conditions)}
              onChange={(l) => change(withField(choice, 'conditions', l))}
            />
            <ActionList
              path={join(at, 'actions')}
              title="Do"
              items={listOf(choice.actions)}
              onChange={(l) => change(withField(choice, 'actions', l))}
            />
          </>
        )}
      />
      <ActionList
        path={join(path, 'default')}
        title="Otherwise"
        items={listOf(item.default)}
        onChange={(l) => onChange(withField(item, 'default', l.length ? l : undefined))}
      />
    </>
  );
}

export function ActionList(props: ListProps & { title?: string }) {
  const refs = useRefs();
  return (
    <ItemList
      {...props}
      noun="action"
      title={props.title ?? 'Then do (in order)'}
      kinds={ACTION_KINDS}
      make={(kind) => newAction(kind, refs)}
      label={(item) => LABELS[String(item.type)] ?? String(item.type)}
      render={(item, path, onChange) => <ActionFields item={item} path={path} onChange={onChange} />}
    />
  );
}
