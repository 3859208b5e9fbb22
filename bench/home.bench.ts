/**
 * bench/home: a reference home measured as one (issue 21, first slice): the real hub process with
 * everything a plug home runs at once, for `--minutes`, inside a loopback-only network namespace
 * (the bench re-runs itself under scripts/netns-run, as bench/plug and bench/writes do).
 *
 * The home:
 * - N C plug simulators (`--plugs`, 50; scripts/plug-sim, their default 1 s telemetry), paired
 *   through mDNS and the API, all switched on first so their power readings move (±2 % noise);
 * - "people": the first min(10, N) plugs are switched through the API, one command every
 *   `--command-every` seconds (3), round-robin, values alternating (the command round trip);
 * - `--rules` rules (200) of mixed kinds (see `buildRules`): state triggers on the switched plugs
 *   (command a follower plug), numeric triggers on their power crossing 30 W (notify), a few
 *   hair-trigger numeric rules on followers' noisy power, cron every minute, time-of-day triggers
 *   inside the run, and the rest armed but quiet (overload alarms, "a follower went off") as in a
 *   real home most rules wait; a third carry conditions;
 * - 3 events-stream WebSocket clients (the web UI), one integration MQTT user subscribed to `#`.
 *
 * Measured over the run after `--warmup` seconds (60):
 * - hub RSS: sampled every 2 s; steady = median of the second half, peak = the largest sample and
 *   VmHWM (the kernel's high-water mark since start, pairing included);
 * - hub CPU % of one core (utime+stime of all its threads / wall time; the plug simulators and
 *   this process are not counted);
 * - event-loop delay: the hub's own /metrics (`nodejs_eventloop_lag_seconds`, a
 *   monitorEventLoopDelay histogram reset at each scrape), scraped every 10 s: the worst and the
 *   median of the per-scrape p99s;
 * - command round trip: POST /devices/:id/commands → the plug's confirmed state on the events
 *   stream, p50/p99 (and the API's own answer time);
 * - sensor report → events stream: for each plug's power reading, from the moment the broker
 *   delivered its telemetry message to the integration subscriber (`#`) to the moment the events
 *   stream delivered the `telemetry.sample`: the hub's path from the broker to the UI (the plug's
 *   messages carry no send time; both ends are seen by this process, same clock);
 * - rules fired per minute (`rule.fired` on the events stream);
 * - bytes written per day: /proc/PID/io write_bytes of the hub, split by file as bench/writes does
 *   (WAL frames read from outside, checkpoints estimated, logs as printed, the rest), WAL frames by
 *   table; database growth per day (database + WAL files, and the whole data dir).
 *
 * The peer (`--peer=mosquitto`, the default; `none` to skip): Mosquitto carrying the same MQTT
 * traffic in the same run. Every message the integration user sees on the hub is republished into
 * Mosquitto by a client holding that plug's own credential (so Mosquitto has N device connections
 * publishing the same topics, payloads, QoS and retain flags, ACL per device, persistence on) and
 * a `#` subscriber there. Its RSS, CPU and write_bytes give the ratio "the whole hub ÷ a bare broker
 * moving the same messages": what the home costs beyond MQTT transport. It is not a like-for-like
 * product comparison (Mosquitto stores no history, runs no rules, serves no UI); the peer
 * for the Zigbee part (Mosquitto + Zigbee2MQTT) comes with the Zigbee slice. The write figures are
 * also given against issue 13's floor (packed history), as bench/writes does.
 *
 * `--pi` runs the hub process in a Pi-sized cgroup (bench/lib/cgroup.ts): `--pi-cpu` cores of this
 * machine (0.25, see PI_CPU_CORES) and `--pi-memory` MiB (1024; 512 as on a Zero 2 W); the
 * figures then add OOM kills, the group's memory peak, the time the quota held the hub back and
 * the commands missed.
 *
 * Not in this slice: Zigbee devices (the Z-Stack emulator, hub/test/helpers/zstack-*.ts), cameras
 * (hub/test/helpers/rtsp-camera.ts), the relay, fault injection, the soak (`--minutes` can be
 * long; nothing else changes).
 *
 * Options: --plugs=N (50) --rules=N (200) --minutes=M (10) --warmup=S (60) --command-every=S (3)
 *          --peer=mosquitto|none --pi [--pi-cpu=0.25] [--pi-memory=1024] --config=FILE (a hub config file)
 *          --smoke (3 plugs, 24 rules, a few seconds; figures meaningless)
 */
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { reexecInNetns } from './lib/netns.ts';
import { confine, type Confinement } from './lib/cgroup.ts';
import { cpuSeconds, rssKiB } from './lib/proc.ts';
import { percentile, ratio, round } from './lib/stats.ts';
import { fileSizes, pageOwners, partOf, procIo, snapshot } from './writes.bench.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'A reference home as one: hub + 50 C plugs at 1 s, 200 rules, 3 UI streams, an MQTT ' +
  'integration; RSS, CPU, loop delay, latencies, bytes/day; Mosquitto carrying the same MQTT ' +
  'traffic as the peer';

