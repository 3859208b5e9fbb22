/**
 * bench/writes: how much the hub writes to its data volume, per day, under the reference load
 * (issue 13: an SD card dies of writes).
 *
 * Load: N C plug simulators (default 50, scripts/plug-sim, their default 1 s telemetry) paired to
 * the real hub process through mDNS and the pairing API, exactly as bench/plug does, inside a
 * loopback-only network namespace (the bench re-runs itself under scripts/netns-run). While it
 * measures: the events WebSocket is open, one plug is switched every `--toggle` seconds through
 * the API (a command, a state change, an audit row), and two rules fire on each switch of the
 * first plug (they switch the second one along; traces are written).
 *
 * Measured over `--window` seconds after `--warmup` seconds of that load:
 * - `write_bytes` of the hub process (/proc/PID/io): bytes the kernel accounted as written to the
 *   block device on the process's behalf (page-cache pages it dirtied; a page dirtied twice
 *   before writeback counts once, as it is written once). Not included: the file system's
 *   journal (written by a kernel thread) and the flash translation layer's own amplification.
 *   `wchar` (bytes passed to write system calls, sockets included) is printed too, a loose upper bound;
 * - split by file, as far as it can be told from outside: the WAL, by reading its frames
 *   (test/helpers/wal-frames.ts, polled every 250 ms: frames, commits, pages); the database
 *   file, as the pages checkpoints copy there (distinct pages per WAL generation: an estimate);
 *   logs, as the bytes the hub printed (journald would store them; on this machine they go to a
 *   pipe and are not in write_bytes); the rest of write_bytes (the -shm file, which SQLite maps
 *   into memory, and anything else) is `otherBytes`;
 * - split by part: each WAL frame's page is mapped to its table or index through SQLite's
 *   `dbstat` at the end of the window, and tables to parts by name (`mqtt_*` broker, `history_*`
 *   history, `devices`/`device_state` registry, ...).
 *
 * Figures: MB/day (write_bytes scaled to 24 h), commits per minute, write amplification
 * (write_bytes ÷ the bytes the same samples take once packed into history blocks, ~2.3 bytes per
 * sample, codec/block.ts) and the ratio to the floor (issue 13: ~17 KB of packed history per plug
 * per day, 6.3 MB per plug-year, so ~0.86 MB/day for 50 plugs). Target: ≤ 100 MB/day for 50 plugs.
 *
 * Options: --plugs=N (50) --window=S (120) --warmup=S (30) --toggle=S (10)
 *          --config=FILE (a hub config file, for experiments with settings)
 *          --smoke (3 plugs, 3 s warm-up, 5 s window: checks that the bench runs, figures meaningless)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { WalFrames } from '../hub/test/helpers/wal-frames.ts';
import { reexecInNetns } from './lib/netns.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'Bytes the hub writes per day with 50 plugs at 1 s telemetry (split by file and part), vs the ~1 MB/day floor';

/** Its own --smoke sizes (3 plugs, 3 s warm-up, 5 s window); passed on into the network namespace. */
export const smoke: BenchSmoke = {
  args: ['--smoke'],
  keys: ['mbPerDay', 'walMbPerDay', 'commitsPerMin', 'samplesPerS', 'walFramesPctByPart'],
};

