import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OWNER, world, type World } from './helpers.ts';

/**
 * Issue 19: rules fire on a remote's presses (events: the same press twice fires twice), of one
 * button and one kind of press, and set the new capabilities (cover, colour, climate, power-on
 * behaviour); a value outside the model is refused on save with the code a direct command gets.
 */
describe('rules on remote presses and the new capabilities', () => {
  let w: World;
  let remote: string;
  let blind: string;
  let bulb: string;
  beforeEach(async () => {
    w = await world();
    remote = await w.device('Remote', ['button']);
    blind = await w.device('Blind', ['cover', 'cover_position', 'cover_tilt']);
    bulb = await w.device('Bulb', ['switch', 'color_temp', 'color_x', 'color_hue', 'power_on_behavior']);
  });
  afterEach(async () => w.close());

  const command = (device: string, capability: string, value: unknown) => ({
    type: 'command',
    device,
    capability,
    value,
  });
  const sent = () => w.driver.commands.map(({ deviceId, capability, value }) => [deviceId, capability, value]);

  it('an action trigger fires on each press of that button and kind, and sets covers and colour', async () => {
    const rule = w.rules.create(
      {
        name: 'Evening',
        mode: 'queued',
        triggers: [{ type: 'action', device: remote, button: '2', press: 'double' }],
        actions: [
          command(blind, 'cover_position', 30),
          command(blind, 'cover_tilt', 45),
          command(bulb, 'color_temp', 2700),
          command(bulb, 'color_x', 0.6),
          command(bulb, 'power_on_behavior', 'previous'),
          command(blind, 'cover', 'stop'),
        ],
      },
      OWNER,
    );
    await w.report(remote, { button: '1_double' }); // another button
    await w.report(remote, { button: '2_single' }); // another press
    await w.report(remote, { button: 'single' }); // no button at all
    expect(sent()).toEqual([]);
    await w.report(remote, { button: '2_double' });
    expect(sent()).toEqual([
      [blind, 'cover_position', 30],
      [blind, 'cover_tilt', 45],
      [bulb, 'color_temp', 2700],
      [bulb, 'color_x', 0.6],
      [bulb, 'power_on_behavior', 'previous'],
      [blind, 'cover', 'stop'],
    ]);
    // The same press again is a new event, not an unchanged state: it fires again.
    await w.report(remote, { button: '2_double' });
    expect(sent()).toHaveLength(12);
    const [trace] = w.traces(rule.id);
    expect(trace).toMatchObject({
      status: 'done',
      trigger: { type: 'action', device: remote, action: '2_double', button: '2', press: 'double' },
    });
  });

  it('without a button or press, any press of the remote fires', async () => {
    w.rules.create(
      {
        name: 'Any press',
        mode: 'queued',
        triggers: [{ type: 'action', device: remote, press: 'hold' }],
        actions: [command(blind, 'cover', 'open')],
      },
      OWNER,
    );
    await w.report(remote, { button: 'hold' });
    await w.report(remote, { button: 'brightness_up_hold' });
    await w.report(remote, { button: 'brightness_up_release' });
    expect(sent()).toEqual([
      [blind, 'cover', 'open'],
      [blind, 'cover', 'open'],
    ]);
  });

  it('refuses on save a value out of range or off the list with the stable code, and an unknown press', () => {
    const save = (actions: unknown[], triggers: unknown[] = [{ type: 'action', device: remote }]) => {
      try {
        w.rules.create({ name: 'Bad', mode: 'single', triggers, actions }, OWNER);
        return 'saved';
      } catch (err) {
        const e = err as { code: string; details?: { path?: string } };
        return [e.code, e.details?.path];
      }
    };
    expect(save([command(blind, 'cover_position', 120)])).toEqual(['value_out_of_range', 'actions.0.value']);
    expect(save([command(bulb, 'color_hue', 361)])).toEqual(['value_out_of_range', 'actions.0.value']);
    expect(save([command(blind, 'cover', 'up')])).toEqual(['value_not_allowed', 'actions.0.value']);
    expect(save([command(bulb, 'power_on_behavior', 'ON')])).toEqual(['value_not_allowed', 'actions.0.value']);
    expect(save([command(remote, 'button', 'single')])[0]).toBe('validation_failed'); // an event cannot be set
    expect(save([command(blind, 'cover', 'open')], [{ type: 'action', device: remote, press: 'squeeze' }])[0]).toBe(
      'validation_failed',
    );
    expect(save([command(blind, 'cover', 'open')])).toBe('saved');
  });
});
