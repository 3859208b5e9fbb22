import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { causedByRule, dryRun } from '../../src/rules/dry-run.ts';
import { validateRule } from '../../src/rules/validate.ts';
import type { EventRow } from '../../src/store/history-repo.ts';

const log = createLogger({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 5, 7, 0, 0);
let nextId = 0;
const state = (at: number, deviceId: string, capability: string, value: unknown, previous: unknown): EventRow => ({
  id: ++nextId,
  at,
  deviceId,
  kind: 'state',
  capability,
  value,
  previous,
  actor: null,
  outcome: null,
});
const command = (
  at: number,
  deviceId: string,
  capability: string,
  value: unknown,
  actor: unknown,
  outcome = 'confirmed',
): EventRow => ({ id: ++nextId, at, deviceId, kind: 'command', capability, value, previous: null, actor, outcome });

/**
 * The saved rule "when the lamp comes on, switch the heater on". Until 07:00 an older version of
 * the same rule switched the lamp on itself at 07:00; today's version would not have. Replaying
 * today's rule must not fire on the lamp change its own earlier version caused; a person's
 * lamp change at 08:00 still counts.
 */
describe('dry run of a saved rule', () => {
  const definition = {
    name: 'Warm when lit',
    mode: 'single',
    triggers: [{ type: 'state', device: 'lamp', capability: 'switch', to: true }],
    conditions: [],
    actions: [{ type: 'command', device: 'heater', capability: 'switch', value: true }],
  };
  const events: EventRow[] = [
    state(T0, 'lamp', 'switch', true, false), // caused by rule_1 (confirmed just after)
    command(T0 + 80, 'lamp', 'switch', true, { kind: 'rule', ruleId: 'rule_1' }),
    state(T0 + 30 * 60_000, 'lamp', 'switch', false, true), // a person, no command row
    state(T0 + 60 * 60_000, 'lamp', 'switch', true, false), // a person again
    command(T0 + 60 * 60_000 + 50, 'lamp', 'switch', true, {
      kind: 'user',
      userId: 'u1',
      username: 'mia',
      role: 'member',
    }),
  ];
  const run = (ruleId: string | undefined) =>
    dryRun({
      definition: validateRule(definition).definition,
      from: T0 - 1000,
      to: T0 + 2 * 3600_000,
      events,
      truncated: false,
      location: undefined,
      scenes: new Map(),
      log,
      ruleId,
    });

  it('finds the state change each of its confirmed commands caused, and nothing else', () => {
    expect([...causedByRule(events, 'rule_1')]).toEqual([0]);
    expect([...causedByRule(events, 'rule_2')]).toEqual([]);
    // A command that failed caused nothing.
    expect([
      ...causedByRule(
        [events[0]!, command(T0 + 80, 'lamp', 'switch', true, { kind: 'rule', ruleId: 'rule_1' }, 'device_timeout')],
        'rule_1',
      ),
    ]).toEqual([]);
  });

  it("leaves out its own past effects: fires only on the person's change", async () => {
    const saved = await run('rule_1');
    expect(saved.skippedOwnEffects).toBe(1);
    expect(saved.commands.map((c) => c.at)).toEqual([new Date(T0 + 60 * 60_000).toISOString()]);
    // The same definition unsaved (nothing of its own in the history) fires on both.
    const unsaved = await run(undefined);
    expect(unsaved.skippedOwnEffects).toBe(0);
    expect(unsaved.commands.map((c) => c.at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + 60 * 60_000).toISOString(),
    ]);
  });
});
