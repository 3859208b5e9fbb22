import { defaultValue } from './capabilities.ts';
import { useRefs } from './context.ts';
import { DeviceTarget, firstTarget } from './device-fields.tsx';
import { join, listOf, withField, type Item } from './edit.ts';
import { Choice, ValueInput } from './fields.tsx';
import { ItemList } from './item-list.tsx';

/** A scene action: a saved scene (read when the rule runs) or its own list of device states. */
export function SceneFields(props: { item: Item; path: string; onChange: (item: Item) => void }) {
  const { item, path, onChange } = props;
  const { scenes, devices } = useRefs();
  const inline = item.states !== undefined;
  const pick = (how: string) => {
    if (how === 'states') {
      const target = firstTarget(devices, 'writable', ['switch']);
      onChange(
        withField(
          withField(item, 'scene', undefined),
          'states',
          item.states ?? [{ ...target, value: defaultValue(target?.capability) }],
        ),
      );
    } else onChange(withField(withField(item, 'states', undefined), 'scene', item.scene ?? scenes[0]?.id ?? ''));
  };
  return (
    <>
      <Choice
        path={join(path, 'how')}
        label="Scene"
        value={inline ? 'states' : 'saved'}
        options={[
          ['saved', 'a saved scene'],
          ['states', 'these device states'],
        ]}
        onChange={pick}
      />
      {inline ? (
        <ItemList
          path={join(path, 'states')}
          items={listOf(item.states)}
          onChange={(l) => onChange(withField(item, 'states', l))}
          noun="state"
          title="Device states"
          make={() => {
            const target = firstTarget(devices, 'writable', ['switch']);
            return { ...target, value: defaultValue(target?.capability) };
          }}
          label={(s) => `${devices.find((d) => d.id === s.device)?.name ?? String(s.device)} ${String(s.capability)}`}
          render={(s, at, change) => (
            <>
              <DeviceTarget
                path={at}
                item={s}
                filter="writable"
                valueKeys={['value']}
                required="value"
                onChange={change}
              />
              <ValueInput
                path={join(at, 'value')}
                label="Set to"
                capability={typeof s.capability === 'string' ? s.capability : undefined}
                value={s.value}
                onChange={(v) => change(withField(s, 'value', v))}
              />
            </>
          )}
        />
      ) : (
        <Choice
          path={join(path, 'scene')}
          label="Saved scene"
          value={item.scene}
          options={scenes.map((s) => [s.id, s.name])}
          onChange={(v) => onChange(withField(item, 'scene', v))}
        />
      )}
    </>
  );
}