export const smoke: BenchSmoke = {
  args: ['--smoke'],
  keys: [
    'hubRssMiB.steady',
    'hubRssMiB.peak',
    'hubCpuPct',
    'eventLoopDelayMs.p99Worst',
    'commandRoundTripMs.p50',
    'commandRoundTripMs.p99',
    'sensorToEventsMs.p99',
    'rulesFiredPerMin',
    'writes.mbPerDay',
    'dbGrowthMbPerDay',
    'integrationMsgsPerS',
  ],
};

/**
 * `--pi`: the hub under a CPU quota of this many of this machine's cores. A Raspberry Pi 4 core
 * (Cortex-A72, 1.5 GHz) is taken as a quarter of one here: an assumption, not a calibration (that
 * needs one CPU benchmark run on both machines). The hub's work is mostly one thread (the event
 * loop), so the quota stands for one Pi core, not four.
 */
const PI_CPU_CORES = 0.25;
const PI_ASSUMPTION =
  "one Pi 4 core taken as 0.25 of one of this machine's cores (assumed, not calibrated); the quota covers all the hub's threads";
const TARGETS = { rssSteadyMiB: 150, cpuPct: 10, commandP99Ms: 50, mbPerDay: 100 };
/** Packed history per plug per day (issue 13: 6.3 MB per plug-year), as bench/writes. */
const FLOOR_BYTES_PER_PLUG_DAY = 6.3e6 / 365;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rule {
  name: string;
  mode: string;
  triggers: Record<string, unknown>[];
  conditions: Record<string, unknown>[];
  actions: Record<string, unknown>[];
}

/**
 * `count` rules over the plugs. `people` are switched by the bench; the others ("followers")
 * stay on. Nothing a rule does triggers a rule that commands a switched plug, so no loops.
 */
