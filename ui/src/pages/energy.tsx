import type {
  EnergyPeriod,
  EnergyRole,
  EnergySummary as Summary,
  StandbyReport as Standby,
  User,
  EnergyRoleBody,
} from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { FormError, Spinner } from '../components/form.tsx';
import { TariffEditor } from '../components/tariff-editor.tsx';
import { href } from '../router.ts';

type Period = EnergyPeriod;
type Role = EnergyRole | null;

/** How far back each view reaches: a week of days, eight weeks, a year of months. */
const SPAN: Record<Period, number> = { day: 7 * 86_400_000, week: 56 * 86_400_000, month: 365 * 86_400_000 };
const LABEL: Record<Period, string> = { day: 'Days', week: 'Weeks', month: 'Months' };

const kwh = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)} kWh`);
export const money = (v: number | null, currency: string | null) =>
  v === null || !currency ? '–' : new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(v);

function periodLabel(start: string, period: Period): string {
  // The hub gives each period's local start with its offset; its date part is the local date.
  const [y, m, d] = start.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (period === 'month')
    return date.toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const text = date.toLocaleDateString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone: 'UTC',
  });
  return period === 'week' ? `Week of ${text}` : text;
}

/**
 * The home's energy: power now, consumption per day/week/month with its cost, the untracked rest
 * under a mains meter and solar production, each device's share, standby worst first, and (for
 * owners and admins) the devices' roles and the tariffs. Everything is computed by the hub.
 */
export function EnergyPage() {
  const [period, setPeriod] = useState<Period>('day');
  const [summary, setSummary] = useState<Summary | null>(null);
  const [standby, setStandby] = useState<Standby | null>(null);
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const manages = me !== null && (me.role === 'owner' || me.role === 'admin' || me.role === 'installer');

  useEffect(() => void api<User>('GET', '/me').then(setMe, () => undefined), []);
  useEffect(() => {
    let live = true;
    const now = Date.now();
    Promise.all([
      api<Summary>('GET', `/energy/summary?period=${period}&from=${now - SPAN[period]}&to=${now + 1}`),
      api<Standby>('GET', '/energy/standby'),
    ]).then(
      ([s, b]) => {
        if (!live) return;
        setSummary(s);
        setStandby(b);
        setError(null);
      },
      (err) => live && setError(plainMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [period, version]);

  const setRole = async (id: string, role: Role) => {
    try {
      await api('PUT', `/energy/roles/${id}`, { role } satisfies EnergyRoleBody);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(plainMessage(err));
    }
  };

  return (
    <>
      <h1>Energy</h1>
      <FormError message={error} />
      {!summary && !error && <Spinner label="Loading energy" />}
      {summary && (
        <>
          <section class="card" aria-labelledby="energy-now">
            <h2 id="energy-now">Now</h2>
            <p class="big" data-testid="power-now">
              {summary.powerW === null ? '–' : `${summary.powerW.toFixed(0)} W`}
            </p>
            {!summary.wholeHome && <p class="muted">Only the devices shared with you are counted.</p>}
          </section>
          <section class="card" aria-labelledby="energy-periods">
            <h2 id="energy-periods">Consumption</h2>
            <div class="row" role="group" aria-label="Period">
              {(['day', 'week', 'month'] as Period[]).map((p) => (
                <button type="button" aria-pressed={period === p} onClick={() => setPeriod(p)}>
                  {LABEL[p]}
                </button>
              ))}
            </div>
            <p data-testid="energy-total">
              {kwh(summary.totals.kWh)}
              {summary.currency ? `, ${money(summary.totals.cost, summary.currency)}` : ''}
              {summary.totals.untrackedKWh !== null && `, of which ${kwh(summary.totals.untrackedKWh)} untracked`}
              {summary.totals.productionKWh !== null && `; solar produced ${kwh(summary.totals.productionKWh)}`}
            </p>
            <table>
              <thead>
                <tr>
                  <th scope="col">{LABEL[period].slice(0, -1)}</th>
                  <th scope="col">Energy</th>
                  {summary.currency && <th scope="col">Cost</th>}
                  {summary.totals.untrackedKWh !== null && <th scope="col">Untracked</th>}
                  {summary.totals.productionKWh !== null && <th scope="col">Solar</th>}
                </tr>
              </thead>
              <tbody>
                {summary.periods.map((p) => (
                  <tr>
                    <th scope="row">{periodLabel(p.start, period)}</th>
                    <td>{kwh(p.kWh)}</td>
                    {summary.currency && <td>{money(p.cost, summary.currency)}</td>}
                    {summary.totals.untrackedKWh !== null && <td>{kwh(p.untrackedKWh)}</td>}
                    {summary.totals.productionKWh !== null && <td>{kwh(p.productionKWh)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="energy-devices">
            <h2 id="energy-devices">Devices</h2>
            {summary.devices.length === 0 && <p class="muted">No device with a meter yet.</p>}
            <table>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Energy</th>
                  <th scope="col">Share</th>
                  {summary.currency && <th scope="col">Cost</th>}
                  <th scope="col">Now</th>
                  {manages && <th scope="col">Role</th>}
                </tr>
              </thead>
              <tbody>
                {summary.devices.map((d) => (
                  <tr data-device={d.name}>
                    <th scope="row">
                      <a href={href(`/devices/${d.id}`)}>{d.name}</a>
                    </th>
                    <td>{kwh(d.kWh)}</td>
                    <td>
                      {d.share === null
                        ? d.role === 'mains'
                          ? 'mains meter'
                          : 'solar'
                        : `${(d.share * 100).toFixed(1)} %`}
                    </td>
                    {summary.currency && <td>{money(d.cost, summary.currency)}</td>}
                    <td>{d.powerW === null ? '–' : `${d.powerW.toFixed(0)} W`}</td>
                    {manages && (
                      <td>
                        <select
                          aria-label={`Role of ${d.name}`}
                          value={d.role ?? ''}
                          onChange={(e) => void setRole(d.id, (e.currentTarget.value || null) as Role)}
                        >
                          <option value="">Appliance</option>
                          <option value="mains">Mains meter (whole home)</option>
                          <option value="production">Solar production</option>
                        </select>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
      {standby && (
        <section class="card" aria-labelledby="energy-standby">
          <h2 id="energy-standby">Standby</h2>
          <p data-testid="standby-total">
            {standby.total.watts.toFixed(1)} W all the time: {standby.total.kwhPerYear.toFixed(0)} kWh a year
            {standby.currency && standby.total.costPerYear !== null
              ? `, ${money(standby.total.costPerYear, standby.currency)} a year`
              : ''}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Idle power</th>
                <th scope="col">A year</th>
              </tr>
            </thead>
            <tbody>
              {standby.devices.map((d) => (
                <tr data-standby={d.name}>
                  <th scope="row">{d.name}</th>
                  <td>{d.watts === null ? 'not enough history yet' : `${d.watts.toFixed(1)} W`}</td>
                  <td>
                    {d.kwhPerYear === null ? '–' : `${d.kwhPerYear.toFixed(1)} kWh`}
                    {d.costPerYear !== null && standby.currency ? `, ${money(d.costPerYear, standby.currency)}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">How: {standby.method}.</p>
        </section>
      )}
      {me && me.role !== 'guest' && <TariffEditor manages={manages} onSaved={() => setVersion((v) => v + 1)} />}
    </>
  );
}
