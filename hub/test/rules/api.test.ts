import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { advance, contractRule, world, type World } from './helpers.ts';
import { buildApi } from '../../src/api/build.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { AuthService } from '../../src/auth/service.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import { FakeBroker, OWNER as OWNER_LOGIN } from '../api/harness.ts';
import { readSetupCode } from '../helpers/http.ts';
import { apiParts } from '../helpers/api-parts.ts';

describe('rules API', () => {
  let w: World;
  let app: FastifyInstance;
  let history: HistoryService;
  let owner: string;
  let member: string;
  let button: string;
  let lamp: string;
  const call = async (method: InjectOptions['method'], url: string, token: string | undefined, body?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };

  beforeEach(async () => {
    w = await world();
    const log = createLogger({ level: 'silent' });
    const config = validateConfig({ dataDir: w.dir }, w.dir);
    history = new HistoryService({ store: w.store, bus: w.bus, clock: w.clock, log, config: config.history });
    await history.start();
    const auth = new AuthService({
      store: w.store,
      bus: w.bus,
      clock: w.clock,
      log,
      config: config.auth,
      dataDir: w.dir,
    });
    auth.openSetup();
    app = await buildApi({
      config,
      ...apiParts(w.store, w.bus),
      bus: w.bus,
      clock: w.clock,
      log,
      auth,
      registry: w.registry,
      broker: new FakeBroker(),
      history,
      rules: w.rules,
      version: 'test',
      startedAt: w.clock.now(),
      partsHealth: () => ({}),
      uiDir: `${w.dir}/no-ui`,
    });
    owner = (await call('POST', '/api/v1/setup', undefined, { ...OWNER_LOGIN, setupCode: readSetupCode(w.dir) })).body
      .accessToken;
    w.store.users.insert({
      id: 'usr_m',
      username: 'mia',
      passwordHash: await hashPassword('mia password'),
      role: 'member',
      createdAt: w.clock.now(),
    });
    member = (await call('POST', '/api/v1/auth/login', undefined, { username: 'mia', password: 'mia password' })).body
      .accessToken;
    button = await w.device('Switch', ['switch']);
    lamp = await w.device('Lamp', ['switch', 'brightness']);
  });
  afterEach(async () => {
    await app.close();
    await history.stop();
    await w.close();
  });

  it('POST /rules takes the DESIGN contract shape → 201 {id, ...}; the rule runs; traces are served', async () => {
    const created = await call('POST', '/api/v1/rules', owner, contractRule(button, lamp));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^rule_/),
      name: 'Follow',
      mode: 'single',
      enabled: true,
      version: 1,
      conditions: [],
    });
    await w.report(button, { switch: true });
    expect(w.driver.commands).toHaveLength(1);
    const traces = await call('GET', `/api/v1/rules/${created.body.id}/traces`, member);
    expect(traces.status).toBe(200);
    expect(traces.body).toMatchObject([
      {
        status: 'done',
        trigger: { device: button, value: true },
        actions: [{ type: 'command', device: lamp, value: true, result: 'ok' }],
      },
    ]);
    expect((await call('GET', '/api/v1/rules', member)).body).toHaveLength(1);
  });

  it('status and error codes', async () => {
    expect((await call('POST', '/api/v1/rules', undefined, contractRule(button, lamp))).status).toBe(401);
    const forbidden = await call('POST', '/api/v1/rules', member, contractRule(button, lamp));
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'forbidden']);
    const bad = await call('POST', '/api/v1/rules', owner, {
      ...contractRule(button, lamp),
      actions: [{ type: 'delay', for: -1 }],
    });
    expect([bad.status, bad.body.error.code, bad.body.error.details.path]).toEqual([
      400,
      'validation_failed',
      'actions.0.for',
    ]);
    const notObject = await call('POST', '/api/v1/rules', owner, [1]);
    expect([notObject.status, notObject.body.error.code]).toEqual([400, 'validation_failed']);
    const missing = await call('GET', '/api/v1/rules/rule_nope/traces', member);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'rule_not_found']);
    expect((await call('DELETE', '/api/v1/rules/rule_nope', owner)).body.error.code).toBe('rule_not_found');
    const id = (await call('POST', '/api/v1/rules', owner, contractRule(button, lamp))).body.id;
    expect((await call('GET', `/api/v1/rules/${id}/versions/9`, member)).body.error.code).toBe(
      'rule_version_not_found',
    );
    expect((await call('DELETE', `/api/v1/rules/${id}`, member)).status).toBe(403);
    expect((await call('DELETE', `/api/v1/rules/${id}`, owner)).status).toBe(204);
    expect((await call('GET', `/api/v1/rules/${id}`, member)).status).toBe(404);
  });

  it('a sun rule needs the home location: set through PATCH /home it is taken, cleared it is refused again', async () => {
    const sunRule = {
      name: 'Dusk',
      mode: 'single',
      triggers: [{ type: 'sun', event: 'sunset' }],
      actions: [{ type: 'command', device: lamp, capability: 'switch', value: true }],
    };
    expect((await call('POST', '/api/v1/rules', owner, sunRule)).body.error.code).toBe('location_required');
    expect(
      (await call('PATCH', '/api/v1/home', owner, { location: { latitude: 52.37, longitude: 4.89 } })).status,
    ).toBe(200);
    expect((await call('POST', '/api/v1/rules', owner, sunRule)).status).toBe(201);
    // Cleared (stored as null): no location again, not a location at null.
    expect((await call('PATCH', '/api/v1/home', owner, { location: null })).status).toBe(200);
    const refused = await call('POST', '/api/v1/rules', owner, { ...sunRule, name: 'Dawn' });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'location_required']);
  });

  it('enable/disable and run now (audited as the person, commands as the rule)', async () => {
    const id = (await call('POST', '/api/v1/rules', owner, contractRule(button, lamp))).body.id;
    expect((await call('POST', `/api/v1/rules/${id}/disable`, owner)).body.enabled).toBe(false);
    await w.report(button, { switch: true });
    expect(w.driver.commands).toHaveLength(0);
    expect((await call('POST', `/api/v1/rules/${id}/run`, member)).body.error.code).toBe('conflict');
    expect((await call('POST', `/api/v1/rules/${id}/enable`, owner)).body.enabled).toBe(true);
    const run = await call('POST', `/api/v1/rules/${id}/run`, member);
    expect(run.status).toBe(202);
    await advance(w.clock, 0);
    expect(w.driver.commands).toHaveLength(1);
    const [trace] = (await call('GET', `/api/v1/rules/${id}/traces`, member)).body;
    expect(trace).toMatchObject({
      runId: run.body.runId,
      status: 'done',
      trigger: { type: 'manual', by: { username: 'mia' } },
    });
    const actions = w.store.audit.list(20).map((a) => [a.action, a.actor.kind]);
    expect(actions).toContainEqual(['rule.run', 'user']);
    expect(actions).toContainEqual(['device.command', 'rule']);
  });

  it('versions: every edit is a version with author and time; diff; revert makes a new version', async () => {
    const id = (await call('POST', '/api/v1/rules', owner, contractRule(button, lamp))).body.id;
    const edited = {
      ...contractRule(button, lamp),
      name: 'Follow 2',
      actions: [{ type: 'command', device: lamp, capability: 'brightness', value: 40 }],
    };
    expect((await call('PUT', `/api/v1/rules/${id}`, owner, edited)).body).toMatchObject({
      version: 2,
      name: 'Follow 2',
    });
    const versions = (await call('GET', `/api/v1/rules/${id}/versions`, member)).body;
    expect(
      versions.map((v: { version: number; author: { username: string } }) => [v.version, v.author.username]),
    ).toEqual([
      [2, 'owner'],
      [1, 'owner'],
    ]);
    expect(versions[0].at).toMatch(/^2026-01-05T/);
    const diff = (await call('GET', `/api/v1/rules/${id}/diff?from=1&to=2`, member)).body;
    expect(diff.changes).toEqual([
      { path: 'name', op: 'changed', from: 'Follow', to: 'Follow 2' },
      { path: 'actions.0.capability', op: 'changed', from: 'switch', to: 'brightness' },
      { path: 'actions.0.value', op: 'changed', from: true, to: 40 },
    ]);
    const reverted = await call('POST', `/api/v1/rules/${id}/revert`, owner, { version: 1 });
    expect(reverted.body).toMatchObject({ version: 3, name: 'Follow' });
    expect((await call('GET', `/api/v1/rules/${id}/versions/3`, member)).body).toMatchObject({
      note: 'revert to version 1',
    });
  });

  it('saved scenes: CRUD, activate as the person, and used by a rule', async () => {
    const bad = await call('POST', '/api/v1/scenes', owner, {
      name: 'Movie',
      states: [{ device: lamp, capability: 'brightness', value: 500 }],
    });
    expect([bad.status, bad.body.error.code, bad.body.error.details.path]).toEqual([
      400,
      'value_out_of_range', // the stable code a direct command gets too
      'states.0.value',
    ]);
    expect((await call('POST', '/api/v1/scenes', member, { name: 'Movie', states: [] })).status).toBe(403);
    const scene = await call('POST', '/api/v1/scenes', owner, {
      name: 'Movie',
      states: [
        { device: lamp, capability: 'brightness', value: 15 },
        { device: button, capability: 'switch', value: false },
      ],
    });
    expect(scene.status).toBe(201);
    const activated = await call('POST', `/api/v1/scenes/${scene.body.id}/activate`, member);
    expect(activated.body.results.map((r: { result: string }) => r.result)).toEqual(['ok', 'ok']);
    expect(w.store.audit.list(5).find((a) => a.action === 'device.command')).toMatchObject({
      actor: { username: 'mia' },
    });
    const rule = await call('POST', '/api/v1/rules', owner, {
      ...contractRule(button, lamp),
      actions: [{ type: 'scene', scene: scene.body.id }],
    });
    expect(rule.status).toBe(201);
    expect(
      (
        await call('PUT', `/api/v1/scenes/${scene.body.id}`, owner, {
          name: 'Movie',
          states: [{ device: lamp, capability: 'brightness', value: 25 }],
        })
      ).status,
    ).toBe(200);
    await w.report(button, { switch: true });
    expect(w.driver.commands.at(-1)).toMatchObject({ deviceId: lamp, capability: 'brightness', value: 25 });
    const noScene = await call('POST', '/api/v1/rules', owner, {
      ...contractRule(button, lamp),
      actions: [{ type: 'scene', scene: 'scene_nope' }],
    });
    expect(noScene.body.error.details.path).toBe('actions.0.scene');
    expect((await call('DELETE', `/api/v1/scenes/${scene.body.id}`, owner)).status).toBe(204);
    expect((await call('GET', `/api/v1/scenes/${scene.body.id}`, member)).body.error.code).toBe('scene_not_found');
    // The rule now fails, and says why.
    await w.report(button, { switch: false });
    await w.report(button, { switch: true });
    const [trace] = (await call('GET', `/api/v1/rules/${rule.body.id}/traces`, member)).body;
    expect(trace).toMatchObject({ status: 'failed', reason: 'scene_not_found' });
  });

  it('dry run replays recorded history: when the rule would have fired and what it would have done', async () => {
    const start = w.clock.now();
    // Recorded: the switch goes on at +1 min, off at +5 min, on at +20 min.
    await advance(w.clock, 60_000);
    await w.report(button, { switch: true });
    await advance(w.clock, 4 * 60_000);
    await w.report(button, { switch: false });
    await advance(w.clock, 15 * 60_000);
    await w.report(button, { switch: true });
    await advance(w.clock, 60_000);
    const rule = {
      name: 'Held on',
      mode: 'single',
      triggers: [{ type: 'state', device: button, capability: 'switch', to: true, for: '3m' }],
      actions: [
        { type: 'command', device: lamp, capability: 'brightness', value: 70 },
        { type: 'delay', for: '10m' },
        { type: 'command', device: lamp, capability: 'brightness', value: 5 },
      ],
    };
    const before = w.driver.commands.length;
    // The recording took longer than an access token lives.
    member = (await call('POST', '/api/v1/auth/login', undefined, { username: 'mia', password: 'mia password' })).body
      .accessToken;
    const res = await call('POST', '/api/v1/rules/dry-run', member, {
      rule,
      from: new Date(start).toISOString(),
      to: String(w.clock.now() + 30 * 60_000),
    });
    expect(res.status).toBe(200);
    const iso = (ms: number) => new Date(start + ms).toISOString();
    expect(res.body).toMatchObject({ replayedEvents: expect.any(Number), truncated: false });
    expect(res.body.commands).toEqual([
      { at: iso(4 * 60_000), device: lamp, capability: 'brightness', value: 70 },
      { at: iso(14 * 60_000), device: lamp, capability: 'brightness', value: 5 },
      { at: iso(23 * 60_000), device: lamp, capability: 'brightness', value: 70 },
      { at: iso(33 * 60_000), device: lamp, capability: 'brightness', value: 5 },
    ]);
    expect(
      res.body.firings.map((f: { status: string; trigger: { heldSince: number } }) => [f.status, f.trigger.heldSince]),
    ).toEqual([
      ['done', start + 60_000],
      ['done', start + 20 * 60_000],
    ]);
    expect(w.driver.commands).toHaveLength(before); // nothing reached a device
    const neither = await call('POST', '/api/v1/rules/dry-run', member, { from: '2026-01-01' });
    expect([neither.status, neither.body.error.code]).toEqual([400, 'validation_failed']);
    const invalid = await call('POST', '/api/v1/rules/dry-run', member, {
      rule: { ...rule, mode: 'x' },
      from: '2026-01-01',
    });
    expect(invalid.body.error.details.path).toBe('mode');
  });
});
