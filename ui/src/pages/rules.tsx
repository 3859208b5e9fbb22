import type { RuleSummary as RuleView, RuleTrace as Trace } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Spinner } from '../components/form.tsx';
import { formatTime } from '../format.ts';
import { href } from '../router.ts';

/** Every rule with whether it is on and how its last run went. */
export function Rules() {
  const [rules, setRules] = useState<RuleView[] | null>(null);
  const [last, setLast] = useState<Record<string, Trace | undefined>>({});
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    try {
      const list = await api<RuleView[]>('GET', '/rules');
      setRules(list);
      const traces = await Promise.all(
        list.map((r) => api<Trace[]>('GET', `/rules/${r.id}/traces?limit=1`).catch(() => [])),
      );
      setLast(Object.fromEntries(list.map((r, i) => [r.id, traces[i]![0]])));
    } catch (err) {
      setError(plainMessage(err));
    }
  };
  useEffect(() => void load(), []);

  const setEnabled = async (rule: RuleView) => {
    try {
      await api('POST', `/rules/${rule.id}/${rule.enabled ? 'disable' : 'enable'}`);
      await load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Rules</h1>
        <a class="button primary" href={href('/rules/new')}>
          New rule
        </a>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!rules && !error && <Spinner label="Loading rules" />}
      {rules && rules.length === 0 && <p>No rules yet.</p>}
      {rules && rules.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Rule</th>
                <th>Last run</th>
                <th>On</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => {
                const trace = last[rule.id];
                return (
                  <tr>
                    <td>
                      <a href={href(`/rules/${rule.id}`)}>{rule.name}</a>
                    </td>
                    <td data-testid="last-run">
                      {trace ? `${formatTime(trace.startedAt)} · ${trace.status}` : 'never'}
                    </td>
                    <td>
                      {/* The name starts with the visible On/Off (WCAG 2.5.3, label in name) and says which rule. */}
                      <button type="button" aria-pressed={rule.enabled} onClick={() => void setEnabled(rule)}>
                        {rule.enabled ? 'On' : 'Off'}
                        <span class="sr-only"> {rule.name}</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
