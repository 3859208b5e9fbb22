import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface HubProcess {
  proc: ChildProcess;
  http: number;
  mqtt: number;
  /** MQTT over TLS (0 if the hub has no certificate). */
  mqtts: number;
  /** The web UI and API over HTTPS (0 if the hub has no certificate). */
  https: number;
  baseUrl: string;
  /** The hub's data dir (its setup code, database and ports.json live there). */
  dataDir: string;
  /** Every log line so far (JSON objects from pino). */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, like a power cut or the OOM killer. */
  kill9(): Promise<void>;
}

/**
 * Starts the real hub (`node hub/src/main.ts`) on free loopback ports with mDNS off and waits for
 * its "hub started" log line. Extra args and env pass through.
 */
export async function startHub(
  dataDir: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<HubProcess> {
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      '--data',
      dataDir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
      '--log-level',
      'info',
      ...extraArgs,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const ports = await new Promise<{ http: number; mqtt: number; mqtts: number; https: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start in 45 s; stderr: ${stderr}`)), 45_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.msg === 'string' && entry.msg.startsWith('hub started')) {
        clearTimeout(timer);
        resolve(entry.ports as { http: number; mqtt: number; mqtts: number; https: number });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before starting; stderr: ${stderr}`));
    });
  });

  return {
    proc,
    ...ports,
    baseUrl: `http://127.0.0.1:${ports.http}`,
    dataDir,
    logs,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the hub CLI to completion (for flag and start-up failure tests). */
export async function runHubCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/**
 * `--config FILE` args for a hub that takes integrations on cleartext MQTT (1883, ws://), which a
 * new home does not by default (issue 17): for tests whose integration clients use plain MQTT.
 * `extra` is merged into the file's top level.
 */
export function plainIntegrationsArgs(dir: string, extra: { mqtt?: object; [key: string]: unknown } = {}): string[] {
  const file = join(dir, 'plain-integrations.json');
  writeFileSync(file, JSON.stringify({ ...extra, mqtt: { ...extra.mqtt, plainIntegrations: true } }));
  return ['--config', file];
}
