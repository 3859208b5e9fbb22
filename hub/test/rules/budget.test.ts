import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { advance, world, type World } from './helpers.ts';
import { buildApi } from '../../src/api/build.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { AuthService } from '../../src/auth/service.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import { DEFAULT_TRACE_FLUSH_MS } from '../../src/rules/trace-writer.ts';
import { DEFAULT_LIMITS, MAX_REPEAT_NESTING } from '../../src/rules/budget.ts';
import { MAX_TRACED_CONDITIONS } from '../../src/rules/run.ts';
import { FakeBroker, OWNER as OWNER_LOGIN } from '../api/harness.ts';
import { readSetupCode } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { apiParts } from '../helpers/api-parts.ts';

/**
 * Nested `repeat`s multiply: a member's dry run of 16 levels × 10,000 passes held the event loop
 * and kept every command. Rules are bounded three ways: the validator refuses repeats that nest
 * too deep or multiply past MAX_PASSES (`rule_too_complex`), a run stops past its step budget
 * (`rule_step_budget_exceeded`, in its trace), and a dry run stops at its own step and
 * kept-command budgets (`stopped`). Runs yield to the event loop as they go.
 */

const ALWAYS = [{ type: 'time', after: '00:00' }]; // true at every time of day
const NEVER = [{ type: 'time', after: '00:00', before: '00:00' }];
const repeat = (count: number, actions: unknown[]) => ({ type: 'repeat', count, actions });

