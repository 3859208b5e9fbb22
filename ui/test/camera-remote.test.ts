import { join } from 'node:path';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, waitFor, type RelayProcess } from '../../cloud-relay/test/helpers/processes.ts';
import { RtspCamera, rtspCameraUnavailable } from '../../hub/test/helpers/rtsp-camera.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const cameraUnavailable = await rtspCameraUnavailable();

/** One metric of the hub's /metrics. */
async function metric(baseUrl: string, token: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1] ?? NaN,
  );
}

/**
 * Cameras away from home: Chromium enrolled on the LAN, then the hub's LAN address stops
 * answering for the page; the camera's live view plays from the relay's LIVE stream (frames
 * decoded and advancing), and a snapshot and the last minute come through the relay as blobs.
 */
describe.skipIf(cameraUnavailable !== null)('cameras through the relay', () => {
  const tmp = tempDir('hearth-ui-camera-remote-');
  const camera = new RtspCamera({ pattern: 'ball' });
  let relay: RelayProcess;
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const cut: string[] = [];

  beforeAll(async () => {
    await camera.start();
    relay = await startRelay(['--data', join(tmp.dir, 'relay')]);
    home = await startTestHub(['--relay', relay.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    await waitFor(
      async () => (home.hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
      'hub tunnel up',
    );
    const added = await api(home.hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Porch', url: camera.url() },
    });
    expect(added.status).toBe(201);
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
    await relay?.kill9();
    await camera.stop();
    tmp.cleanup();
  });

  it('enrolled on the LAN, with the LAN cut the live view plays through the relay, frames advancing', async () => {
    const { page, context } = browser;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Name of this device').fill('Test Chromium');
    await page.getByRole('button', { name: 'Enable remote access on this device' }).click();
    await page.getByText('Remote access is on for this device').waitFor();

    const lanApi = (url: URL) => url.host === `127.0.0.1:${home.hub.http}` && url.pathname.startsWith('/api/');
    await context.route(lanApi, (route: Route) => {
      cut.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    await context.routeWebSocket(lanApi, (ws) => {
      cut.push(ws.url());
      ws.close();
    });
    await page.evaluate(() => {
      location.hash = '#/cameras';
    });
    await page.reload();
    await page.getByRole('status').filter({ hasText: 'Remote (through the relay)' }).waitFor();

    const live = page.getByRole('article', { name: 'Porch' }).locator('video');
    const handle = await live.elementHandle();
    // Decoded by Chromium from fragments that came through the relay, and still coming.
    await page.waitForFunction(
      (el) => (el as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames > 5,
      handle,
      { timeout: 30_000 },
    );
    const fragments = Number(await live.getAttribute('data-fragments'));
    await page.waitForFunction(
      ([el, n]) => Number((el as HTMLVideoElement).dataset.fragments) > (n as number) + 5,
      [handle, fragments] as const,
      { timeout: 30_000 },
    );
    expect(cut.some((url) => url.includes('/live'))).toBe(false);
    expect(await metric(home.hub.baseUrl, token, 'hearth_remote_live_streams_total')).toBeGreaterThanOrEqual(1);
    await screenshots(page, 'remote-cameras');
  });

  it('a snapshot and the last minute play from blobs fetched through the relay', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Porch' }).click();
    await page.getByRole('heading', { name: 'Porch' }).waitFor();
    for (let i = 0; i < 40 && !(await page.getByRole('button', { name: 'Play the last minute' }).count()); i++) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    const before = cut.length;
    await page.getByRole('button', { name: 'Play the last minute' }).click();
    const playback = page.locator('video[controls]');
    await page.waitForFunction(
      (el) => (el as HTMLVideoElement).readyState >= 2 && (el as HTMLVideoElement).videoWidth === 320,
      await playback.elementHandle(),
      { timeout: 30_000 },
    );
    await page.getByRole('link', { name: 'Export this clip' }).waitFor();
    await page.getByRole('button', { name: 'Snapshot' }).click();
    const snapshot = page.getByRole('img', { name: 'Snapshot of Porch' });
    await page.waitForFunction(
      (el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth === 320,
      await snapshot.elementHandle(),
      { timeout: 30_000 },
    );
    // Nothing of it tried the LAN.
    expect(cut.slice(before).filter((url) => /playback|snapshot/.test(url))).toEqual([]);
    await screenshots(page, 'remote-camera');
    // Waiting for the first recorded segment (up to 40 reloads through the relay) and two 30 s
    // waits can outlast the default 60 s on a loaded machine; nothing here judges speed.
  }, 120_000);
});
