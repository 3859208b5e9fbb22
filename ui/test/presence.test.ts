import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { api, createOwner, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'mia', password: 'mias long password' };
const GUEST = { username: 'cleaner', password: 'cleaners long password' };

/**
 * Settings → Presence against the real hub: a member says they are home and then away, sees the
 * home's state change, and stops sharing it; the hub's answers (to the owner, and to a guest who
 * sees only themselves) follow.
 */
describe('presence in Settings', () => {
  let home: TestHome;
  let browser: Browser;
  let owner: string;
  let guest: string;

  beforeAll(async () => {
    home = await startTestHub();
    owner = (await createOwner(home.hub)).body.accessToken;
    for (const [person, role] of [
      [MEMBER, 'member'],
      [GUEST, 'guest'],
    ] as const) {
      const res = await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token: owner, body: { ...person, role } });
      expect(res.status).toBe(201);
    }
    guest = (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: GUEST })).body.accessToken;
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  const presence = async (token: string) => (await api(home.hub.baseUrl, 'GET', '/api/v1/presence', { token })).body;

  it('a member says home, then away, then stops sharing it', async () => {
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(MEMBER.username);
    await page.getByLabel('Password').fill(MEMBER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Presence' }).waitFor();
    await page.getByTestId('my-presence').filter({ hasText: 'You do not share whether you are home.' }).waitFor();
    await page.getByTestId('home-presence').filter({ hasText: 'Nobody shares' }).waitFor();

    await page.getByRole('button', { name: 'I am home' }).click();
    await page.getByTestId('my-presence').filter({ hasText: 'You are home' }).waitFor();
    await page.getByTestId('home-presence').filter({ hasText: 'Someone is home.' }).waitFor();
    expect(await presence(owner)).toMatchObject({ home: 'someone_home', people: [{ username: 'mia', state: 'home' }] });
    // A guest sees neither mia nor whether the home is empty.
    expect(await presence(guest)).toEqual({ home: null, people: [] });

    await page.getByRole('button', { name: 'I am away' }).click();
    await page.getByTestId('home-presence').filter({ hasText: 'Everyone is away.' }).waitFor();
    expect(await presence(owner)).toMatchObject({
      home: 'everyone_away',
      people: [{ username: 'mia', state: 'away' }],
    });

    await page.getByRole('button', { name: 'Stop sharing my presence' }).click();
    await page.getByTestId('my-presence').filter({ hasText: 'You do not share' }).waitFor();
    expect(await presence(owner)).toEqual({ home: 'unknown', people: [] });
  });
});
