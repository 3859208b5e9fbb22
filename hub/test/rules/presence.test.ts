import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flush, OWNER, world, type World } from './helpers.ts';

const command = (device: string, value: unknown) => ({ type: 'command', device, capability: 'switch', value });

/**
 * Presence in rules (rules/triggers/presence.ts, conditions/presence.ts): "when everyone is away"
 * and "when mia comes home" as triggers, "someone is home" as a condition, on presence set by hand
 * and from a key fob's state (devices/presence.ts). What leaves is the command at the driver.
 */
describe('presence in rules', () => {
  let w: World;
  let lamp: string;
  let camera: string;
  let fob: string;
  const users = ['usr_mia', 'usr_sam'];
  beforeEach(async () => {
    w = await world();
    lamp = await w.device('Lamp', ['switch']);
    camera = await w.device('Camera alerts', ['switch']);
    fob = await w.device('Key fob', ['switch']);
    for (const id of users)
      w.store.users.insert({ id, username: id.slice(4), passwordHash: 'x', role: 'member', createdAt: w.clock.now() });
  });
  afterEach(async () => w.close());

  const sent = () => w.driver.commands.map(({ deviceId, value }) => [deviceId, value]);

  it('everyone away switches the lamp off once; coming home with a fob switches it on; a condition mutes alerts while someone is home', async () => {
    w.rules.create(
      {
        name: 'Away',
        mode: 'single',
        triggers: [{ type: 'presence', to: 'everyone_away' }],
        conditions: [],
        actions: [command(lamp, false)],
      },
      OWNER,
    );
    w.rules.create(
      {
        name: 'Mia home',
        mode: 'single',
        triggers: [{ type: 'presence', user: 'usr_mia', state: 'home' }],
        conditions: [],
        actions: [command(lamp, true)],
      },
      OWNER,
    );
    w.rules.create(
      {
        name: 'Mute alerts',
        mode: 'single',
        triggers: [{ type: 'state', device: lamp, capability: 'switch', to: true }],
        conditions: [{ type: 'presence', to: 'someone_home' }],
        actions: [command(camera, false)],
      },
      OWNER,
    );
    w.registry.presence.set('usr_sam', 'home', 'manual');
    w.registry.presence.follow('usr_mia', fob, 'switch', true);
    await flush();
    expect(sent()).toEqual([]);
    // Sam leaves and Mia's fob is not home: everyone away, the lamp goes off (once).
    w.registry.presence.set('usr_sam', 'away', 'phone');
    await flush();
    expect(sent()).toEqual([[lamp, false]]);
    w.registry.presence.set('usr_sam', 'away', 'manual');
    await flush();
    expect(sent()).toEqual([[lamp, false]]);
    // Mia's fob comes home: her rule switches the lamp on, and with someone home the alerts mute.
    await w.report(fob, { switch: true });
    await flush();
    expect(sent()).toEqual([
      [lamp, false],
      [lamp, true],
      [camera, false],
    ]);
    const [trace] = w.traces(w.rules.list().find((r) => r.name === 'Mute alerts')!.id);
    expect(trace).toMatchObject({
      conditions: [{ type: 'presence', result: true, seen: { presence: 'someone_home' } }],
    });
  });

  it('refuses a presence trigger that names neither the home nor a person', () => {
    expect(() =>
      w.rules.create(
        { name: 'Bad', mode: 'single', triggers: [{ type: 'presence', to: 'nobody' }], conditions: [], actions: [] },
        OWNER,
      ),
    ).toThrowError(expect.objectContaining({ code: 'validation_failed' }));
  });
});
