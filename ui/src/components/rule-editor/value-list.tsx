import type { StateValue } from '@hearth/model/values';
import { useRef } from 'preact/hooks';
import { defaultValue } from './capabilities.ts';
import { fieldId, join, removeAt, replaceAt } from './edit.ts';
import { ValueInput } from './fields.tsx';

/**
 * A state condition's value: one value, or "any of" several (the hub takes a list). One value
 * is kept as a plain value, so a rule that never needed a list does not get one.
 */
export function ValueList(props: {
  path: string;
  capability: string | undefined;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const values = (Array.isArray(props.value) ? props.value : [props.value]) as (StateValue | undefined)[];
  const set = (next: (StateValue | undefined)[]) => props.onChange(next.length === 1 ? next[0] : next);
  const many = values.length > 1;
  const group = useRef<HTMLDivElement>(null);
  // The removed value's button is gone: keep the keyboard in this group rather than lose it.
  const remove = (i: number) => {
    set(removeAt(values, i));
    requestAnimationFrame(() => group.current?.focus());
  };
  return (
    <div class="re-values" role="group" aria-label="Is any of" ref={group} tabIndex={-1}>
      {values.map((v, i) => {
        const path = many ? join(props.path, i) : props.path;
        return (
          <div class="row">
            <ValueInput
              path={path}
              label={many ? `Is (value ${i + 1})` : 'Is'}
              capability={props.capability}
              value={v}
              onChange={(x) => set(replaceAt(values, i, x))}
            />
            {many && (
              <button
                type="button"
                id={`${fieldId(path)}-remove`}
                aria-label={`Remove value ${i + 1}`}
                onClick={() => remove(i)}
              >
                Remove
              </button>
            )}
          </div>
        );
      })}
      <button type="button" onClick={() => set([...values, defaultValue(props.capability)])}>
        Or another value
      </button>
    </div>
  );
}
