import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushService, openPush } from '../../cloud-relay/test/helpers/push-service.ts';
import { startRelay, waitFor, type RelayProcess } from '../../cloud-relay/test/helpers/processes.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

interface Shown {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  data: { level?: string; ruleId?: string | null; path?: string } | null;
}

/**
 * Web Push on an enrolled browser: Settings → "Away from home" → "Notifications on this device".
 * The real hub encrypts (RFC 8291) and the real relay posts to a push service on loopback
 * (`--push-allow-loopback`); the test decrypts what arrived, as the browser's push service would
 * hand it over, and delivers it to the app's own service worker through the Chrome DevTools
 * Protocol, then reads the notifications the worker really showed. The browser's own push service
 * (Google's, on the internet) is unreachable here: the page must say so in plain words, not hang;
 * for the page's turn on/off path that service is stood in for inside the page.
 */
describe('push notifications shown by the service worker', () => {
  const tmp = tempDir('hearth-ui-push-');
  let pushService: PushService;
  let relay: RelayProcess;
  let home: TestHome;
  let browser: Browser;
  let cdp: CDPSession;
  let token: string;
  let deviceId: string;
  const registrations = new Map<string, { registrationId: string; scopeURL: string; isDeleted: boolean }>();

  beforeAll(async () => {
    pushService = new PushService();
    await pushService.start();
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--push-allow-loopback']);
    home = await startTestHub(['--relay', relay.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    await waitFor(
      async () => (home.hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
      'hub tunnel up',
    );
    browser = await openBrowser();
    cdp = await browser.context.newCDPSession(browser.page);
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
      for (const r of event.registrations) registrations.set(r.registrationId, r);
    });
    await cdp.send('ServiceWorker.enable');
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
    await relay?.kill9();
    await pushService?.stop();
    tmp.cleanup();
  });

  const section = () => browser.page.getByRole('group', { name: 'Notifications on this device' });

  /** Hands a push message to the app's service worker, as the browser does when one arrives. */
  async function deliver(data: string): Promise<void> {
    const origin = home.hub.baseUrl;
    const reg = await waitFor(
      async () => [...registrations.values()].find((r) => !r.isDeleted && r.scopeURL === `${origin}/`),
      'service worker registration',
    );
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: reg.registrationId, data });
  }

  const listNotifications = (page: Page): Promise<Shown[]> =>
    page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        requireInteraction: n.requireInteraction,
        data: n.data as Shown['data'],
      })),
    );

  /** Closes what the worker shows and waits until the browser lists none (close() is not immediate). */
  async function clearNotifications(page: Page): Promise<void> {
    await page.evaluate(async () => {
      for (const n of await (await navigator.serviceWorker.ready).getNotifications()) n.close();
    });
    await waitFor(
      async () => ((await listNotifications(page)).length === 0 ? true : undefined),
      'notifications closed',
    );
  }

  /** The notifications the service worker shows (waits for the first one). */
  function shownNotifications(page: Page): Promise<Shown[]> {
    return waitFor(async () => {
      const list = await listNotifications(page);
      return list.length > 0 ? list : undefined;
    }, 'a notification');
  }

  it('an enrolled browser offers notifications; refused permission is said in plain words', async () => {
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    // Not enrolled: nothing about notifications yet.
    await page.getByRole('button', { name: 'Enable remote access on this device' }).waitFor();
    expect(await section().count()).toBe(0);
    await page.getByLabel('Name of this device').fill('Push Chromium');
    await page.getByRole('button', { name: 'Enable remote access on this device' }).click();
    await section().getByText('Notifications are off for this device').waitFor();
    deviceId = (
      (await api(home.hub.baseUrl, 'GET', '/api/v1/remote/devices', { token })).body as { id: string; name: string }[]
    ).find((d) => d.name === 'Push Chromium')!.id;

    await browser.context.clearPermissions();
    await section().getByRole('button', { name: 'Turn on notifications' }).click();
    await section()
      .getByRole('alert')
      .filter({ hasText: /blocked for this site|were not allowed/ })
      .waitFor();
    // Nothing reached the hub: a test has no address to go to.
    expect(
      (await api(home.hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([]);
  });

  it('with permission, the browser push service being unreachable is shown as an error instead of hanging', async () => {
    await browser.context.grantPermissions(['notifications'], { origin: home.hub.baseUrl });
    const turnOn = section().getByRole('button', { name: 'Turn on notifications' });
    await turnOn.click();
    await section()
      .getByRole('alert')
      .filter({ hasText: 'could not reach its push service' })
      .waitFor({ timeout: 40_000 });
    await expect(turnOn.isEnabled()).resolves.toBe(true);
    await section().getByText('Notifications are off for this device').waitFor();
    await screenshots(browser.page, 'settings-notifications-error');
    expect(
      (await api(home.hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([]);
  });

  it('"Send a test notification" goes hub → relay → push service, and the service worker shows exactly what was sent', async () => {
    const { page } = browser;
    // The subscription the browser would have made, stored through the hub's API.
    const sub = pushService.subscription('chromium');
    expect(
      (
        await api(home.hub.baseUrl, 'PUT', `/api/v1/remote/devices/${deviceId}/push`, {
          token,
          body: { ...sub.json, expirationTime: null },
        })
      ).status,
    ).toBe(204);

    await section().getByRole('button', { name: 'Send a test notification' }).click();
    await section()
      .getByRole('list', { name: 'Test notification results' })
      .getByText('Sent: the push service accepted it')
      .waitFor();
    expect(pushService.received).toHaveLength(1);
    expect(pushService.received[0]!.path).toBe('/push/chromium');
    const plain = openPush(pushService.received[0]!.body, sub.ua, sub.auth);
    const sent = JSON.parse(plain) as { title: string; body: string; at: number };
    expect(sent).toMatchObject({ title: 'Hearth', body: 'Test notification' });

    await clearNotifications(page);
    await deliver(plain);
    expect(await shownNotifications(page)).toEqual([
      {
        title: 'Hearth',
        body: 'Test notification',
        tag: `hearth:${sent.at}`,
        requireInteraction: false,
        data: { level: 'info', ruleId: null, path: '/' },
      },
    ]);
    await screenshots(page, 'settings-notifications-test');
  });

  it("a rule's alert arrives as a notification that stays until dismissed and leads to the rule's page", async () => {
    const { page } = browser;
    const rule = await api(home.hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'Leak alarm',
        mode: 'single',
        triggers: [{ type: 'time', at: '03:00' }],
        actions: [{ type: 'notify', message: 'Water under the sink', level: 'alert' }],
      },
    });
    expect(rule.status).toBe(201);
    const ruleId = rule.body.id as string;
    const sub = pushService.subscription('chromium-2');
    expect(
      (await api(home.hub.baseUrl, 'PUT', `/api/v1/remote/devices/${deviceId}/push`, { token, body: sub.json })).status,
    ).toBe(204);
    const before = pushService.received.length;
    expect((await api(home.hub.baseUrl, 'POST', `/api/v1/rules/${ruleId}/run`, { token })).status).toBe(202);
    const push = await waitFor(
      async () => pushService.received.slice(before).find((p) => p.path === '/push/chromium-2'),
      'rule notification at the push service',
    );
    const plain = openPush(push.body, sub.ua, sub.auth);
    expect(JSON.parse(plain)).toMatchObject({ title: 'Hearth', body: 'Water under the sink', level: 'alert', ruleId });

    await clearNotifications(page);
    await deliver(plain);
    expect(await shownNotifications(page)).toEqual([
      {
        title: 'Hearth',
        body: 'Water under the sink',
        tag: `rule:${ruleId}`,
        requireInteraction: true,
        data: { level: 'alert', ruleId, path: `/rules/${ruleId}` },
      },
    ]);
  });

  it('a push that is not JSON, or empty, still shows a plain "Hearth" notification', async () => {
    const { page } = browser;
    for (const data of ['not json {', '', '[1,2]', '{"title": 42}']) {
      await clearNotifications(page);
      await deliver(data);
      const [n, ...rest] = await shownNotifications(page);
      expect(rest).toEqual([]);
      expect(n).toMatchObject({
        title: 'Hearth',
        body: 'Something happened at home. Open Hearth to see what.',
        requireInteraction: false,
        data: { path: '/' },
      });
      expect(n!.tag).toMatch(/^hearth:/);
    }
    expect(browser.pageErrors).toEqual([]);
  });

  it('turning on stores the subscription at the hub and turning off clears it (push service stood in for in the page)', async () => {
    const { page } = browser;
    const sub = pushService.subscription('stand-in');
    // What pushManager would answer with a reachable push service: a subscription to it.
    await page.addInitScript((json: typeof sub.json) => {
      let current: (PushSubscription & { toJSON(): unknown }) | null = null;
      PushManager.prototype.getSubscription = async () => current;
      PushManager.prototype.subscribe = async (options?: PushSubscriptionOptionsInit) => {
        current = {
          endpoint: json.endpoint,
          expirationTime: null,
          options: {
            applicationServerKey: (options!.applicationServerKey as Uint8Array).buffer,
            userVisibleOnly: true,
          },
          toJSON: () => ({ ...json, expirationTime: null }),
          unsubscribe: async () => {
            current = null;
            return true;
          },
          getKey: () => null,
        } as unknown as PushSubscription;
        return current;
      };
    }, sub.json);
    await page.reload();
    await section().getByText('Notifications are off for this device').waitFor();
    await section().getByRole('button', { name: 'Turn on notifications' }).click();
    await section().getByText('Notifications are on').waitFor();
    const before = pushService.received.length;
    expect(
      (await api(home.hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([{ deviceId, status: 201 }]);
    expect(pushService.received.slice(before).map((p) => p.path)).toEqual(['/push/stand-in']);
    await screenshots(page, 'settings-notifications-on');

    await section().getByRole('button', { name: 'Turn off notifications' }).click();
    await section().getByText('Notifications are off for this device').waitFor();
    expect(
      (await api(home.hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([]);

    // The UI's test with nothing stored says so.
    await section().getByRole('button', { name: 'Send a test notification' }).click();
    await section()
      .getByRole('list', { name: 'Test notification results' })
      .getByText('the hub has no notification address for this device')
      .waitFor();
  });
});