describe('rule step budget over HTTP', () => {
  let w: World;
  let app: FastifyInstance;
  let history: HistoryService;
  let base: string;
  let owner: string;
  let member: string;
  let button: string;
  let lamp: string;
  const call = async (
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
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
    // A real socket: a request waits for the event loop like a phone's would.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
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

  const rule = (actions: unknown[]) => ({
    name: 'Bomb',
    mode: 'single',
    triggers: [{ type: 'state', device: button, capability: 'switch', to: true }],
    actions,
  });
  const command = () => ({ type: 'command', device: lamp, capability: 'brightness', value: 50 });

  it('refuses repeats that multiply past MAX_PASSES or nest too deep: 400 rule_too_complex, on save and in a dry run', async () => {
    const bomb = rule([repeat(500, [repeat(500, [command()])])]);
    const saved = await call('POST', '/api/v1/rules', owner, bomb);
    expect([saved.status, saved.body.error.code, saved.body.error.details.path, saved.body.error.details.rule]).toEqual(
      [400, 'rule_too_complex', 'actions.0.actions.0', 'maxPasses'],
    );
    const dry = await call('POST', '/api/v1/rules/dry-run', member, { rule: bomb, from: '2026-01-01' });
    expect([dry.status, dry.body.error.code]).toEqual([400, 'rule_too_complex']);

    // Deep nesting is refused even when the counts are small; inside if/choose it still counts.
    let deep: unknown[] = [command()];
    for (let i = 0; i <= MAX_REPEAT_NESTING; i++) deep = [{ type: 'if', conditions: ALWAYS, then: [repeat(2, deep)] }];
    const tooDeep = await call('POST', '/api/v1/rules', owner, rule(deep));
    expect([tooDeep.status, tooDeep.body.error.code, tooDeep.body.error.details.rule]).toEqual([
      400,
      'rule_too_complex',
      'maxRepeatNesting',
    ]);
    expect((await call('GET', '/api/v1/rules', member)).body).toEqual([]);

    // What stays allowed: a 10,000-pass loop; repeats nested 3 deep whose passes multiply to 10,000.
    expect((await call('POST', '/api/v1/rules', owner, rule([repeat(10_000, [command()])]))).status).toBe(201);
    expect(
      (await call('POST', '/api/v1/rules', owner, rule([repeat(10, [repeat(10, [repeat(100, [command()])])])]))).status,
    ).toBe(201);
  });

  it('a dry run of nested loops stops at its kept-command budget with the code, while /health keeps answering', async () => {
    const start = w.clock.now();
    await advance(w.clock, 60_000);
    await w.report(button, { switch: true });
    await advance(w.clock, 60_000);
    // Passes the validator (a while loop ends on its conditions) but would run 10,000 × 21 actions.
    const bomb = rule([{ type: 'repeat', while: ALWAYS, actions: [repeat(20, [command()])] }]);
    const received = new Promise<void>((resolve) => {
      app.server.on('request', (req) => {
        if (req.url === '/api/v1/rules/dry-run') req.on('end', () => resolve());
      });
    });
    const order: string[] = [];
    const dry = call('POST', '/api/v1/rules/dry-run', member, {
      rule: bomb,
      from: new Date(start).toISOString(),
      to: String(w.clock.now()),
    }).then((res) => {
      order.push('dry-run');
      return res;
    });
    // Issued once the hub has the whole dry-run request.
    await received;
    const health = call('GET', '/api/v1/health', undefined).then((res) => {
      order.push('health');
      return res;
    });
    const [res, ok] = await Promise.all([dry, health]);
    expect(ok.status).toBe(200);
    expect(order).toEqual(['health', 'dry-run']);
    expect(res.status).toBe(200);
    expect(res.body.stopped).toMatchObject({
      code: 'rule_step_budget_exceeded',
      limit: 'dry_run_commands',
      max: DEFAULT_LIMITS.dryRunMaxCommands,
    });
    expect(res.body.commands.length).toBeLessThanOrEqual(DEFAULT_LIMITS.dryRunMaxCommands);
    expect(res.body.firings).toHaveLength(1);
    expect(res.body.firings[0]).toMatchObject({ status: 'failed', reason: 'rule_step_budget_exceeded' });
  });

  it('at most rules.dryRunConcurrent dry runs at a time: more are refused with 429 rule_dry_run_busy', async () => {
    const start = w.clock.now();
    await advance(w.clock, 60_000);
    await w.report(button, { switch: true });
    await advance(w.clock, 60_000);
    const body = {
      rule: rule([{ type: 'repeat', while: ALWAYS, actions: [repeat(20, [command()])] }]),
      from: new Date(start).toISOString(),
      to: String(w.clock.now()),
    };
    const answers = await Promise.all([1, 2, 3].map(() => call('POST', '/api/v1/rules/dry-run', member, body)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429]);
    expect(answers.find((a) => a.status === 429)!.body.error).toMatchObject({
      code: 'rule_dry_run_busy',
      details: { max: DEFAULT_LIMITS.dryRunConcurrent },
    });
    // Once they have answered, the next one runs.
    expect((await call('POST', '/api/v1/rules/dry-run', member, body)).status).toBe(200);
  });

  it("a saved rule's run stops at maxSteps with rule_step_budget_exceeded in its trace, and the hub answers while it runs", async () => {
    expect(validateConfig({}).rules).toEqual({ ...DEFAULT_LIMITS, traceFlushMs: DEFAULT_TRACE_FLUSH_MS });
    // 10,000 passes × (1 + 20) actions: past the default budget of 100,000.
    const huge = rule([
      {
        type: 'repeat',
        while: ALWAYS,
        actions: [repeat(20, [{ type: 'if', conditions: NEVER, then: [{ type: 'notify', message: 'never' }] }])],
      },
    ]);
    const id = (await call('POST', '/api/v1/rules', owner, huge)).body.id;
    expect((await call('POST', `/api/v1/rules/${id}/run`, member)).status).toBe(202);
    // The run gives the event loop a turn every few actions: the next requests are answered while it runs.
    expect((await call('GET', `/api/v1/rules/${id}`, member)).body.running).toBe(1);
    expect((await call('GET', '/api/v1/health', undefined)).status).toBe(200);
    await pollUntil(
      'the run to end',
      async () => (await call('GET', `/api/v1/rules/${id}`, member)).body.running === 0,
      60_000,
      20,
    );
    const [trace] = (await call('GET', `/api/v1/rules/${id}/traces`, member)).body;
    expect(trace).toMatchObject({
      status: 'failed',
      reason: 'rule_step_budget_exceeded',
      steps: DEFAULT_LIMITS.maxSteps,
    });
    expect(trace.actions[0]).toMatchObject({
      type: 'repeat',
      result: 'error',
      error: { code: 'rule_step_budget_exceeded' },
    });
    // The while conditions were tested thousands of times; the trace keeps a bounded number.
    expect(trace.conditions.length).toBeLessThanOrEqual(MAX_TRACED_CONDITIONS);
    expect(trace.untracedConditions).toBeGreaterThan(0);
  });
});
