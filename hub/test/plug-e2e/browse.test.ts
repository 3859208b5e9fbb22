import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Mdns, type Sighting } from '../../src/mdns/mdns.ts';
import { tempDir } from '../helpers/temp.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from './helpers.ts';

/**
 * The hub's browser against the C simulator's responder: a plug that dies without a goodbye
 * (kill -9) is forgotten after a few unanswered re-queries, not after its 75-minute PTR TTL,
 * while a live plug that keeps answering stays. Re-query period shortened for the test.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('mDNS browsing: freshness', () => {
  let tmp: ReturnType<typeof tempDir>;
  let mdns: Mdns;
  const log: { kind: 'up' | 'down'; name: string }[] = [];
  let sim: SimProcess;
  const ID = 'plug-f0f0f0f0f0f0';

  beforeAll(async () => {
    tmp = tempDir();
    mdns = new Mdns({
      interfaces: ['lo'],
      log: createLogger({ level: 'silent' }),
      clock: systemClock,
      advertise: () => [],
      browse: [
        {
          type: 'hearth-plug',
          up: (s: Sighting) => log.push({ kind: 'up', name: s.name }),
          down: (name) => log.push({ kind: 'down', name }),
        },
      ],
      requeryMs: 400,
      sweepMs: 100,
    });
    await mdns.start();
  });
  afterAll(async () => {
    await sim?.stop();
    await mdns?.stop();
    tmp?.cleanup();
  });

  it('keeps a live plug across re-queries, forgets it after kill -9, finds it again when it returns', async () => {
    sim = await startSim({ id: ID, setupCode: '12345678', stateDir: join(tmp.dir, 'sim') });
    await waitFor(() => (log.some((e) => e.kind === 'up' && e.name === ID) ? true : undefined), 'the plug to be seen');
    // Several lifetimes (3 re-queries = 1.2 s) pass: it answers each re-query and stays.
    await new Promise((r) => setTimeout(r, 3000));
    expect(log.filter((e) => e.name === ID).map((e) => e.kind)).toEqual(['up']);

    await sim.kill9(); // no goodbye
    await waitFor(
      () => (log.some((e) => e.kind === 'down' && e.name === ID) ? true : undefined),
      'the silent plug to be forgotten',
    );

    sim = await startSim({ id: ID, setupCode: '12345678', stateDir: join(tmp.dir, 'sim') });
    await waitFor(
      () => (log.filter((e) => e.kind === 'up' && e.name === ID).length === 2 ? true : undefined),
      'the plug to be seen again',
    );
    expect(log.filter((e) => e.name === ID).map((e) => e.kind)).toEqual(['up', 'down', 'up']);
  });
});
