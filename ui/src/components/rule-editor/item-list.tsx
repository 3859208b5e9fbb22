import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useErrorAt } from './context.ts';
import { fieldId, isItem, join, move, removeAt, replaceAt, type Item } from './edit.ts';

export interface ListProps {
  /** Rule path of the list, e.g. `actions.2.then`. */
  path: string;
  items: unknown[];
  onChange: (items: unknown[]) => void;
}

/**
 * One list of a rule (triggers, conditions, actions, scene states): each item in its own group
 * with move up/down and remove buttons named after it, and "add" at the end. `noun` names an
 * item ("trigger"); `kinds` are the types one may add, `make` builds a new item of a type.
 */
export function ItemList(
  props: ListProps & {
    noun: string;
    title: string;
    kinds?: [string, string][];
    make: (kind: string) => Item;
    label: (item: Item) => string;
    render: (item: Item, path: string, onChange: (item: Item) => void) => ComponentChildren;
  },
) {
  const [kind, setKind] = useState(props.kinds?.[0]?.[0] ?? '');
  const listError = useErrorAt(props.path);
  const { items, onChange, noun } = props;
  const addId = `${fieldId(props.path)}-add`;
  // Keyboard focus follows the change: a moved item keeps it on its own button, an added item
  // gets it, and after a removal it goes to the list rather than being lost to the page.
  const focusNext = useRef<string | null>(null);
  useEffect(() => {
    if (!focusNext.current) return;
    document.getElementById(focusNext.current)?.focus();
    focusNext.current = null;
  });
  const change = (next: unknown[], focus: string) => {
    focusNext.current = focus;
    onChange(next);
  };
  const moveItem = (i: number, by: -1 | 1) => {
    const to = i + by;
    const edge = by === -1 ? to === 0 : to === items.length - 1;
    // At the edge this direction is disabled (unfocusable): take the other one.
    const button = (by === -1) !== edge ? 'up' : 'down';
    change(move(items, i, by), `${fieldId(join(props.path, to))}-${button}`);
  };
  return (
    <fieldset
      class="re-list"
      id={fieldId(props.path)}
      tabIndex={-1}
      aria-describedby={listError ? `${fieldId(props.path)}-error` : undefined}
    >
      <legend>{props.title}</legend>
      {listError && (
        <p class="field-error" id={`${fieldId(props.path)}-error`} data-path={props.path}>
          {listError}
        </p>
      )}
      {items.length === 0 && <p class="muted">None yet.</p>}
      {items.map((raw, i) => {
        const path = join(props.path, i);
        const name = itemName(path);
        return (
          <ItemBox path={path} heading={isItem(raw) ? `${name}: ${props.label(raw)}` : `${name}: not an object`}>
            {isItem(raw) ? (
              props.render(raw, path, (item) => onChange(replaceAt(items, i, item)))
            ) : (
              <p class="muted">Edit this {noun} in the JSON.</p>
            )}
            <div class="row re-item-tools">
              <button
                type="button"
                id={`${fieldId(path)}-up`}
                aria-label={`Move ${name} up`}
                disabled={i === 0}
                onClick={() => moveItem(i, -1)}
              >
                ↑ Up
              </button>
              <button
                type="button"
                id={`${fieldId(path)}-down`}
                aria-label={`Move ${name} down`}
                disabled={i === items.length - 1}
                onClick={() => moveItem(i, 1)}
              >
                ↓ Down
              </button>
              <button
                type="button"
                class="danger"
                aria-label={`Remove ${name}`}
                onClick={() => change(removeAt(items, i), fieldId(props.path))}
              >
                Remove
              </button>
            </div>
          </ItemBox>
        );
      })}
      <div class="row re-add">
        {props.kinds && (
          <div class="field">
            <label for={addId}>New {noun} type</label>
            <select id={addId} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              {props.kinds.map(([v, label]) => (
                <option value={v}>{label}</option>
              ))}
            </select>
          </div>
        )}
        <button
          type="button"
          onClick={() => change([...items, props.make(kind)], fieldId(join(props.path, items.length)))}
        >
          Add {noun}
        </button>
      </div>
    </fieldset>
  );
}

const WORDS: Record<string, string> = {
  triggers: 'trigger',
  conditions: 'condition',
  actions: 'action',
  states: 'state',
  choices: 'choice',
  default: 'otherwise',
};

/**
 * How an item is named to people, from its path, so every nested item has a name of its own:
 * `actions.2.then.0` → "action 3 then 1", `conditions.0.conditions.1` → "condition 1 condition 2".
 */
export function itemName(path: string): string {
  return path
    .split('.')
    .map((seg) => (/^\d+$/.test(seg) ? String(Number(seg) + 1) : (WORDS[seg] ?? seg)))
    .join(' ');
}

/** One item's group; the hub's error about the item as a whole (or its type) is shown here. */
function ItemBox(props: { path: string; heading: string; children: ComponentChildren }) {
  const atItem = useErrorAt(props.path);
  const atType = useErrorAt(join(props.path, 'type'));
  const whole = atItem ?? atType;
  return (
    <fieldset
      class="re-item"
      id={fieldId(props.path)}
      tabIndex={-1}
      aria-describedby={whole ? `${fieldId(props.path)}-error` : undefined}
    >
      <legend>{props.heading}</legend>
      {whole && (
        <p class="field-error" id={`${fieldId(props.path)}-error`} data-path={props.path}>
          {whole}
        </p>
      )}
      {props.children}
    </fieldset>
  );
}
