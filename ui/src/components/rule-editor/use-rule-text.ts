import { useState } from 'preact/hooks';
import { isItem, type Item } from './edit.ts';

function parseRule(text: string): Item | null {
  try {
    const value: unknown = JSON.parse(text);
    return isItem(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The rule as JSON text and as an object, kept in step both ways: a form edit rewrites the text
 * from the object (so fields the form does not know are kept), and typed text updates the object
 * whenever it parses. While it does not, the object stays at the last version that did and
 * `parses` is false, so the form can hold still rather than overwrite what is being typed.
 */
export function useRuleText(initial: string) {
  const [text, setText] = useState(initial);
  const [rule, setRule] = useState<Item>(() => parseRule(initial) ?? {});
  const [parses, setParses] = useState(() => parseRule(initial) !== null);
  return {
    text,
    rule,
    parses,
    fromText(next: string) {
      setText(next);
      const parsed = parseRule(next);
      if (parsed) setRule(parsed);
      setParses(parsed !== null);
    },
    fromForm(next: Item) {
      setRule(next);
      setText(JSON.stringify(next, null, 2));
      setParses(true);
    },
  };
}
