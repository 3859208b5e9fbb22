import { useEffect, useState } from 'preact/hooks';
import { Spinner } from '../form.tsx';
import type { RuleForm } from './rule-form.tsx';

type Form = typeof RuleForm;

// The form (~7 KB gzipped) is loaded only when a rule is opened, so the home page stays small.
let module: Promise<Form> | null = null;
function loadForm(): Promise<Form> {
  module ??= import('./rule-form.tsx').then(
    (m) => m.RuleForm,
    (err: unknown) => {
      module = null; // a hub that was briefly unreachable: the next rule page tries again
      throw err;
    },
  );
  return module;
}

/** The rule form once its code is in; until then a spinner, and if it cannot load, the JSON is still there. */
export function LazyRuleForm(props: Parameters<Form>[0]) {
  const [Loaded, setLoaded] = useState<Form | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    loadForm().then(
      (f) => live && setLoaded(() => f),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, []);
  if (Loaded) return <Loaded {...props} />;
  if (failed)
    return (
      <p class="form-error" role="alert">
        The rule form could not be loaded (is the hub reachable?). The JSON editor still works.
      </p>
    );
  return <Spinner label="Loading the rule form" />;
}
