import type { ScriptKey, ScriptKeyCreated, ScriptKeyCreate } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import type { ApiTokenScope, Role } from '@hearth/model/values';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { formatTime } from '../format.ts';
import { Field, FormError } from './form.tsx';

type Scope = ApiTokenScope;

const SCOPES: { scope: Scope; label: string; least: Role[] }[] = [
  { scope: 'read', label: 'Read only', least: ['guest', 'member', 'admin', 'installer', 'owner'] },
  { scope: 'control', label: 'Read and control devices', least: ['member', 'admin', 'installer', 'owner'] },
  { scope: 'admin', label: 'Read, control and change the home', least: ['admin', 'installer', 'owner'] },
];

const scopeLabel = (scope: Scope) => SCOPES.find((s) => s.scope === scope)?.label ?? scope;

/**
 * Settings → Keys for scripts: each person makes keys for their own scripts (hub/src/auth/api-tokens.ts),
 * sees the secret once, lists them with their last use and revokes them. Only the scopes the
 * person's role may hold are offered (the hub refuses the others anyway).
 */
export function ScriptKeys({ role }: { role: Role }) {
  const [keys, setKeys] = useState<ScriptKey[] | null>(null);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<Scope>('read');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<ScriptKey[]>('GET', '/me/tokens').then(setKeys, (err) => setError(plainMessage(err)));
  useEffect(() => void load(), []);

  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!name.trim()) {
      setError('Give the key a name, such as the script that uses it.');
      return;
    }
    try {
      const key = await api<ScriptKeyCreated>('POST', '/me/tokens', {
        name: name.trim(),
        scope,
      } satisfies ScriptKeyCreate);
      setCreated({ name: key.name, token: key.token });
      setName('');
      void load();
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'validation_failed'
          ? 'A key needs a name of 1 to 64 characters.'
          : plainMessage(err),
      );
    }
  };
  const revoke = async (key: ScriptKey) => {
    if (!confirm(`Revoke the key ${key.name}? Scripts using it stop working at once.`)) return;
    try {
      await api('DELETE', `/me/tokens/${encodeURIComponent(key.id)}`);
      if (created?.name === key.name) setCreated(null);
      void load();
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <section class="card" aria-labelledby="script-keys-title">
      <h2 id="script-keys-title">Keys for scripts</h2>
      <p class="muted">
        For your own scripts on the home network: send the key as <code>Authorization: Bearer …</code>. A key never does
        more than you may, and cannot change passwords, people or keys.
      </p>
      {keys && keys.length === 0 && <p class="muted">You have no keys.</p>}
      {keys && keys.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Access</th>
                <th>Made</th>
                <th>Last used</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr data-testid="script-key">
                  <td>{k.name}</td>
                  <td>
                    {scopeLabel(k.scope)}
                    {k.devices ? ` (${k.devices.length} device${k.devices.length === 1 ? '' : 's'})` : ''}
                  </td>
                  <td>{formatTime(Date.parse(k.createdAt))}</td>
                  <td data-testid="script-key-used">{k.lastUsedAt ? formatTime(Date.parse(k.lastUsedAt)) : 'never'}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => void revoke(k)} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {created && (
        <p role="status">
          Key <strong>{created.name}</strong>: <code data-testid="script-key-secret">{created.token}</code>. Copy it
          now: it is not shown again.
        </p>
      )}
      <form onSubmit={add} noValidate>
        <Field label="Key name" id="script-key-name">
          <input id="script-key-name" maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Key access" id="script-key-scope">
          <select id="script-key-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value as Scope)}>
            {SCOPES.filter((s) => s.least.includes(role)).map((s) => (
              <option value={s.scope}>{s.label}</option>
            ))}
          </select>
        </Field>
        <FormError message={error} />
        <button type="submit" class="primary">
          Create key
        </button>
      </form>
    </section>
  );
}
