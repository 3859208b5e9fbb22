import type {
  DryRunResult,
  RuleChange as Change,
  RuleDiff,
  RuleSummary as RuleView,
  RuleTrace as Trace,
  RuleVersion as Version,
  RuleDryRun,
  RuleRevert,
} from '@hearth/model/api';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { Field, FormError, Spinner } from '../components/form.tsx';
import { RuleBuilder } from '../components/rule-builder.tsx';
import { RefsContext, usePickLists } from '../components/rule-editor/context.ts';
import { focusPath } from '../components/rule-editor/focus.ts';
import { LazyRuleForm } from '../components/rule-editor/lazy-form.tsx';
import { useRuleText } from '../components/rule-editor/use-rule-text.ts';
import { TraceView } from '../components/trace-view.tsx';
import { formatTime } from '../format.ts';
import { devices } from '../live.ts';
import { byActor } from '../by-actor.ts';
import { navigate } from '../router.ts';
import { useStore } from '../store.ts';

/** Fields the hub adds to a rule; the rest is the definition the editor shows. */
const VIEW_ONLY = ['id', 'enabled', 'version', 'running', 'createdAt', 'updatedAt'];

function definitionOf(rule: RuleView): Record<string, unknown> {
  return Object.fromEntries(Object.entries(rule).filter(([k]) => !VIEW_ONLY.includes(k)));
}

function template(deviceId: string): string {
  return JSON.stringify(
    {
      name: 'New rule',
      mode: 'single',
      triggers: [{ type: 'state', device: deviceId, capability: 'switch', to: true }],
      conditions: [],
      actions: [{ type: 'command', device: deviceId, capability: 'switch', value: false }],
    },
    null,
    2,
  );
}

type Tab = 'edit' | 'traces' | 'dry-run' | 'versions';

/** Refusals that point at one field of the rule (`details.path`): shown next to it. */
const FIELD_ERRORS = new Set(['validation_failed', 'location_required', 'value_out_of_range', 'value_not_allowed']);

