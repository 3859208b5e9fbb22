import type { TariffPlan as Plan, Tariff, TariffWindow } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { Field, FormError } from './form.tsx';

const describeWindows = (t: Tariff) =>
  t.windows.length === 0 ? 'one price all day' : t.windows.map((w) => `${w.from}–${w.to} at ${w.price}`).join(', ');

/**
 * The home's tariffs: each version with the date it starts, its price per kWh and its cheaper or
 * dearer hours (local time). Members read them; owners and admins add a version (a fixed price,
 * optionally with one window such as night hours) or remove one. The hub checks everything.
 */
export function TariffEditor(props: { manages: boolean; onSaved: () => void }) {
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [currency, setCurrency] = useState('EUR');
  const [name, setName] = useState('');
  const [validFrom, setValidFrom] = useState(new Date().toISOString().slice(0, 10));
  const [price, setPrice] = useState('');
  const [winFrom, setWinFrom] = useState('');
  const [winTo, setWinTo] = useState('');
  const [winPrice, setWinPrice] = useState('');

  const load = () =>
    api<Plan>('GET', '/energy/tariffs').then(
      (p) => {
        setPlan(p);
        if (p.currency) setCurrency(p.currency);
      },
      (err) => setError(plainMessage(err)),
    );
  useEffect(() => void load(), []);

  const save = async (next: Plan) => {
    setError(null);
    try {
      setPlan(await api<Plan>('PUT', '/energy/tariffs', next));
      props.onSaved();
      return true;
    } catch (err) {
      setError(plainMessage(err));
      return false;
    }
  };

  const add = async (e: Event) => {
    e.preventDefault();
    const windows: TariffWindow[] = [];
    // One window a form, e.g. night hours 00:00–07:00; a window over midnight is two.
    if (winFrom && winTo && winPrice) {
      const p = Number(winPrice);
      if (winTo <= winFrom && winTo !== '00:00') {
        windows.push({ from: winFrom, to: '24:00', price: p }, { from: '00:00', to: winTo, price: p });
      } else windows.push({ from: winFrom, to: winTo === '00:00' ? '24:00' : winTo, price: p });
    }
    const tariff: Tariff = { name: name.trim() || 'Tariff', validFrom, price: Number(price), windows };
    const ok = await save({ currency: currency.trim().toUpperCase(), tariffs: [...(plan?.tariffs ?? []), tariff] });
    if (ok) {
      setName('');
      setPrice('');
      setWinFrom('');
      setWinTo('');
      setWinPrice('');
    }
  };

  const remove = (t: Tariff) =>
    void save({
      currency: plan!.tariffs.length > 1 ? plan!.currency : null,
      tariffs: plan!.tariffs.filter((x) => x !== t),
    });

  return (
    <section class="card" aria-labelledby="energy-tariffs">
      <h2 id="energy-tariffs">Tariffs</h2>
      {plan && plan.tariffs.length === 0 && <p class="muted">No tariff yet: costs are not shown.</p>}
      {plan && plan.tariffs.length > 0 && (
        <ul data-testid="tariff-list">
          {plan.tariffs.map((t) => (
            <li>
              From {t.validFrom}: <strong>{t.name}</strong>, {t.price} {plan.currency}/kWh, {describeWindows(t)}
              {props.manages && (
                <button type="button" class="link" onClick={() => remove(t)}>
                  Remove {t.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <FormError message={error} />
      {props.manages && (
        <form onSubmit={add}>
          <h3>Add a tariff</h3>
          <div class="row">
            <Field label="Currency" id="tariff-currency">
              <input
                id="tariff-currency"
                value={currency}
                maxLength={3}
                onInput={(e) => setCurrency(e.currentTarget.value)}
              />
            </Field>
            <Field label="Tariff name" id="tariff-name">
              <input id="tariff-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Starts on" id="tariff-from">
              <input
                id="tariff-from"
                type="date"
                required
                value={validFrom}
                onInput={(e) => setValidFrom(e.currentTarget.value)}
              />
            </Field>
            <Field label="Price per kWh" id="tariff-price">
              <input
                id="tariff-price"
                type="number"
                step="any"
                min="0"
                required
                value={price}
                onInput={(e) => setPrice(e.currentTarget.value)}
              />
            </Field>
          </div>
          <div class="row">
            <Field label="Other price from (optional)" id="window-from">
              <input id="window-from" type="time" value={winFrom} onInput={(e) => setWinFrom(e.currentTarget.value)} />
            </Field>
            <Field label="until" id="window-to">
              <input id="window-to" type="time" value={winTo} onInput={(e) => setWinTo(e.currentTarget.value)} />
            </Field>
            <Field label="Price in those hours" id="window-price">
              <input
                id="window-price"
                type="number"
                step="any"
                min="0"
                value={winPrice}
                onInput={(e) => setWinPrice(e.currentTarget.value)}
              />
            </Field>
          </div>
          <button type="submit" class="primary">
            Add tariff
          </button>
        </form>
      )}
    </section>
  );
}
