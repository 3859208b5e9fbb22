/**
 * bench/plug: Hearth plugs end to end through the real hub process.
 *
 *   1. pair N plugs (default 50): discovered over multicast DNS, paired through the API;
 *   2. command round trip: `POST /api/v1/devices/:id/commands` → signed MQTT command → the
 *      plug's relay → its state message → the `device.state` event on the events WebSocket,
 *      one command at a time, round-robin over the plugs, values alternating so every command
 *      changes state → p50/p99/max (target p99 < 20 ms on loopback);
 *   3. telemetry: every plug publishes one reading per second (4 values) for a window → samples
 *      per second seen on the events WebSocket, hub CPU % (/proc/PID/stat) and RSS.
 *
 * The plugs are the C simulator (scripts/plug-sim) when it exists, else the TypeScript fake plug
 * of the hub's unit tests announced with ciao (`plugs` in the figures says which).
 * Everything multicasts, so the bench runs inside a loopback-only network namespace: without
 * HEARTH_NETNS it re-runs itself under scripts/netns-run and reports the inner figures.
 *
 * Options: --plugs=N (50) --commands=N (500) --window=S (20)
 * HEARTH_PLUG_SIM=PATH runs another build of the simulator (experiments).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { reexecInNetns } from './lib/netns.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description = 'Hearth plugs: command round trip through the hub (p50/p99) and telemetry load (CPU, RSS)';

/** Two plugs, 10 commands, a 1 s telemetry window. */
export const smoke: BenchSmoke = {
  args: ['--plugs=2', '--commands=10', '--window=1'],
  keys: ['pairMsEach', 'roundTripP99Ms', 'telemetrySamplesPerS', 'hubRssMiB'],
};

