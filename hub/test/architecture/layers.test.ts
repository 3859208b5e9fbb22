import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dirname, resolve } from 'node:path';
import { cycles, importGraph, importSpecifiers } from './imports.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The layers of hub/src, lowest first. A file may import from its own layer or a lower one, never
 * from a higher one: core ← store ← (devices, auth, history, …) ← (drivers, rules, recorder,
 * relay, events) ← api ← the entry points. A new folder must be given a layer here.
 */
const LAYERS: Record<string, number> = {
  core: 0,
  store: 1,
  devices: 2,
  auth: 2,
  history: 2,
  broker: 2,
  backup: 2,
  flash: 2,
  mdns: 2,
  tls: 2,
  update: 2,
  drivers: 3,
  rules: 3,
  recorder: 3,
  relay: 3,
  events: 3,
  energy: 3,
  api: 4,
  'hub.ts': 5,
  'main.ts': 5,
  'admin.ts': 5,
};

const part = (file: string) => file.split('/')[0]!;

describe('hub/src dependencies point one way', () => {
  const graph = importGraph(SRC);

  it('finds the source files and their imports (the check is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('hub.ts')).toContain('api/build.ts');
    // An import spread over several lines is seen too.
    expect(graph.get('drivers/plug/pairing.ts')).toContain('drivers/plug/protocol.ts');
  });

  it('every folder of hub/src has a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(part))].filter((p) => LAYERS[p] === undefined);
    expect(unplaced).toEqual([]);
  });

  it('no file imports from a higher layer', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (LAYERS[part(target)]! > LAYERS[part(file)]!) upward.push(`${file} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the API is an edge: it reaches the data through services, never store/ (not even its types)', () => {
    const intoStore = [...graph]
      .filter(([file]) => part(file) === 'api')
      .flatMap(([file, targets]) => targets.filter((t) => part(t) === 'store').map((t) => `${file} → ${t}`));
    expect(intoStore).toEqual([]);
  });

  it('environment variables are read in core/config.ts only (the tools too, through toolEnv)', () => {
    // main.ts hands process.env to loadConfig; the update helper is a separate privileged
    // process that passes its environment on to apt and has a crash hook for its tests.
    const allowed = new Set([
      'core/config.ts',
      'main.ts',
      'update/helper/installers.ts',
      'update/helper/crash-points.ts',
    ]);
    const readers = [...graph.keys()].filter(
      (file) => !allowed.has(file) && /\bprocess\.env\b/.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(readers).toEqual([]);
  });

  it('no import cycles between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('broker/persistence is a self-contained aedes persistence: core/, store/, MQTT topic rules and itself only', () => {
    const allowed = (target: string) =>
      /^(core|store)\//.test(target) || target.startsWith('broker/persistence/') || target === 'broker/topics.ts';
    const files = [...graph.keys()].filter((f) => f.startsWith('broker/persistence/'));
    expect(files).toContain('broker/persistence/sqlite-persistence.ts');
    const outside = files.flatMap((file) =>
      graph
        .get(file)!
        .filter((t) => !allowed(t))
        .map((t) => `${file} → ${t}`),
    );
    expect(outside).toEqual([]);
  });

  it("broker/transport (sockets and the router's flow) knows no broker policy: core/, itself, the client shape and counters", () => {
    const allowed = (target: string) =>
      target.startsWith('core/') ||
      target.startsWith('broker/transport/') ||
      target === 'broker/client-state.ts' ||
      target === 'broker/counters.ts';
    const files = [...graph.keys()].filter((f) => f.startsWith('broker/transport/'));
    expect(files).toContain('broker/transport/listeners.ts');
    const outside = files.flatMap((file) =>
      graph
        .get(file)!
        .filter((t) => !allowed(t))
        .map((t) => `${file} → ${t}`),
    );
    expect(outside).toEqual([]);
  });
});

describe('the UI and the relay have no import cycles either', () => {
  const ui = importGraph(fileURLToPath(new URL('../../../ui/src/', import.meta.url)));
  const relay = importGraph(fileURLToPath(new URL('../../../cloud-relay/src/', import.meta.url)));

  it('ui/src: no file cycles, and api/ (the transport, LAN or relay) imports no screens', () => {
    expect(ui.get('api/client.ts')).toContain('api/transport.ts');
    expect(cycles(ui)).toEqual([]);
    const screens = /^(remote|pages|components)\//;
    const upward = [...ui]
      .filter(([file]) => file.startsWith('api/'))
      .flatMap(([file, targets]) => targets.filter((t) => screens.test(t)).map((t) => `${file} → ${t}`));
    expect(upward).toEqual([]);
  });

  it('ui/src declares no API answer of its own: every api<T>() names types from @hearth/model/api', () => {
    const uiSrc = fileURLToPath(new URL('../../../ui/src/', import.meta.url));
    const own: string[] = [];
    let calls = 0;
    for (const file of ui.keys()) {
      const text = readFileSync(join(uiSrc, file), 'utf8');
      const local = new Set([...text.matchAll(/^\s*(?:export\s+)?(?:interface|type)\s+(\w+)/gm)].map((m) => m[1]!));
      for (const m of text.matchAll(/\bapi<(.+?)>\(/g)) {
        calls++;
        const arg = m[1]!;
        const declaredHere = [...arg.matchAll(/\b[A-Z]\w*/g)].map((n) => n[0]).filter((n) => local.has(n));
        if (arg.includes('{') || declaredHere.length > 0) own.push(`${file}: api<${arg}>`);
      }
    }
    expect(calls).toBeGreaterThan(50);
    expect(own).toEqual([]);
  });

  it('cloud-relay/src: no file cycles (the connections see the node through node-host.ts, the socket helpers are socket.ts)', () => {
    expect(relay.get('hub-tunnel.ts')).toContain('node-host.ts');
    expect(cycles(relay)).toEqual([]);
  });
});

describe('the shared model (packages/model) stands alone and is imported by its name', () => {
  const modelSrc = `${REPO}packages/model/src/`;

  it('packages/model/src imports only its own files: no hub, UI, relay, Node API or npm package', () => {
    const specs = importSpecifiers(modelSrc);
    expect(specs.get('capabilities.ts')).toContain('./values.ts');
    const outside = [...specs].flatMap(([file, targets]) =>
      targets
        .filter((t) => !t.startsWith('.') || !resolve(modelSrc, dirname(file), t).startsWith(modelSrc))
        .map((t) => `${file} → ${t}`),
    );
    expect(outside).toEqual([]);
    expect(cycles(importGraph(modelSrc))).toEqual([]);
  });

  it('hub, UI, relay and benches reach it as @hearth/model/…, never by a relative path into packages/', () => {
    const byPath: string[] = [];
    let byName = 0;
    for (const dir of ['hub/src', 'hub/test', 'ui/src', 'ui/test', 'cloud-relay/src', 'cloud-relay/test', 'bench']) {
      const root = `${REPO}${dir}/`;
      for (const [file, targets] of importSpecifiers(root)) {
        for (const t of targets) {
          if (t.startsWith('@hearth/model/')) byName++;
          else if (t.startsWith('.') && resolve(root, dirname(file), t).startsWith(`${REPO}packages/`))
            byPath.push(`${dir}/${file} → ${t}`);
        }
      }
    }
    expect(byName).toBeGreaterThan(3);
    expect(byPath).toEqual([]);
  });

  it("no hub or UI file passes the model's names on (Actor, Role, Device, ErrorCode…): one definition, imported everywhere", () => {
    const reExports: string[] = [];
    const files = ['hub/src/', 'ui/src/'].flatMap((dir) =>
      [...importGraph(`${REPO}${dir}`).keys()].map((file) => `${dir}${file}`),
    );
    expect(files).toContain('ui/src/api/types.ts');
    for (const file of files) {
      const text = readFileSync(`${REPO}${file}`, 'utf8');
      const fromModel = new Set(
        [...text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'@hearth\/model\/[^']+'/g)].flatMap((m) =>
          m[1]!.split(',').map((s) => s.replace(/^\s*type\s+/, '').trim()),
        ),
      );
      if (/export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s*from\s*'@hearth\/model/.test(text))
        reExports.push(`${file}: export … from`);
      for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\};/g)) {
        for (const name of m[1]!.split(',').map((s) => s.replace(/^\s*type\s+/, '').trim())) {
          if (fromModel.has(name)) reExports.push(`${file}: ${name}`);
        }
      }
    }
    expect(reExports).toEqual([]);
  });
});

describe('the relay wire protocol (packages/protocol) stands alone and is imported by its name', () => {
  const protocolSrc = `${REPO}packages/protocol/src/`;

  it('packages/protocol/src imports only its own files and tweetnacl (it runs in browsers, the hub and the relay alike)', () => {
    const specs = importSpecifiers(protocolSrc);
    expect(specs.get('client.ts')).toContain('./e2e.ts');
    const outside = [...specs].flatMap(([file, targets]) =>
      targets
        .filter(
          (t) =>
            t !== 'tweetnacl' &&
            (!t.startsWith('./') || !resolve(protocolSrc, dirname(file), t).startsWith(protocolSrc)),
        )
        .map((t) => `${file} → ${t}`),
    );
    expect(outside).toEqual([]);
    expect(cycles(importGraph(protocolSrc))).toEqual([]);
  });

  it('hub, UI, relay and benches import it as @hearth/protocol/… (a relative path into packages/ fails the test above)', () => {
    let byName = 0;
    for (const dir of ['hub/src', 'ui/src', 'cloud-relay/src', 'bench']) {
      for (const targets of importSpecifiers(`${REPO}${dir}/`).values())
        byName += targets.filter((t) => t.startsWith('@hearth/protocol/')).length;
    }
    expect(byName).toBeGreaterThan(40);
  });
});
