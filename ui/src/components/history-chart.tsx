import type { EnergyReport, HistorySeries } from '@hearth/model/api';
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { devices } from '../live.ts';

export const RANGES = {
  hour: 3600e3,
  day: 86400e3,
  week: 7 * 86400e3,
  month: 30 * 86400e3,
  year: 365 * 86400e3,
} as const;
export type RangeName = keyof typeof RANGES;

// uPlot (~50 KB) is loaded only when a chart is first shown, so the home page stays small.
let uplotModule: Promise<typeof uPlot> | null = null;
function loadUplot(): Promise<typeof uPlot> {
  uplotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return uplotModule;
}

/**
 * One chart owned by uPlot inside a div. Made once per `version` (a new range or device); new
 * data for the same chart (live readings) goes through setData, which keeps zoom and is cheap.
 */
function UPlotBox(props: {
  options: (width: number, U: typeof uPlot) => uPlot.Options;
  data: uPlot.AlignedData;
  label: string;
  version?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const latest = useRef(props.data);
  latest.current = props.data;
  useEffect(() => {
    let disposed = false;
    // The observer can still fire once after the box left the page.
    const observer = new ResizeObserver(() => {
      if (box.current) chart.current?.setSize({ width: box.current.clientWidth, height: 220 });
    });
    void loadUplot().then((U) => {
      if (disposed || !box.current) return;
      chart.current = new U(props.options(box.current.clientWidth, U), latest.current, box.current);
      observer.observe(box.current);
    });
    return () => {
      disposed = true;
      observer.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [props.version]);
  useEffect(() => {
    chart.current?.setData(props.data);
  }, [props.data]);
  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}

/** Power (or any gauge) over a range: the mean as a line, min–max as a band the hub computed. */
/** Time (s), mean, min, max: the columns uPlot draws. */
type Series = [number[], number[], number[], number[]];

export function HistoryChart(props: { deviceId: string; capability: string; unit: string }) {
  const [range, setRange] = useState<RangeName>('day');
  const [data, setData] = useState<Series | null>(null);
  // The range `data` answers: until the chosen range's answer is in, the old points stay hidden
  // rather than shown under the new range's name.
  const [dataRange, setDataRange] = useState<RangeName | null>(null);
  const [tier, setTier] = useState('');
  // The x axis spans the whole chosen range, not just the readings, so gaps are visible.
  const [span, setSpan] = useState<[number, number]>([0, 0]);
  const spanRef = useRef(span);
  spanRef.current = span;
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const to = Date.now();
    const from = to - RANGES[range];
    // A slow answer for a range left behind must not overwrite the one now chosen.
    let current = true;
    setError(null);
    api<HistorySeries>(
      'GET',
      `/history?device=${encodeURIComponent(props.deviceId)}&capability=${props.capability}&from=${from}&to=${to}&points=400`,
    )
      .then((res) => {
        if (!current) return;
        setDataRange(range);
        setTier(res.tier);
        setSpan([from / 1000, to / 1000]);
        setData([
          res.points.map((p) => p.t / 1000),
          res.points.map((p) => p.mean),
          res.points.map((p) => p.min),
          res.points.map((p) => p.max),
        ]);
      })
      .catch((err) => {
        if (current) setError(plainMessage(err));
      });
    return () => {
      current = false;
    };
  }, [range, props.deviceId, props.capability]);

  // On the hour view, readings from the events stream are appended as they arrive, so the
  // chart moves with the device; coarser views change too slowly to be worth it.
  useEffect(() => {
    if (range !== 'hour') return;
    let last = devices.get().get(props.deviceId)?.state[props.capability];
    return devices.subscribe(() => {
      const value = devices.get().get(props.deviceId)?.state[props.capability];
      if (value === last || typeof value !== 'number') return;
      last = value;
      const now = Date.now() / 1000;
      setSpan([now - RANGES.hour / 1000, now]);
      setData(
        (old) =>
          old &&
          ([
            [...old[0], now],
            [...old[1], value],
            [...old[2], value],
            [...old[3], value],
          ] as Series),
      );
    });
  }, [range, props.deviceId, props.capability]);

  const options = (width: number): uPlot.Options => ({
    width,
    height: 220,
    scales: { x: { time: true, range: () => spanRef.current } },
    series: [
      {},
      { label: `${props.capability} (${props.unit})`, stroke: '#1f3a5f', width: 2 },
      { label: 'min', stroke: '#8aa4c4', width: 1 },
      { label: 'max', stroke: '#8aa4c4', width: 1 },
    ],
    axes: [{}, { label: props.unit }],
  });

  const points = data?.[0].length ?? 0;
  const shown = data !== null && dataRange === range;
  return (
    <section class="card" aria-labelledby="chart-title">
      <h2 id="chart-title">{props.capability === 'power' ? 'Power' : props.capability}</h2>
      <div class="row presets" role="group" aria-label="Time range">
        {(Object.keys(RANGES) as RangeName[]).map((name) => (
          <button type="button" aria-pressed={range === name} onClick={() => setRange(name)}>
            {name}
          </button>
        ))}
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {shown && points === 0 && <p class="muted">No readings in this range yet.</p>}
      {shown && points > 0 && (
        <UPlotBox
          version={`${props.deviceId}/${range}/${tier}`}
          data={data}
          options={options}
          label={`${props.capability} over the last ${range}, ${points} points`}
        />
      )}
      {shown && (
        <p class="muted" data-testid="chart-summary">
          {points} points from the {tier} tier
        </p>
      )}
    </section>
  );
}

/** Energy per local day (the home's time zone) over the last 30 days, as bars. */
export function EnergyBars(props: { deviceId: string }) {
  const [data, setData] = useState<uPlot.AlignedData | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const from = Date.now() - 30 * 86400e3;
    api<EnergyReport>('GET', `/energy?device=${encodeURIComponent(props.deviceId)}&period=day&from=${from}`)
      .then((res) => {
        setTotal(res.total);
        setData([res.buckets.map((b) => b.t / 1000), res.buckets.map((b) => b.kWh)]);
      })
      .catch((err) => setError(plainMessage(err)));
  }, [props.deviceId]);

  const options = (width: number, U: typeof uPlot): uPlot.Options => ({
    width,
    height: 220,
    scales: { x: { time: true } },
    series: [
      {},
      {
        label: 'kWh per day',
        fill: '#6d8fb8',
        stroke: '#1f3a5f',
        paths: U.paths.bars!({ size: [0.7, 40] }),
        points: { show: false },
      },
    ],
    axes: [{}, { label: 'kWh' }],
  });

  return (
    <section class="card" aria-labelledby="energy-title">
      <h2 id="energy-title">Energy per day</h2>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {data && <p>{total.toFixed(3)} kWh in the last 30 days</p>}
      {data && data[0].length > 0 && (
        <UPlotBox
          version={props.deviceId}
          data={data}
          options={options}
          label={`Energy per day, ${total.toFixed(3)} kWh in 30 days`}
        />
      )}
    </section>
  );
}
