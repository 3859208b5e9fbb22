import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE`, then `name{labels} value` lines.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export class MetricsText {
  #lines: string[] = [];

  add(
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: number | [Record<string, string>, number][],
  ): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    const list = typeof samples === 'number' ? [[{}, samples] as [Record<string, string>, number]] : samples;
    for (const [labels, value] of list) this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}

/** `messagesIn` → `messages_in`, safe as a metric name part. */
export function metricName(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

/** What the API itself measures between scrapes: responses by status and event loop delay. */
export class ApiMetrics {
  readonly responses = new Map<number, number>();
  readonly #loop: ReturnType<typeof monitorEventLoopDelay>;

  constructor() {
    // 20 ms resolution is plenty to see a blocked loop and costs nothing measurable.
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
  }

  countResponse(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  /** Event loop delay since the previous scrape, in seconds; then starts a new window. */
  takeLoopDelay(): { mean: number; p99: number; max: number } {
    const h = this.#loop;
    const result =
      h.count > 0 ? { mean: h.mean / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 } : { mean: 0, p99: 0, max: 0 };
    h.reset();
    return result;
  }

  close(): void {
    this.#loop.disable();
  }
}
