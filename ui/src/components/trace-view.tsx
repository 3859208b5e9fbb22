import type { RuleTrace as Trace } from '@hearth/model/api';
import { formatTime } from '../format.ts';
import { devices } from '../live.ts';
import { useStore } from '../store.ts';

const GOOD = new Set(['done', 'running', 'waiting']);

type Names = (id: string) => string;

/** Fields of a step worth showing, without the bookkeeping ones; devices by their names. */
function details(step: Record<string, unknown>, skip: string[], name: Names): string {
  const rest = Object.entries(step).filter(([k]) => !skip.includes(k));
  return rest
    .map(
      ([k, v]) =>
        `${k}: ${k === 'device' && typeof v === 'string' ? name(v) : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
    .join(', ');
}

/** One run of a rule, step by step: what fired it, what each condition saw, what each action did. */
export function TraceView(props: { trace: Trace }) {
  const { trace } = props;
  const known = useStore(devices);
  const name: Names = (id) => known.get(id)?.name ?? id;
  const actionSkip = ['path', 'type', 'startedAt', 'ms', 'result', 'error'];
  return (
    <details class="card" data-status={trace.status}>
      <summary>
        <span class={GOOD.has(trace.status) ? 'ok' : 'bad'}>{trace.status}</span> · {formatTime(trace.startedAt)} ·
        version {trace.version}
        {trace.reason && <> · {trace.reason}</>}
      </summary>
      <ol class="steps">
        <li class="ok">
          <strong>Trigger</strong> {trace.trigger.type}: {details(trace.trigger, ['type', 'at', 'trigger'], name)}
        </li>
        {trace.conditions.map((c) => (
          <li class={c.result ? 'ok' : 'bad'}>
            <strong>Condition {c.path}</strong> {c.type}: {c.result ? 'passed' : 'failed'}
            {c.seen && <> (saw {JSON.stringify(c.seen)})</>}
          </li>
        ))}
        {trace.actions.map((a) => (
          <li class={a.result === 'ok' || a.result === 'running' ? 'ok' : 'bad'}>
            <strong>Action {a.path}</strong> {a.type}: {a.result}
            {a.ms !== undefined && <> in {a.ms} ms</>}
            {a.error && (
              <>
                {' '}
                — {a.error.code}: {a.error.message}
              </>
            )}
            {details(a, actionSkip, name) && <div class="muted">{details(a, actionSkip, name)}</div>}
          </li>
        ))}
        {trace.actions.length === 0 && trace.status !== 'conditions_failed' && <li>No actions ran.</li>}
      </ol>
    </details>
  );
}