const TARGET_P99_MS = 20;
/** 1-minute load average of the machine before the bench: figures from a busy machine say so. */
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  if (!process.env.HEARTH_NETNS) return reexecInNetns(ctx, 'plug');
  const { values } = parseArgs({
    args: ctx.args,
    options: { plugs: { type: 'string' }, commands: { type: 'string' }, window: { type: 'string' } },
    strict: false,
  });
  const plugCount = Number(values.plugs ?? 50);
  const commandCount = Number(values.commands ?? 500);
  const windowS = Number(values.window ?? 20);

  // Imported here so the outer (re-exec) run does not load the hub's test code.
  const { startHub } = await import('../hub/test/helpers/hub-process.ts');
  const { api, setupOwner } = await import('../hub/test/helpers/http.ts');
  const { openEvents, waitFor, HAVE_SIM, startSim } = await import('../hub/test/plug-e2e/helpers.ts');

  const tmp = mkdtempSync(join(tmpdir(), 'hearth-bench-plug-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  const figures: Record<string, unknown> = {
    plugs: HAVE_SIM ? 'c-sim' : 'ts-fake',
    loadAvgBefore: loadAverage(),
    cpus: availableParallelism(),
    plugCount,
    commands: commandCount,
    windowS,
    targetP99Ms: TARGET_P99_MS,
  };
  try {
    const hub = await startHub(join(tmp, 'hub'), ['--mdns', 'lo']);
    cleanups.unshift(() => hub.stop());
    const token = await setupOwner(hub);
    const pid = hub.proc.pid!;

    // ---- plugs ----------------------------------------------------------------------------
    const ids = Array.from({ length: plugCount }, (_, i) => `plug-${(0xbe0000000000 + i).toString(16)}`);
    const code = (i: number) => String(10_000_000 + i * 7919).slice(0, 8);
    const started = performance.now();
    if (HAVE_SIM) {
      const sims = await Promise.all(
        ids.map((id, i) => startSim({ id, setupCode: code(i), stateDir: join(tmp, 'sims', id), loadWatts: 60 })),
      );
      cleanups.unshift(() => Promise.all(sims.map((s) => s.stop())));
    } else {
      const { FakePlug } = await import('../hub/test/plugs/fake-plug.ts');
      const ciao = (await import('@homebridge/ciao')).default;
      const responder = ciao.getResponder({ interface: 'lo' });
      const fakes = await Promise.all(ids.map((id, i) => new FakePlug({ id, setupCode: code(i) }).start()));
      cleanups.unshift(async () => {
        await responder.shutdown();
        for (const f of fakes) await f.stop();
      });
      await Promise.all(
        fakes.map((f) =>
          responder.createService({ name: f.id, type: 'hearth-plug', port: f.port, txt: f.sighting().txt }).advertise(),
        ),
      );
      for (const f of fakes) f.startTelemetry(1000, 60);
    }
    await waitFor(
      async () => {
        const list = (await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[];
        return list.length >= plugCount ? true : undefined;
      },
      `${plugCount} plugs discovered`,
      60_000,
    );
    figures.discoverS = round((performance.now() - started) / 1000, 1);
    ctx.log(`${plugCount} plugs discovered in ${figures.discoverS} s`);

    const pairStarted = performance.now();
    for (const [i, id] of ids.entries()) {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${id}/pair`, {
        token,
        body: { setupCode: code(i), name: `Plug ${i}` },
      });
      if (res.status !== 201) throw new Error(`pairing ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    figures.pairMsEach = round((performance.now() - pairStarted) / plugCount, 1);
    ctx.log(`paired ${plugCount} plugs, ${figures.pairMsEach} ms each`);

    // ---- command round trip ------------------------------------------------------------------
    const events = await openEvents(hub.baseUrl, token);
    cleanups.unshift(() => events.close());
    const waiting = new Map<string, { value: boolean; resolve: () => void }>();
    let samples = 0;
    events.onEvent((e) => {
      if (e.type === 'telemetry.sample') samples++;
      if (e.type !== 'device.state' || e.capability !== 'switch') return;
      const w = waiting.get(e.deviceId);
      if (w && w.value === e.value) {
        waiting.delete(e.deviceId);
        w.resolve();
      }
    });
    const state = new Map<string, boolean>();
    for (const id of ids)
      state.set(id, (await api(hub.baseUrl, 'GET', `/api/v1/devices/${id}`, { token })).body.state.switch === true);
    const cmdCpu0 = cpuTicks(pid);
    const latencies: number[] = [];
    const apiLatencies: number[] = [];
    let failures = 0;
    for (let n = 0; n < commandCount + 20; n++) {
      const id = ids[n % ids.length]!;
      const value = !state.get(id);
      const seen = new Promise<void>((resolve) => waiting.set(id, { value, resolve }));
      const t0 = performance.now();
      const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, {
        token,
        body: { capability: 'switch', value },
      });
      const tApi = performance.now();
      if (res.status !== 200) {
        failures++;
        waiting.delete(id);
        continue;
      }
      await seen;
      const t1 = performance.now();
      state.set(id, value);
      if (n >= 20) {
        // the first 20 warm up the JIT and connections
        latencies.push(t1 - t0);
        apiLatencies.push(tApi - t0);
      }
    }
    const cmdCpuMs = (cpuTicks(pid) - cmdCpu0) * 10; // USER_HZ 100: one tick is 10 ms
    Object.assign(figures, {
      hubCpuMsPerCommand: round(cmdCpuMs / (commandCount + 20), 2),
      roundTripP50Ms: round(pct(latencies, 50), 2),
      roundTripP99Ms: round(pct(latencies, 99), 2),
      roundTripMaxMs: round(Math.max(...latencies), 2),
      apiP50Ms: round(pct(apiLatencies, 50), 2),
      apiP99Ms: round(pct(apiLatencies, 99), 2),
      commandFailures: failures,
      p99MeetsTarget: pct(latencies, 99) < TARGET_P99_MS,
    });
    ctx.log(
      `round trip API → relay → state event: p50 ${figures.roundTripP50Ms} ms, p99 ` +
        `${figures.roundTripP99Ms} ms, max ${figures.roundTripMaxMs} ms (${latencies.length} ` +
        `commands, ${failures} failed)`,
    );

    // ---- telemetry load ------------------------------------------------------------------------
    const cpu0 = cpuTicks(pid);
    const s0 = samples;
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const elapsedS = (performance.now() - w0) / 1000;
    const cpuPct = ((cpuTicks(pid) - cpu0) / 100 / elapsedS) * 100; // USER_HZ is 100 on Linux
    Object.assign(figures, {
      telemetrySamplesPerS: round((samples - s0) / elapsedS, 1),
      expectedSamplesPerS: plugCount * 4,
      hubCpuPct: round(cpuPct, 1),
      hubRssMiB: round(rssKiB(pid) / 1024, 1),
    });
    ctx.log(
      `telemetry: ${figures.telemetrySamplesPerS} samples/s (expected ` +
        `${figures.expectedSamplesPerS}), hub CPU ${figures.hubCpuPct} %, RSS ${figures.hubRssMiB} ` +
        `MiB`,
    );
    return figures;
  } catch (err) {
    (err as Error & { figures?: Record<string, unknown> }).figures = figures;
    throw err;
  } finally {
    for (const c of cleanups) {
      try {
        await c();
      } catch {
        // best effort
      }
    }
  }
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