export function buildRules(
  count: number,
  people: string[],
  followers: string[],
  watts: (id: string) => number,
  startMs: number,
  runS: number,
): Rule[] {
  const rules: Rule[] = [];
  const pick = <T>(list: T[], i: number): T => list[i % list.length]!;
  const hhmmss = (ms: number) => new Date(ms).toTimeString().slice(0, 8); // local time, as the rules engine reads it
  const always = { type: 'time', after: '00:00', before: '23:59:59' };
  const targets = followers.length ? followers : people;
  let timeRules = 0;
  for (let i = 0; i < count; i++) {
    const kind = i % 10;
    const person = pick(people, i);
    const follower = pick(targets, i);
    const conditions = i % 3 === 0 ? [always] : [];
    let rule: Rule;
    if (kind <= 1) {
      // A person switched a plug: a follower comes along (fires on about every switch).
      rule = {
        name: `follow ${i}`,
        mode: 'single',
        triggers: [{ type: 'state', device: person, capability: 'switch', to: kind === 0 }],
        conditions,
        actions: [{ type: 'command', device: follower, capability: 'switch', value: true }],
      };
    } else if (kind <= 3) {
      // Its power crossed 30 W (on / off): a notification (audit log and events stream).
      const t = kind === 2 ? { above: 30 } : { below: 30 };
      rule = {
        name: `power ${i}`,
        mode: 'single',
        triggers: [{ type: 'numeric', device: person, capability: 'power', ...t }],
        conditions,
        actions: [{ type: 'notify', message: `plug ${person} power ${kind === 2 ? 'up' : 'down'}` }],
      };
    } else if (kind === 4 && i % 40 === 4) {
      // A hair trigger on a follower's noisy power (crosses its nominal load every few seconds).
      rule = {
        name: `jittery ${i}`,
        mode: 'single',
        triggers: [{ type: 'numeric', device: follower, capability: 'power', above: watts(follower) }],
        conditions,
        actions: [{ type: 'notify', message: `plug ${follower} above nominal` }],
      };
    } else if (kind === 9 && i % 20 === 19 && i < 100) {
      rule = {
        name: `every minute ${i}`,
        mode: 'single',
        triggers: [{ type: 'cron', cron: '* * * * *' }],
        conditions,
        actions: [{ type: 'command', device: follower, capability: 'switch', value: true }],
      };
    } else if (kind === 9 && i % 20 === 9 && timeRules < 8) {
      // Time of day inside the run (spread over it), as "at 18:30" would be.
      const at = startMs + 30_000 + ((timeRules++ * 37_000) % Math.max(1000, runS * 1000));
      rule = {
        name: `at ${i}`,
        mode: 'single',
        triggers: [{ type: 'time', at: hhmmss(at) }],
        conditions,
        actions: [{ type: 'notify', message: 'scheduled' }],
      };
    } else if (kind === 9) {
      rule = {
        name: `night ${i}`,
        mode: 'single',
        triggers: [{ type: 'time', at: '03:00' }],
        conditions,
        actions: [{ type: 'command', device: follower, capability: 'switch', value: false }],
      };
    } else if (kind === 4 || kind === 5) {
      // Overload alarms: armed, quiet.
      rule = {
        name: `overload ${i}`,
        mode: 'single',
        triggers: [{ type: 'numeric', device: follower, capability: 'power', above: watts(follower) * 3 }],
        conditions,
        actions: [{ type: 'notify', message: `overload on ${follower}`, level: 'alert' }],
      };
    } else if (kind === 6 || kind === 7) {
      rule = {
        name: `went off ${i}`,
        mode: 'single',
        triggers: [{ type: 'state', device: follower, capability: 'switch', to: false }],
        conditions,
        actions: [{ type: 'notify', message: `${follower} went off`, level: 'warning' }],
      };
    } else {
      rule = {
        name: `idle draw ${i}`,
        mode: 'single',
        triggers: [{ type: 'numeric', device: follower, capability: 'power', below: 1, for: '30s' }],
        conditions,
        actions: [{ type: 'command', device: follower, capability: 'switch', value: true }],
      };
    }
    rules.push(rule);
  }
  return rules;
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  if (!process.env.HEARTH_NETNS) return reexecInNetns(ctx, 'home');
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      plugs: { type: 'string' },
      rules: { type: 'string' },
      minutes: { type: 'string' },
      warmup: { type: 'string' },
      'command-every': { type: 'string' },
      peer: { type: 'string' },
      smoke: { type: 'boolean' },
      pi: { type: 'boolean' },
      'pi-cpu': { type: 'string' },
      'pi-memory': { type: 'string' },
      config: { type: 'string' },
    },
    strict: false,
  });
  const smokeRun = values.smoke === true || ctx.smoke;
  const plugCount = Number(values.plugs ?? (smokeRun ? 3 : 50));
  const ruleCount = Number(values.rules ?? (smokeRun ? 24 : 200));
  const runS = Number(values.minutes ?? (smokeRun ? 0.15 : 10)) * 60;
  const warmupS = Number(values.warmup ?? (smokeRun ? 2 : 60));
  const commandEveryS = Number(values['command-every'] ?? (smokeRun ? 0.5 : 3));
  const peer = String(values.peer ?? 'mosquitto');
  const pi =
    values.pi === true
      ? { cpuCores: Number(values['pi-cpu'] ?? PI_CPU_CORES), memoryMiB: Number(values['pi-memory'] ?? 1024) }
      : undefined;

  const { plainIntegrationsArgs, startHub } = await import('../hub/test/helpers/hub-process.ts');
  const { api, setupOwner } = await import('../hub/test/helpers/http.ts');
  const { openEvents, waitFor, HAVE_SIM, startSim } = await import('../hub/test/plug-e2e/helpers.ts');
  const { WalFrames } = await import('../hub/test/helpers/wal-frames.ts');
  if (!HAVE_SIM) throw new Error('scripts/plug-sim is missing: this bench needs the C plug simulator');

  // On a disk-backed file system (tmpfs writes never reach a block device).
  const tmp = mkdtempSync(join(process.env.HEARTH_BENCH_TMP ?? tmpdir(), 'hearth-bench-home-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  const figures: Record<string, unknown> = {
    plugCount,
    ruleCount,
    minutes: round(runS / 60, 2),
    warmupS,
    commandEveryS,
    smoke: smokeRun,
    cpus: availableParallelism(),
    loadAvgBefore: loadAverage(),
  };
  try {
    const dataDir = join(tmp, 'hub');
    // The bench's integration subscribes on 1883: opted in (a new home starts with it off), on top
    // of the --config file given, if any.
    const extra = typeof values.config === 'string' ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
    const hub = await startHub(dataDir, ['--mdns', 'lo', ...plainIntegrationsArgs(tmp, extra)]);
    cleanups.unshift(() => hub.stop());
    let box: Confinement | undefined;
    if (pi) {
      // The hub alone goes in the box (the plugs and this process are not on the Pi); it is
      // removed after the hub stopped.
      box = confine(hub.proc.pid!, { ...pi, name: `hearth-bench-home-${process.pid}` });
      const release = box.release;
      cleanups.splice(1, 0, () => release());
      figures.pi = { cgroup: box.kind, ...pi, assumption: PI_ASSUMPTION };
      ctx.log(`hub confined (cgroup ${box.kind}): ${pi.cpuCores} of one of this machine's cores, ${pi.memoryMiB} MiB`);
    }
    let logBytes = 0;
    hub.proc.stdout!.on('data', (d: Buffer) => {
      logBytes += d.length;
    });
    const token = await setupOwner(hub);
    const pid = hub.proc.pid!;

    // ---- plugs ----------------------------------------------------------------------------------
    const ids = Array.from({ length: plugCount }, (_, i) => `plug-${(0xbe2000000000 + i).toString(16)}`);
    const wattsOf = new Map(ids.map((id, i) => [id, 40 + (i % 30) * 5]));
    const code = (i: number) => String(10_000_000 + i * 7919).slice(0, 8);
    const sims = await Promise.all(
      ids.map((id, i) =>
        startSim({ id, setupCode: code(i), stateDir: join(tmp, 'sims', id), loadWatts: wattsOf.get(id)! }),
      ),
    );
    cleanups.unshift(() => Promise.all(sims.map((s) => s.stop())));
    // The probe: one more plug, played in this process (the hub's test FakePlug, same protocol),
    // whose readings carry a unique power value, so each report's send time is known.
    const { FakePlug } = await import('../hub/test/plugs/fake-plug.ts');
    const ciao = (await import('@homebridge/ciao')).default;
    const responder = ciao.getResponder({ interface: 'lo' });
    const probe = await new FakePlug({ id: 'plug-be20ffffffff', setupCode: '87654321' }).start();
    cleanups.unshift(async () => {
      await responder.shutdown();
      await probe.stop();
    });
    await responder
      .createService({ name: probe.id, type: 'hearth-plug', port: probe.port, txt: probe.sighting().txt })
      .advertise();
    await waitFor(
      async () => {
        const list = (await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[];
        return list.length >= plugCount + 1 ? true : undefined;
      },
      `${plugCount + 1} plugs discovered`,
      180_000,
    );
    for (const [i, id] of ids.entries()) {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${id}/pair`, {
        token,
        body: { setupCode: code(i), name: `Plug ${i}` },
      });
      if (res.status !== 201) throw new Error(`pairing ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const paired = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${probe.id}/pair`, {
      token,
      body: { setupCode: probe.setupCode, name: 'Probe' },
    });
    if (paired.status !== 201)
      throw new Error(`pairing the probe failed: ${paired.status} ${JSON.stringify(paired.body)}`);
    await waitFor(() => (probe.client?.connected ? true : undefined), 'the probe plug on MQTT', 30_000);
    ctx.log(`paired ${plugCount} plugs and the probe`);

    // ---- three UI clients on the events stream --------------------------------------------------
    const streams = await Promise.all([0, 1, 2].map(() => openEvents(hub.baseUrl, token)));
    for (const s of streams) cleanups.unshift(() => s.close());
    const ui = streams[0]!;
    let streamEvents = 0;
    for (const s of streams)
      s.onEvent(() => {
        streamEvents++;
      });

    // Everything on: power readings then move around each plug's load.
    const onState = new Map<string, boolean>();
    for (const id of ids) {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, {
        token,
        body: { capability: 'switch', value: true },
      });
      if (res.status !== 200) throw new Error(`switching ${id} on failed: ${res.status} ${JSON.stringify(res.body)}`);
      onState.set(id, true);
    }

    // ---- the integration user on `#`, and the peer ---------------------------------------------
    const integ = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'bench-integration', scope: 'read', topics: ['#'] },
    });
    if (integ.status !== 201)
      throw new Error(`integration user refused: ${integ.status} ${JSON.stringify(integ.body)}`);
    const integration = mqtt.connect(`mqtt://127.0.0.1:${hub.mqtt}`, {
      username: 'bench-integration',
      password: integ.body.password as string,
      clientId: 'bench-integration',
      reconnectPeriod: 0,
    });
    cleanups.unshift(() => integration.end(true));
    await new Promise<void>((resolve, reject) => {
      integration.once('connect', () => resolve());
      integration.once('error', reject);
    });
    await integration.subscribeAsync('#', { qos: 1 });
    let integrationMsgs = 0;
    const mirror = peer === 'mosquitto' ? await startPeer(ids, cleanups) : undefined;
    integration.on('message', (topic, payload, packet) => {
      integrationMsgs++;
      const m = /^hearth\/([^/]+)\//.exec(topic);
      mirror?.publish(m?.[1], topic, payload, packet.qos as 0 | 1 | 2, packet.retain);
    });
    // The probe reports once a second, like the plugs, each power value unique: its send time
    // (just before the PUBLISH is written) → its telemetry.sample on the first UI stream.
    const sensorToEvents: number[] = [];
    const probeSent = new Map<number, number>();
    let measuring = false;
    let probeSeq = 0;
    const probeTimer = setInterval(() => {
      if (!probe.client?.connected) return;
      const power = 1000 + (probeSeq++ % 100_000) / 100;
      probeSent.set(power, performance.now());
      void probe.publishTelemetry({ power, voltage: 230, current: 4.5, energy: 1 });
    }, 1000);
    cleanups.unshift(() => clearInterval(probeTimer));
    ui.onEvent((e) => {
      if (e.type !== 'telemetry.sample' || e.capability !== 'power' || e.deviceId !== probe.id) return;
      const t = probeSent.get(e.value);
      probeSent.delete(e.value);
      if (t !== undefined && measuring) sensorToEvents.push(performance.now() - t);
    });

    // ---- rules ----------------------------------------------------------------------------------
    // A fifth of the plugs (at most 10) are switched by people; the rest follow or just run.
    const people = ids.slice(0, Math.max(1, Math.min(10, Math.floor(plugCount / 5))));
    const followers = ids.slice(people.length);
    const rules = buildRules(ruleCount, people, followers, (id) => wattsOf.get(id)!, Date.now() + warmupS * 1000, runS);
    for (const rule of rules) {
      const res = await api(hub.baseUrl, 'POST', '/api/v1/rules', { token, body: rule });
      if (res.status !== 201) throw new Error(`rule "${rule.name}" refused: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const kinds: Record<string, number> = {};
    for (const r of rules) {
      const k = r.name.split(' ').slice(0, -1).join(' ');
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    figures.ruleKinds = kinds;
    ctx.log(`${rules.length} rules: ${JSON.stringify(kinds)}`);
    let fired = 0;
    ui.onEvent((e) => {
      if (e.type === 'rule.fired') fired++;
    });

    // ---- people switching plugs: the command round trip -----------------------------------------
    const roundTrips: number[] = [];
    const apiAnswers: number[] = [];
    let commandFailures = 0;
    let n = 0;
    let stopped = false;
    const waiting = new Map<string, { value: boolean; resolve: () => void }>();
    ui.onEvent((e) => {
      if (e.type !== 'device.state' || e.capability !== 'switch') return;
      const w = waiting.get(e.deviceId);
      if (w && w.value === e.value) {
        waiting.delete(e.deviceId);
        w.resolve();
      }
    });
    const commander = (async () => {
      while (!stopped) {
        const id = people[n++ % people.length]!;
        const value = !onState.get(id);
        const seen = new Promise<void>((resolve) => waiting.set(id, { value, resolve }));
        const t0 = performance.now();
        const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, {
          token,
          body: { capability: 'switch', value },
        }).catch(() => ({ status: 0 }));
        const tApi = performance.now();
        if (res.status !== 200) {
          commandFailures++;
          waiting.delete(id);
        } else {
          const ok = await Promise.race([seen.then(() => true), sleep(10_000).then(() => false)]);
          if (!ok) {
            commandFailures++;
            waiting.delete(id);
          }
          onState.set(id, value);
          if (ok && measuring) {
            roundTrips.push(performance.now() - t0);
            apiAnswers.push(tApi - t0);
          }
        }
        await sleep(Math.max(0, commandEveryS * 1000 - (performance.now() - t0)));
      }
    })();
    cleanups.unshift(async () => {
      stopped = true;
      await commander;
    });

    // ---- samplers ---------------------------------------------------------------------------------
    const wal = new WalFrames(join(dataDir, 'hearth.db-wal'));
    const rss: number[] = [];
    const loopP99: number[] = [];
    const loopMax: number[] = [];
    const peerRss: number[] = [];
    const walPoller = setInterval(() => wal.poll(), 250);
    cleanups.unshift(() => clearInterval(walPoller));
    const rssTimer = setInterval(
      () => {
        if (!measuring) return;
        try {
          rss.push(rssKiB(pid) / 1024);
          if (mirror) peerRss.push(rssKiB(mirror.pid) / 1024);
        } catch {
          /* exited */
        }
      },
      smokeRun ? 500 : 2000,
    );
    cleanups.unshift(() => clearInterval(rssTimer));
    /** The V8 heap at the last scrape (the hub's /metrics): how much of the RSS is JavaScript objects. */
    let lastHeap = { usedMiB: NaN, totalMiB: NaN };
    const scrape = async () => {
      const res = await api(hub.baseUrl, 'GET', '/metrics', { token });
      const text = String(res.body);
      const get = (stat: string) =>
        Number(new RegExp(`^nodejs_eventloop_lag_seconds\\{stat="${stat}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) *
        1000;
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
      lastHeap = { usedMiB: gauge('nodejs_heap_used_bytes'), totalMiB: gauge('nodejs_heap_total_bytes') };
      return { p99: get('p99'), max: get('max') };
    };

    ctx.log(`warm-up ${warmupS} s`);
    await sleep(warmupS * 1000);
    await scrape(); // starts the hub's loop-delay window
    wal.poll();
    const w0 = {
      io: procIo(pid),
      cpu: cpuSeconds(pid),
      wal: snapshot(wal),
      logs: logBytes,
      fired,
      integrationMsgs,
      streamEvents,
      at: performance.now(),
      files: fileSizes(dataDir),
      db: dbBytes(dataDir),
      peer: mirror
        ? { io: procIoSafe(mirror.pid), cpu: cpuSeconds(mirror.pid), published: mirror.published }
        : undefined,
    };
    const byPage0 = new Map(wal.framesByPage);
    measuring = true;
    ctx.log(`measuring ${round(runS / 60, 2)} min`);
    const scrapeEveryMs = smokeRun ? 2000 : 10_000;
    const until = performance.now() + runS * 1000;
    while (performance.now() < until) {
      await sleep(Math.min(scrapeEveryMs, until - performance.now()));
      const s = await scrape();
      if (Number.isFinite(s.p99)) {
        loopP99.push(s.p99);
        loopMax.push(s.max);
      }
    }
    measuring = false;
    wal.poll();
    const elapsedS = (performance.now() - w0.at) / 1000;
    const io = procIo(pid);
    const cpu = cpuSeconds(pid);
    const w1 = { wal: snapshot(wal), files: fileSizes(dataDir), db: dbBytes(dataDir) };
    const perDay = (bytes: number) => (bytes / elapsedS) * 86_400;
    const mb = (bytes: number) => round(bytes / 1e6, 2);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwmMiB = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;

    // RSS: steady is the median of the second half of the samples.
    const sortedHalf = rss.slice(Math.floor(rss.length / 2)).sort((a, b) => a - b);
    const rssSteady = percentile(sortedHalf, 0.5);
    const rssPeak = Math.max(...rss);
    const hubCpuPct = ((cpu - w0.cpu) / elapsedS) * 100;
    const rt = [...roundTrips].sort((a, b) => a - b);
    const ans = [...apiAnswers].sort((a, b) => a - b);
    const s2e = [...sensorToEvents].sort((a, b) => a - b);
    const loopSorted = [...loopP99].sort((a, b) => a - b);

    const writeBytes = io.write_bytes - w0.io.write_bytes;
    const walBytes = w1.wal.bytes - w0.wal.bytes;
    const checkpointBytes = w1.wal.checkpointBytes - w0.wal.checkpointBytes;
    const frames = w1.wal.frames - w0.wal.frames;
    const framesByPart: Record<string, number> = {};
    const framesByTable: Record<string, number> = {};
    const owners = pageOwners(join(dataDir, 'hearth.db'));
    for (const [page, count] of wal.framesByPage) {
      const d = count - (byPage0.get(page) ?? 0);
      if (d <= 0) continue;
      const table = owners.get(page) ?? (page === 1 ? 'sqlite_schema' : 'freelist/new');
      framesByTable[table] = (framesByTable[table] ?? 0) + d;
      framesByPart[partOf(table)] = (framesByPart[partOf(table)] ?? 0) + d;
    }
    const share = (v: number) => round((v / Math.max(1, frames)) * 100, 1);
    const floorPerDay = plugCount * FLOOR_BYTES_PER_PLUG_DAY;
    const hubMbPerDay = perDay(writeBytes) / 1e6;

    Object.assign(figures, {
      elapsedS: round(elapsedS, 1),
      hubRssMiB: {
        steady: round(rssSteady, 1),
        peak: round(rssPeak, 1),
        vmHwm: round(hwmMiB, 1),
        samples: rss.length,
        heapUsedAtEnd: round(lastHeap.usedMiB, 1),
        heapTotalAtEnd: round(lastHeap.totalMiB, 1),
      },
      hubCpuPct: round(hubCpuPct, 1),
      eventLoopDelayMs: {
        p99Worst: loopSorted.length ? round(loopSorted.at(-1)!, 1) : null,
        p99Median: loopSorted.length ? round(percentile(loopSorted, 0.5), 1) : null,
        maxWorst: loopMax.length ? round(Math.max(...loopMax), 1) : null,
        scrapes: loopSorted.length,
        source: 'hub /metrics nodejs_eventloop_lag_seconds (monitorEventLoopDelay, 20 ms resolution)',
      },
      commandRoundTripMs: {
        p50: rt.length ? round(percentile(rt, 0.5), 1) : null,
        p99: rt.length ? round(percentile(rt, 0.99), 1) : null,
        max: rt.length ? round(rt.at(-1)!, 1) : null,
        apiAnswerP50: ans.length ? round(percentile(ans, 0.5), 1) : null,
        apiAnswerP99: ans.length ? round(percentile(ans, 0.99), 1) : null,
        commands: rt.length,
        failures: commandFailures,
      },
      sensorToEventsMs: {
        p50: s2e.length ? round(percentile(s2e, 0.5), 1) : null,
        p99: s2e.length ? round(percentile(s2e, 0.99), 1) : null,
        max: s2e.length ? round(s2e.at(-1)!, 1) : null,
        samples: s2e.length,
      },
      rulesFiredPerMin: round(((fired - w0.fired) / elapsedS) * 60, 1),
      integrationMsgsPerS: round((integrationMsgs - w0.integrationMsgs) / elapsedS, 1),
      eventsStreamMsgsPerS: round((streamEvents - w0.streamEvents) / elapsedS / 3, 1),
      writes: {
        mbPerDay: mb(perDay(writeBytes)),
        wcharMbPerDay: mb(perDay(io.wchar - w0.io.wchar)),
        walMbPerDay: mb(perDay(walBytes)),
        checkpointMbPerDay: mb(perDay(checkpointBytes)),
        logMbPerDay: mb(perDay(logBytes - w0.logs)),
        otherMbPerDay: mb(perDay(Math.max(0, writeBytes - walBytes - checkpointBytes))),
        commitsPerMin: round(((w1.wal.commits - w0.wal.commits) / elapsedS) * 60, 1),
        walFramesPctByPart: Object.fromEntries(
          Object.entries(framesByPart)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, share(v)]),
        ),
        walFramesPctByTable: Object.fromEntries(
          Object.entries(framesByTable)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 10)
            .map(([k, v]) => [k, share(v)]),
        ),
        floorMbPerDay: mb(floorPerDay),
        ratioToFloor: round(perDay(writeBytes) / floorPerDay, 1),
      },
      dbGrowthMbPerDay: mb(perDay(w1.db - w0.db)),
      dataDirGrowthMbPerDay: mb(perDay(w1.files.total - w0.files.total)),
      dataDirBytes: w1.files.total,
      loadAvgAfter: loadAverage(),
      targets: TARGETS,
      // Smoke figures (a few seconds, 3 plugs) mean nothing: no target claimed either way.
      targetsMet: smokeRun
        ? null
        : {
            rssSteadyMiB: rssSteady <= TARGETS.rssSteadyMiB,
            cpuPct: hubCpuPct <= TARGETS.cpuPct,
            commandP99Ms: rt.length > 0 && percentile(rt, 0.99) <= TARGETS.commandP99Ms,
            mbPerDay: hubMbPerDay <= TARGETS.mbPerDay * (plugCount / 50),
          },
    });
    if (box) {
      const b = box.stats();
      Object.assign(figures.pi as Record<string, unknown>, {
        oomKills: b.oomKills,
        memoryPeakMiB: b.memoryPeakMiB === null ? null : round(b.memoryPeakMiB, 1),
        throttledS: round(b.throttledS, 1),
        throttledPeriods: b.throttledPeriods,
        missedCommands: commandFailures,
        hubAlive: hub.proc.exitCode === null && hub.proc.signalCode === null,
      });
    }
    if (mirror && w0.peer) {
      const pio = procIoSafe(mirror.pid);
      const pRss = percentile(
        peerRss.slice(Math.floor(peerRss.length / 2)).sort((a, b) => a - b),
        0.5,
      );
      const pCpuPct = ((cpuSeconds(mirror.pid) - w0.peer.cpu) / elapsedS) * 100;
      const pMbPerDay = pio && w0.peer.io ? perDay(pio.write_bytes - w0.peer.io.write_bytes) / 1e6 : null;
      figures.peer = {
        name: `mosquitto ${mirror.version} carrying the same MQTT traffic (${plugCount} device connections republishing, one # subscriber, persistence on)`,
        rssMiBSteady: round(pRss, 1),
        cpuPct: round(pCpuPct, 1),
        mbPerDay: pMbPerDay === null ? null : round(pMbPerDay, 2),
        msgsPerS: round((mirror.published - w0.peer.published) / elapsedS, 1),
        received: mirror.received(),
      };
      figures.ratios = {
        rssHubVsPeer: ratio(rssSteady, pRss),
        cpuHubVsPeer: ratio(hubCpuPct, pCpuPct),
        writesHubVsPeer: ratio(hubMbPerDay, pMbPerDay),
      };
    }
    const r = figures as Record<string, any>;
    ctx.log(
      `hub RSS steady ${r.hubRssMiB.steady} MiB, peak ${r.hubRssMiB.peak} (VmHWM ` +
        `${r.hubRssMiB.vmHwm}; V8 heap ${r.hubRssMiB.heapUsedAtEnd} used of ` +
        `${r.hubRssMiB.heapTotalAtEnd}); CPU ${r.hubCpuPct} % of a core; loop delay p99 worst ` +
        `${r.eventLoopDelayMs.p99Worst} ms, median ${r.eventLoopDelayMs.p99Median} ms`,
    );
    ctx.log(
      `command round trip p50 ${r.commandRoundTripMs.p50} ms, p99 ${r.commandRoundTripMs.p99} ` +
        `ms (${rt.length} commands, ${commandFailures} failed); sensor → events stream p50 ` +
        `${r.sensorToEventsMs.p50} ms, p99 ${r.sensorToEventsMs.p99} ms`,
    );
    ctx.log(
      `rules fired ${r.rulesFiredPerMin}/min; integration ${r.integrationMsgsPerS} msg/s; ` +
        `writes ${r.writes.mbPerDay} MB/day (WAL ${r.writes.walMbPerDay}, checkpoints ~` +
        `${r.writes.checkpointMbPerDay}); WAL by part ` +
        `${JSON.stringify(r.writes.walFramesPctByPart)}; database growth ${r.dbGrowthMbPerDay} ` +
        `MB/day`,
    );
    if (r.peer)
      ctx.log(
        `peer ${r.peer.name}: RSS ${r.peer.rssMiBSteady} MiB, CPU ${r.peer.cpuPct} %, ${r.peer.mbPerDay} MB/day written; ratios ${JSON.stringify(r.ratios)}`,
      );
    ctx.log(
      `load average before ${JSON.stringify(figures.loadAvgBefore)}, after ${JSON.stringify(r.loadAvgAfter)} (${figures.cpus} CPUs)`,
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

/** The database and its WAL, in bytes. */
function dbBytes(dataDir: string): number {
  return ['hearth.db', 'hearth.db-wal'].reduce(
    (sum, f) => sum + (existsSync(join(dataDir, f)) ? statSync(join(dataDir, f)).size : 0),
    0,
  );
}

function procIoSafe(pid: number): { write_bytes: number } | undefined {
  try {
    return procIo(pid);
  } catch {
    return undefined;
  }
}

/**
 * Mosquitto with one connection per plug (its own credential and ACL, as the hub gives them) and
 * a `#` subscriber: `publish` republishes a message the hub's integration user received.
 */
async function startPeer(ids: string[], cleanups: (() => Promise<unknown> | unknown)[]) {
  const { startMosquitto } = await import('./lib/mosquitto.ts');
  const mosq = await startMosquitto({
    deviceIds: ids,
    integration: 'peer-integration',
    maxQueuedMessages: 1000,
    noDelay: true,
  });
  cleanups.unshift(() => mosq.stop());
  const url = `mqtt://127.0.0.1:${mosq.port}`;
  const connect = (username: string, password: string) =>
    new Promise<mqtt.MqttClient>((resolve, reject) => {
      const c = mqtt.connect(url, { username, password, clientId: username, reconnectPeriod: 0 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  const clients = new Map<string, mqtt.MqttClient>();
  for (const d of mosq.devices) clients.set(d.id, await connect(d.username, d.password));
  const other = await connect(mosq.integration.username, mosq.integration.password);
  // The same user under its own client id (one id per connection), as a second integration.
  const subscriber = mqtt.connect(url, {
    username: mosq.integration.username,
    password: mosq.integration.password,
    clientId: 'peer-subscriber',
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    subscriber.once('connect', () => resolve());
    subscriber.once('error', reject);
  });
  await subscriber.subscribeAsync('#', { qos: 1 });
  let received = 0;
  subscriber.on('message', () => {
    received++;
  });
  cleanups.unshift(() => {
    for (const c of [...clients.values(), other, subscriber]) c.end(true);
  });
  const peer = {
    pid: mosq.pid,
    version: mosq.version,
    published: 0,
    received: () => received,
    publish(deviceId: string | undefined, topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean) {
      const c = (deviceId && clients.get(deviceId)) || other;
      peer.published++;
      c.publish(topic, payload, { qos, retain });
    },
  };
  return peer;
}
