/**
 * A Pi-sized box for one process: a CPU quota (in cores of this machine) and a memory limit, with
 * cgroup v2 when the machine mounts it unified (cpu.max, memory.max), else the v1 cpu and memory
 * controllers (cpu.cfs_quota_us, memory.limit_in_bytes). Needs root. The memory group is made
 * under this process's own memory cgroup (so everything stays accounted where it was), the CPU
 * group under the root of the cpu hierarchy; both are removed by `release()`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Confinement {
  kind: 'v1' | 'v2';
  /** OOM kills in the group, the memory high-water mark, time the quota held the process back. */
  stats(): { oomKills: number; memoryPeakMiB: number | null; throttledS: number; throttledPeriods: number };
  release(): void;
}

const PERIOD_US = 100_000;
const read = (path: string) => readFileSync(path, 'utf8');
const field = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

export function confine(pid: number, options: { cpuCores: number; memoryMiB: number; name: string }): Confinement {
  const quota = Math.max(1000, Math.round(options.cpuCores * PERIOD_US));
  const memBytes = Math.round(options.memoryMiB * 1024 * 1024);
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const dir = join('/sys/fs/cgroup', options.name);
    writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+cpu +memory');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    writeFileSync(join(dir, 'memory.max'), String(memBytes));
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return {
      kind: 'v2',
      stats() {
        const cpu = read(join(dir, 'cpu.stat'));
        const peak = existsSync(join(dir, 'memory.peak')) ? Number(read(join(dir, 'memory.peak'))) / 1048576 : null;
        return {
          oomKills: field(read(join(dir, 'memory.events')), 'oom_kill'),
          memoryPeakMiB: peak,
          throttledS: field(cpu, 'throttled_usec') / 1e6,
          throttledPeriods: field(cpu, 'nr_throttled'),
        };
      },
      release() {
        try {
          rmdirSync(dir);
        } catch {
          /* the process is still in it or it is gone already */
        }
      },
    };
  }
  const own =
    read('/proc/self/cgroup')
      .split('\n')
      .find((l) => /^\d+:memory:/.test(l))
      ?.split(':')[2] ?? '/';
  const mounts: string[] = [];
  const cpuDir = join(hierarchy('cpu', mounts), options.name);
  const memDir = join(hierarchy('memory', mounts), own, options.name);
  mkdirSync(cpuDir);
  mkdirSync(memDir);
  writeFileSync(join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeFileSync(join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
  writeFileSync(join(memDir, 'memory.limit_in_bytes'), String(memBytes));
  // v1 leaves the pages a process already has charged to its old group unless told to move them.
  try {
    writeFileSync(join(memDir, 'memory.move_charge_at_immigrate'), '3');
  } catch {
    /* not offered: the peak then counts from the move */
  }
  writeFileSync(join(cpuDir, 'cgroup.procs'), String(pid));
  writeFileSync(join(memDir, 'cgroup.procs'), String(pid));
  return {
    kind: 'v1',
    stats() {
      const cpu = read(join(cpuDir, 'cpu.stat'));
      const oom = read(join(memDir, 'memory.oom_control'));
      return {
        oomKills: field(oom, 'oom_kill'),
        memoryPeakMiB: Number(read(join(memDir, 'memory.max_usage_in_bytes'))) / 1048576,
        throttledS: field(cpu, 'throttled_time') / 1e9,
        throttledPeriods: field(cpu, 'nr_throttled'),
      };
    },
    release() {
      for (const d of [cpuDir, memDir]) {
        try {
          rmdirSync(d);
        } catch {
          /* the process is still in it or it is gone already */
        }
      }
      for (const m of mounts) {
        try {
          execFileSync('umount', [m]);
          rmSync(m, { recursive: true, force: true });
        } catch {
          /* busy: gone with the mount namespace */
        }
      }
    },
  };
}

/**
 * Where the v1 `controller` hierarchy is mounted. Inside `ip netns exec` (scripts/netns-run) /sys
 * is a fresh sysfs without the cgroup mounts, so it is mounted again in a temp dir: that mount
 * lives in the namespace's private mount table and is the same hierarchy as the machine's.
 */
function hierarchy(controller: string, mounts: string[]): string {
  const standard = join('/sys/fs/cgroup', controller);
  if (existsSync(join(standard, 'cgroup.procs'))) return standard;
  const dir = mkdtempSync(join(tmpdir(), `hearth-cgroup-${controller}-`));
  execFileSync('mount', ['-t', 'cgroup', '-o', controller, 'cgroup', dir]);
  mounts.push(dir);
  return dir;
}