const TARGET_MB_PER_DAY = 100;
/** Packed history per plug per day (issue 13's measurement: 6.3 MB per plug-year). */
const FLOOR_BYTES_PER_PLUG_DAY = 6.3e6 / 365;
/** Packed size of one raw sample (hub/src/history/README.md, codec/block.ts). */
const PACKED_BYTES_PER_SAMPLE = 2.3;
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Table name → the part of the hub that writes it. */
export function partOf(table: string): string {
  if (table.startsWith('mqtt_')) return 'broker';
  if (table.startsWith('history_')) return 'history';
  if (table === 'devices' || table === 'device_state' || table === 'rooms' || table === 'homes') return 'registry';
  if (table.startsWith('rule') || table === 'scenes') return 'rules';
  if (table === 'audit_log') return 'audit';
  if (table.startsWith('camera')) return 'recorder';
  if (table === 'settings') return 'settings';
  if (table === 'users' || table === 'refresh_tokens' || table.startsWith('totp')) return 'auth';
  if (table.startsWith('sqlite_')) return 'sqlite';
  return table;
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  if (!process.env.HEARTH_NETNS) return reexecInNetns(ctx, 'writes');
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      plugs: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      toggle: { type: 'string' },
      config: { type: 'string' },
      smoke: { type: 'boolean' },
    },
    strict: false,
  });
  const smoke = values.smoke === true;
  const plugCount = Number(values.plugs ?? (smoke ? 3 : 50));
  const windowS = Number(values.window ?? (smoke ? 5 : 120));
  const warmupS = Number(values.warmup ?? (smoke ? 3 : 30));
  const toggleS = Number(values.toggle ?? 10);

  const { startHub } = await import('../hub/test/helpers/hub-process.ts');
  const { api, setupOwner } = await import('../hub/test/helpers/http.ts');
  const { openEvents, waitFor, HAVE_SIM, startSim } = await import('../hub/test/plug-e2e/helpers.ts');
  const { WalFrames } = await import('../hub/test/helpers/wal-frames.ts');
  if (!HAVE_SIM) throw new Error('scripts/plug-sim is missing: this bench needs the C plug simulator');

  // The data directory must be on a disk-backed file system: tmpfs writes never reach a block device.
  const tmp = mkdtempSync(join(process.env.HEARTH_BENCH_TMP ?? tmpdir(), 'hearth-bench-writes-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  const figures: Record<string, unknown> = {
    plugs: 'c-sim',
    plugCount,
    windowS,
    warmupS,
    smoke,
    loadAvgBefore: loadAverage(),
    config: values.config ?? 'defaults',
  };
  try {
    const dataDir = join(tmp, 'hub');
    const extra = ['--mdns', 'lo'];
    if (typeof values.config === 'string') extra.push('--config', values.config);
    const hub = await startHub(dataDir, extra);
    cleanups.unshift(() => hub.stop());
    let logBytes = 0;
    hub.proc.stdout!.on('data', (d: Buffer) => {
      logBytes += d.length;
    });
    const token = await setupOwner(hub);
    const pid = hub.proc.pid!;

    // ---- plugs, paired as bench/plug does ---------------------------------------------------
    const ids = Array.from({ length: plugCount }, (_, i) => `plug-${(0xbe1000000000 + i).toString(16)}`);
    const code = (i: number) => String(10_000_000 + i * 7919).slice(0, 8);
    const sims = await Promise.all(
      ids.map((id, i) => startSim({ id, setupCode: code(i), stateDir: join(tmp, 'sims', id), loadWatts: 60 + i })),
    );
    cleanups.unshift(() => Promise.all(sims.map((s) => s.stop())));
    await waitFor(
      async () => {
        const list = (await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[];
        return list.length >= plugCount ? true : undefined;
      },
      `${plugCount} plugs discovered`,
      120_000,
    );
    for (const [i, id] of ids.entries()) {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${id}/pair`, {
        token,
        body: { setupCode: code(i), name: `Plug ${i}` },
      });
      if (res.status !== 201) throw new Error(`pairing ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    ctx.log(`paired ${plugCount} plugs`);

    // ---- rules, events stream, state changes --------------------------------------------------
    const events = await openEvents(hub.baseUrl, token);
    cleanups.unshift(() => events.close());
    let samples = 0;
    let fired = 0;
    events.onEvent((e) => {
      if (e.type === 'telemetry.sample') samples++;
      if (e.type === 'rule.fired') fired++;
    });
    if (plugCount >= 2) {
      for (const to of [true, false]) {
        const rule = {
          name: `follow ${to}`,
          mode: 'single',
          triggers: [{ type: 'state', device: ids[0], capability: 'switch', to }],
          conditions: [],
          actions: [{ type: 'command', device: ids[1], capability: 'switch', value: to }],
        };
        const res = await api(hub.baseUrl, 'POST', '/api/v1/rules', { token, body: rule });
        if (res.status !== 201) throw new Error(`rule refused: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    let toggles = 0;
    let switchOn = false;
    const toggler = setInterval(() => {
      // Plug 0 on every toggle (the rules follow it), another plug every other one.
      const id = toggles % 2 === 0 ? ids[0]! : (ids[1 + ((toggles >> 1) % Math.max(1, plugCount - 1))] ?? ids[0]!);
      if (id === ids[0]) switchOn = !switchOn;
      toggles++;
      void api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, {
        token,
        body: { capability: 'switch', value: id === ids[0] ? switchOn : toggles % 4 === 1 },
      }).catch(() => {});
    }, toggleS * 1000);
    cleanups.unshift(() => clearInterval(toggler));

    const wal = new WalFrames(join(dataDir, 'hearth.db-wal'));
    const poller = setInterval(() => wal.poll(), 250);
    cleanups.unshift(() => clearInterval(poller));
    ctx.log(`warm-up ${warmupS} s`);
    await new Promise((r) => setTimeout(r, warmupS * 1000));

    // ---- the window -------------------------------------------------------------------------
    wal.poll();
    const w0 = {
      io: procIo(pid),
      wal: snapshot(wal),
      logs: logBytes,
      samples,
      fired,
      at: performance.now(),
      files: fileSizes(dataDir),
      rows: sampleRows(join(dataDir, 'hearth.db')),
    };
    const byPage0 = new Map(wal.framesByPage);
    ctx.log(`measuring ${windowS} s`);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    wal.poll();
    const elapsedS = (performance.now() - w0.at) / 1000;
    const io = procIo(pid);
    const w1 = { wal: snapshot(wal), files: fileSizes(dataDir), rows: sampleRows(join(dataDir, 'hearth.db')) };
    const perDay = (bytes: number) => (bytes / elapsedS) * 86_400;
    const mb = (bytes: number) => round(bytes / 1e6, 2);

    const writeBytes = io.write_bytes - w0.io.write_bytes;
    const walBytes = w1.wal.bytes - w0.wal.bytes;
    const checkpointBytes = w1.wal.checkpointBytes - w0.wal.checkpointBytes;
    const logs = logBytes - w0.logs;
    const samplesStored = w1.rows - w0.rows;
    const keptBytes = samplesStored * PACKED_BYTES_PER_SAMPLE;
    const floorPerDay = plugCount * FLOOR_BYTES_PER_PLUG_DAY;

    // WAL frames of the window by table and part (pages mapped at the end: a page that changed
    // hands during the window is counted under its last owner).
    const framesByPart: Record<string, number> = {};
    const framesByTable: Record<string, number> = {};
    const owners = pageOwners(join(dataDir, 'hearth.db'));
    for (const [page, n] of wal.framesByPage) {
      const d = n - (byPage0.get(page) ?? 0);
      if (d <= 0) continue;
      const table = owners.get(page) ?? (page === 1 ? 'sqlite_schema' : 'freelist/new');
      framesByTable[table] = (framesByTable[table] ?? 0) + d;
      const part = partOf(table);
      framesByPart[part] = (framesByPart[part] ?? 0) + d;
    }
    const frames = w1.wal.frames - w0.wal.frames;
    const share = (n: number) => round((n / Math.max(1, frames)) * 100, 1);

    Object.assign(figures, {
      elapsedS: round(elapsedS, 1),
      mbPerDay: mb(perDay(writeBytes)),
      wcharMbPerDay: mb(perDay(io.wchar - w0.io.wchar)),
      walMbPerDay: mb(perDay(walBytes)),
      checkpointMbPerDay: mb(perDay(checkpointBytes)),
      logMbPerDay: mb(perDay(logs)),
      otherMbPerDay: mb(perDay(Math.max(0, writeBytes - walBytes - checkpointBytes))),
      commitsPerMin: round(((w1.wal.commits - w0.wal.commits) / elapsedS) * 60, 1),
      walFramesPerCommit: round(frames / Math.max(1, w1.wal.commits - w0.wal.commits), 2),
      walResets: w1.wal.resets - w0.wal.resets,
      walFramesPctByPart: Object.fromEntries(
        Object.entries(framesByPart)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, share(v)]),
      ),
      walFramesPctByTable: Object.fromEntries(
        Object.entries(framesByTable)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([k, v]) => [k, share(v)]),
      ),
      samplesPerS: round((samples - w0.samples) / elapsedS, 1),
      samplesStoredPerS: round(samplesStored / elapsedS, 1),
      rulesFired: fired - w0.fired,
      dataDirBytes: w1.files.total,
      walFileBytes: w1.files.wal,
      writeAmplification: keptBytes > 0 ? round(writeBytes / keptBytes, 0) : null,
      floorMbPerDay: mb(floorPerDay),
      ratioToFloor: round(perDay(writeBytes) / floorPerDay, 1),
      hubCpuS: round(io.cpuS - w0.io.cpuS, 1),
      loadAvgAfter: loadAverage(),
      targets: { mbPerDay: TARGET_MB_PER_DAY },
      // A smoke run (3 plugs, 5 s: often nothing written back yet) checks that the bench runs; it
      // claims no target either way.
      targetsMet: smoke ? null : { mbPerDay: perDay(writeBytes) <= TARGET_MB_PER_DAY * (plugCount / 50) },
    });
    ctx.log(
      `write_bytes ${figures.mbPerDay} MB/day (wchar ${figures.wcharMbPerDay}); WAL ` +
        `${figures.walMbPerDay}, checkpoints ~${figures.checkpointMbPerDay}, logs ` +
        `${figures.logMbPerDay} MB/day`,
    );
    ctx.log(
      `${figures.commitsPerMin} commits/min, ${figures.walFramesPerCommit} frames each; WAL frames by part ${JSON.stringify(figures.walFramesPctByPart)}`,
    );
    ctx.log(
      `${figures.samplesPerS} samples/s, amplification ${figures.writeAmplification}×, ${figures.ratioToFloor}× the floor of ${figures.floorMbPerDay} MB/day`,
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

export function snapshot(w: WalFrames) {
  return {
    frames: w.frames,
    bytes: w.bytes,
    commits: w.commits,
    resets: w.resets,
    checkpointBytes: w.checkpointBytes(),
  };
}

export function procIo(pid: number): { write_bytes: number; wchar: number; cpuS: number } {
  const io = Object.fromEntries(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [k, v] = l.split(':');
        return [k!, Number(v)];
      }),
  );
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { write_bytes: io.write_bytes!, wchar: io.wchar!, cpuS: (Number(fields[11]) + Number(fields[12])) / 100 };
}

export function fileSizes(dir: string): { total: number; wal: number } {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  const wal = existsSync(join(dir, 'hearth.db-wal')) ? statSync(join(dir, 'hearth.db-wal')).size : 0;
  return { total, wal };
}

/**
 * Raw samples stored so far: those in journal rows (the open tail) plus those packed into raw
 * blocks (a journal row not yet deleted after its hour was packed counts twice: rare in a window).
 */
export function sampleRows(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const open = (db.prepare('SELECT coalesce(sum(samples), 0) AS n FROM history_journal').get() as { n: number }).n;
    const packed = (
      db.prepare('SELECT coalesce(sum(count), 0) AS n FROM history_blocks WHERE tier = 0').get() as { n: number }
    ).n;
    return open + packed;
  } finally {
    db.close();
  }
}

/** Page number → the table owning it (an index counts under its table). */
export function pageOwners(dbPath: string): Map<number, string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tableOf = new Map(
      (
        db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table','index')").all() as {
          name: string;
          tbl_name: string;
        }[]
      ).map((r) => [r.name, r.tbl_name]),
    );
    const map = new Map<number, string>();
    for (const r of db.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[])
      map.set(r.pageno, tableOf.get(r.name) ?? r.name);
    return map;
  } finally {
    db.close();
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