/** One rule: its definition (form and JSON, in step), traces step by step, dry run, versions with revert. */
export function RulePage(props: { id: string }) {
  const isNew = props.id === 'new';
  const [loaded, setRule] = useState<RuleView | null>(null);
  // The page stays mounted when the address moves to another rule (or to a new one): never show,
  // or save over it, the rule loaded before.
  const rule = !isNew && loaded?.id === props.id ? loaded : null;
  const [tab, setTab] = useState<Tab>('edit');
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    if (isNew) return;
    try {
      setRule(await api<RuleView>('GET', `/rules/${props.id}`));
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  useEffect(() => void load(), [props.id]);

  if (error)
    return (
      <p class="form-error" role="alert">
        {error}
      </p>
    );
  if (!isNew && !rule) return <Spinner label="Loading rule" />;

  const tabs: [Tab, string][] = isNew
    ? [['edit', 'Definition']]
    : [
        ['edit', 'Definition'],
        ['traces', 'Traces'],
        ['dry-run', 'Dry run'],
        ['versions', 'Versions'],
      ];
  return (
    <>
      <h1>{rule ? rule.name : 'New rule'}</h1>
      {rule && (
        <p class="muted">
          Version {rule.version} · {rule.enabled ? 'on' : 'off'} · changed {formatTime(rule.updatedAt)}
        </p>
      )}
      <div class="row presets" role="tablist" aria-label="Rule views">
        {tabs.map(([id, label]) => (
          // A tab says it is current with aria-selected; aria-pressed is for toggle buttons only.
          <button type="button" role="tab" id={`rule-tab-${id}`} aria-selected={tab === id} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-labelledby={`rule-tab-${tab}`}>
        {tab === 'edit' && (
          <Editor
            key={rule?.id ?? 'new'}
            rule={rule}
            onSaved={(saved) => (isNew ? navigate(`/rules/${saved.id}`) : setRule(saved))}
          />
        )}
        {tab === 'traces' && rule && <Traces ruleId={rule.id} />}
        {tab === 'dry-run' && rule && <DryRun ruleId={rule.id} />}
        {tab === 'versions' && rule && <Versions rule={rule} onReverted={setRule} />}
      </div>
    </>
  );
}

function Editor(props: { rule: RuleView | null; onSaved: (rule: RuleView) => void }) {
  const all = [...useStore(devices).values()];
  const picks = usePickLists();
  const { text, rule, parses, fromText, fromForm } = useRuleText(
    props.rule ? JSON.stringify(definitionOf(props.rule), null, 2) : template(all[0]?.id ?? 'DEVICE_ID'),
  );
  const [fieldError, setFieldError] = useState<{ path: string; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const jsonRef = useRef<HTMLTextAreaElement>(null);

  // After a refused save, take the keyboard to the field the hub named.
  useEffect(() => {
    if (fieldError) focusPath(fieldError.path, jsonRef.current);
  }, [fieldError]);

  const save = async (e: Event) => {
    e.preventDefault();
    setFieldError(null);
    setError(null);
    setSaved(false);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return setFieldError({ path: '', message: `This is not valid JSON: ${(err as Error).message}` });
    }
    try {
      const stored = props.rule
        ? await api<RuleView>('PUT', `/rules/${props.rule.id}`, body)
        : await api<RuleView>('POST', '/rules', body);
      setSaved(true);
      props.onSaved(stored);
    } catch (err) {
      if (err instanceof ApiError && FIELD_ERRORS.has(err.code)) {
        const path = String(err.details?.path ?? err.details?.field ?? '');
        // The hub's message starts with the path; say it once.
        setFieldError({
          path,
          message: err.message.replace(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), ''),
        });
      } else setError(plainMessage(err));
    }
  };

  const remove = async () => {
    if (!props.rule || !confirm(`Delete the rule ${props.rule.name}?`)) return;
    try {
      await api('DELETE', `/rules/${props.rule.id}`);
      navigate('/rules');
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <>
      {!props.rule && (
        <RuleBuilder
          devices={all}
          onBuild={(json) => {
            fromText(json);
            setFieldError(null);
          }}
        />
      )}
      <form onSubmit={save} class="card" aria-label="Rule editor">
        <div class="re-layout">
          <div>
            <h2>Rule</h2>
            {!parses && (
              <p class="muted" role="status">
                The JSON does not parse: the form shows the last version that did and waits until it parses again.
              </p>
            )}
            <RefsContext.Provider value={{ devices: all, ...picks, error: fieldError }}>
              <LazyRuleForm rule={rule} onChange={fromForm} disabled={!parses} />
            </RefsContext.Provider>
          </div>
          <div class="re-json">
            <Field
              label="Rule (JSON)"
              id="rule-json"
              hint="The same rule as JSON: edit either side, the form follows the JSON whenever it parses."
            >
              <textarea
                id="rule-json"
                ref={jsonRef}
                spellcheck={false}
                value={text}
                aria-invalid={fieldError ? true : undefined}
                aria-describedby={fieldError ? 'rule-json-error' : 'rule-json-hint'}
                onInput={(e) => fromText(e.currentTarget.value)}
              />
            </Field>
          </div>
        </div>
        {fieldError && (
          <p class="field-error" id="rule-json-error" role="alert" data-path={fieldError.path}>
            {fieldError.path && (
              <>
                At <code>{fieldError.path}</code>:{' '}
              </>
            )}
            {fieldError.message}
          </p>
        )}
        <FormError message={error} />
        {saved && (
          <p role="status" class="ok">
            Saved.
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary">
            Save rule
          </button>
          {props.rule && (
            <button type="button" class="danger" onClick={() => void remove()}>
              Delete rule
            </button>
          )}
        </div>
        <details>
          <summary>Device ids</summary>
          <table>
            <tbody>
              {all.map((d) => (
                <tr>
                  <td>{d.name}</td>
                  <td>
                    <code>{d.id}</code>
                  </td>
                  <td>{d.capabilities.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </form>
    </>
  );
}

function Traces(props: { ruleId: string }) {
  const [traces, setTraces] = useState<Trace[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<Trace[]>('GET', `/rules/${props.ruleId}/traces?limit=20`).then(setTraces, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), [props.ruleId]);

  const runNow = async () => {
    try {
      await api('POST', `/rules/${props.ruleId}/run`);
      setTimeout(() => void load(), 300);
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section aria-label="Traces">
      <div class="row">
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        <button type="button" onClick={() => void runNow()}>
          Run now
        </button>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {traces && traces.length === 0 && <p>This rule has not fired yet.</p>}
      {traces?.map((t) => (
        <TraceView trace={t} />
      ))}
    </section>
  );
}

function DryRun(props: { ruleId: string }) {
  const [days, setDays] = useState(1);
  const [result, setResult] = useState<DryRunResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const names = useStore(devices);

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api<DryRunResult>('POST', '/rules/dry-run', {
          ruleId: props.ruleId,
          from: new Date(Date.now() - days * 86400e3).toISOString(),
        } satisfies RuleDryRun),
      );
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label="Dry run">
      <form onSubmit={run} class="card">
        <p>Replays the recorded history through this rule. Nothing is switched.</p>
        <Field label="Days of history" id="dry-days">
          <input
            id="dry-days"
            type="number"
            min={1}
            max={31}
            value={days}
            onInput={(e) => setDays(Number(e.currentTarget.value))}
          />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Dry run
        </button>
      </form>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="dry-run-result">
          <p>
            {result.replayedEvents} events replayed{result.truncated ? ' (cut short: too many events)' : ''}; the rule
            would have fired {result.firings.length} times and sent {result.commands.length} commands.
          </p>
          {result.stopped && (
            <p role="status">
              The dry run stopped at {formatTime(result.stopped.at)}: the rule did too many steps. What came before is
              shown.
            </p>
          )}
          <ul>
            {result.commands.map((c) => (
              <li>
                {formatTime(c.at)}: {names.get(c.device)?.name ?? c.device} {c.capability} → {String(c.value)}
              </li>
            ))}
          </ul>
          {result.firings.map((t) => (
            <TraceView trace={t} />
          ))}
        </div>
      )}
    </section>
  );
}

const show = (v: unknown) => JSON.stringify(v);

function Versions(props: { rule: RuleView; onReverted: (rule: RuleView) => void }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = props.rule.version;

  useEffect(() => {
    api<Version[]>('GET', `/rules/${props.rule.id}/versions`).then(setVersions, (err) => setError(plainMessage(err)));
  }, [props.rule.id, current]);

  const pick = async (version: number) => {
    setSelected(version);
    setChanges(null);
    try {
      setChanges((await api<RuleDiff>('GET', `/rules/${props.rule.id}/diff?from=${version}&to=${current}`)).changes);
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  const revert = async () => {
    if (selected === null) return;
    try {
      props.onReverted(
        await api<RuleView>('POST', `/rules/${props.rule.id}/revert`, {
          version: selected,
        } satisfies RuleRevert),
      );
      setSelected(null);
      setChanges(null);
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section aria-label="Versions">
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <ul class="steps">
        {[...(versions ?? [])].reverse().map((v) => (
          <li>
            <button
              type="button"
              aria-pressed={selected === v.version}
              onClick={() => void pick(v.version)}
              disabled={v.version === current}
            >
              Version {v.version}
            </button>{' '}
            {formatTime(v.at)}
            {byActor(v.author)}
            {v.note ? ` · ${v.note}` : ''}
            {v.version === current ? ' (current)' : ''}
          </li>
        ))}
      </ul>
      {selected !== null && changes && (
        <div class="card" data-testid="diff">
          <h2>
            Version {selected} → {current}
          </h2>
          {changes.length === 0 && <p>No differences.</p>}
          <div class="diff">
            {changes.map((c) => (
              <div>
                <code>{c.path}</code> {c.op !== 'added' && <span class="del">− {show(c.from)}</span>}{' '}
                {c.op !== 'removed' && <span class="add">+ {show(c.to)}</span>}
              </div>
            ))}
          </div>
          <button type="button" class="primary" onClick={() => void revert()}>
            Revert to version {selected}
          </button>
        </div>
      )}
    </section>
  );
}
