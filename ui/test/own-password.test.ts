import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'sam', password: 'sams long password' };
const NEW_PASSWORD = 'sams brand new password';

/**
 * Settings by role and "Your password" against the real hub: the owner's Settings has every
 * form; a member's shows the home read-only and only what a member may change (their password,
 * remote access), no MQTT users, rooms or people. The member changes their own password: a wrong
 * current one is explained at its field; a right one keeps this page logged in, ends the member's
 * other session, and afterwards only the new password logs in.
 */
describe('settings by role, and changing one’s own password', () => {
  let home: TestHome;
  let owner: Browser;
  let member: Browser;
  let token: string;

  const logIn = async (page: Page, who: { username: string; password: string }) => {
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };
  const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true });

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...MEMBER, role: 'member' } })).status,
    ).toBe(201);
    expect(
      (
        await api(home.hub.baseUrl, 'PATCH', '/api/v1/home', {
          token,
          body: { location: { latitude: 52.52, longitude: 13.405 }, timezone: 'Europe/Berlin' },
        })
      ).status,
    ).toBe(200);
    owner = await openBrowser();
    member = await openBrowser();
  });

  afterAll(async () => {
    await member?.close();
    await owner?.close();
    await home?.cleanup();
  });

  it("the owner's Settings still has every form", async () => {
    const { page } = owner;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, OWNER);
    await page.getByTestId('me').filter({ hasText: 'Signed in as owner (owner).' }).waitFor();
    for (const name of [
      'Home',
      'People',
      'Your password',
      'Rooms',
      'MQTT users for integrations',
      'Away from home',
      'Hub health',
    ])
      await heading(page, name).waitFor();
    expect(await page.getByLabel('Latitude').inputValue()).toBe('52.52');
    for (const button of ['Save', 'Add person', 'Change password', 'Add room', 'Create MQTT user']) {
      expect(await page.getByRole('button', { name: button, exact: true }).count(), button).toBe(1);
    }
  });

  it("a member's Settings shows the home read-only and only what a member may change", async () => {
    const { page } = member;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, MEMBER);
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();
    for (const name of ['Home', 'Your password', 'Away from home', 'Hub health']) await heading(page, name).waitFor();
    expect(await page.getByTestId('home-location').textContent()).toBe('52.52, 13.405');
    await page.getByRole('button', { name: 'Change password' }).waitFor();
    for (const name of ['People', 'Rooms', 'MQTT users for integrations'])
      expect(await heading(page, name).count(), name).toBe(0);
    for (const button of ['Save', 'Add person', 'Add room', 'Create MQTT user']) {
      expect(await page.getByRole('button', { name: button, exact: true }).count(), button).toBe(0);
    }
    expect(await page.getByLabel('Latitude').count()).toBe(0);
    // Nothing on the page answered "not allowed".
    expect(await page.getByText('Your account is not allowed to do that.').count()).toBe(0);
    await screenshots(page, 'settings-member');
  });

  it('a wrong current password is explained at its field, and nothing changes', async () => {
    const { page } = member;
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    const error = page.locator('#own-password-current-error');
    await error.waitFor();
    expect(await error.textContent()).toBe('That is not your current password.');
    expect(await page.getByLabel('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('own-password-current');
    // Two different new passwords are caught in the page, at the repeat field.
    await page.getByLabel('Current password').fill(MEMBER.password);
    await page.getByLabel('Repeat the new password').fill('something else entirely');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page
      .locator('#own-password-repeat-error')
      .filter({ hasText: 'The two new passwords are not the same.' })
      .waitFor();
    // A short one at the new password's field.
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page
      .locator('#own-password-new-error')
      .filter({ hasText: 'A password needs at least 8 characters.' })
      .waitFor();
    const login = await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: MEMBER });
    expect(login.status).toBe(200);
  });

  it('changing it keeps this page logged in, ends the other session, and only the new password logs in', async () => {
    const { page } = member;
    // Another session of the same member (another phone): it ends with the change.
    const other = (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: MEMBER })).body as {
      accessToken: string;
      refreshToken: string;
    };
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/me', { token: other.accessToken })).status).toBe(200);

    // The hub's answer reaches the page only after its events stream closed (the old sessions
    // ended): the refresh that the close sets off must wait for the new session rather than
    // present the revoked refresh token, whose refusal would log this page out.
    const socket = page.waitForEvent('websocket', (ws) => ws.url().includes('/api/v1/events'));
    await page.reload();
    await page.getByTestId('me').waitFor();
    const events = await socket;
    const eventsClosed = new Promise<void>((resolve) => events.on('close', () => resolve()));
    await page.route('**/api/v1/me/password', async (route) => {
      const response = await route.fetch();
      await eventsClosed;
      await route.fulfill({ response });
    });
    await page.getByLabel('Current password').fill(MEMBER.password);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password is changed.' }).waitFor();
    await page.unroute('**/api/v1/me/password');
    expect(await page.getByLabel('Current password').inputValue()).toBe('');

    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/me', { token: other.accessToken })).status).toBe(401);
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } }))
        .status,
    ).toBe(401);

    // This page is still logged in: its events stream (closed by the hub as the old sessions
    // ended) reconnects with the adopted session, pages load, and a reload refreshes with it.
    await page.getByRole('link', { name: 'Home' }).click();
    await heading(page, 'Home').waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();
    await page.reload();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();
    expect(await heading(page, 'Log in').count()).toBe(0);

    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in').waitFor();
    await logIn(page, MEMBER);
    await expect(page.getByRole('alert').textContent()).resolves.toBe('That username and password do not match.');
    await logIn(page, { username: MEMBER.username, password: NEW_PASSWORD });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();
  });
});
