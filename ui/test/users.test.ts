import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'sam', password: 'sams long password' };

/**
 * Settings → People against the real hub: the owner adds a member (shown, and stored), a taken
 * username is explained at its field, the member (in a browser of their own) has no People
 * section, and removing the member logs their open page out at its next call to the hub.
 */
describe('people', () => {
  let home: TestHome;
  let owner: Browser;
  let member: Browser | undefined;
  let token: string;
  const users = async () =>
    (await api(home.hub.baseUrl, 'GET', '/api/v1/users', { token })).body as { username: string; role: string }[];

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    owner = await openBrowser();
    const { page } = owner;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
  });

  afterAll(async () => {
    await member?.close();
    await owner?.close();
    await home?.cleanup();
  });

  it('the owner adds a member: the list shows it and the hub has stored it', async () => {
    const { page } = owner;
    const people = page.getByRole('list', { name: 'People' });
    // The owner's own row offers no way to remove or re-role themselves.
    await people.getByRole('listitem', { name: OWNER.username }).getByText('Owner (you)').waitFor();
    expect(await page.getByRole('button', { name: `Remove ${OWNER.username}` }).count()).toBe(0);
    // An owner may give every role, owner included.
    expect(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents()).toEqual([
      'Owner',
      'Admin',
      'Member',
      'Guest',
    ]);

    await page.getByLabel('Username', { exact: true }).fill(MEMBER.username);
    await page.getByLabel('Password', { exact: true }).fill(MEMBER.password);
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Add person' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Added ${MEMBER.username}.` })
      .waitFor();
    await people
      .getByRole('listitem', { name: MEMBER.username })
      .getByTestId(`role-${MEMBER.username}`)
      .filter({ hasText: 'Member' })
      .waitFor();
    expect(await users()).toEqual([
      expect.objectContaining({ username: OWNER.username, role: 'owner' }),
      expect.objectContaining({ username: MEMBER.username, role: 'member' }),
    ]);
  });

  it('a taken username is explained at the username field', async () => {
    const { page } = owner;
    await page.getByLabel('Username', { exact: true }).fill(MEMBER.username);
    await page.getByLabel('Password', { exact: true }).fill('another password');
    await page.getByRole('button', { name: 'Add person' }).click();
    const error = page.locator('#person-username-error');
    await error.waitFor();
    expect(await error.textContent()).toBe('Someone already has that username. Choose another.');
    expect(await page.getByLabel('Username', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('person-username');
    expect((await users()).filter((u) => u.username === MEMBER.username)).toHaveLength(1);
  });

  it('the member, logged in elsewhere, does not see the People section', async () => {
    member = await openBrowser();
    const { page } = member;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(MEMBER.username);
    await page.getByLabel('Password').fill(MEMBER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();
    await page.getByRole('heading', { name: 'Your password' }).waitFor();
    expect(await page.getByRole('heading', { name: 'People' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Add person' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  });

  it('removing the member, after a confirmation, logs their open page out at once', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: `Remove ${MEMBER.username}` }).click();
    const confirm = page.getByRole('group', { name: /Remove sam\?/ });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('Their sessions and remote devices end at once');
    // Focus lands on the harmless choice.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.getByRole('heading', { name: 'People' }).scrollIntoViewIfNeeded();
    await screenshots(page, 'settings-people');

    await confirm.getByRole('button', { name: `Yes, remove ${MEMBER.username}` }).click();
    await page.getByRole('listitem', { name: MEMBER.username }).waitFor({ state: 'detached' });
    expect((await users()).map((u) => u.username)).toEqual([OWNER.username]);

    // The member's open page asks to log in without a click: the hub closed its events stream
    // with 4401 at once, and the refresh that follows is refused (the user is gone).
    const other = member!.page;
    await other.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await other.getByTestId('me').count()).toBe(0);
    await other.reload();
    await other.getByRole('heading', { name: 'Log in' }).waitFor();
    await other.getByLabel('Username').fill(MEMBER.username);
    await other.getByLabel('Password').fill(MEMBER.password);
    await other.getByRole('button', { name: 'Log in' }).click();
    await expect(other.getByRole('alert').textContent()).resolves.toBe('That username and password do not match.');
  });

  it('the owner changes a role and resets a password; a short password is explained at its field', async () => {
    const { page } = owner;
    await page.getByLabel('Username', { exact: true }).fill('kim');
    await page.getByLabel('Password', { exact: true }).fill('kims first password');
    await page.getByRole('button', { name: 'Add person' }).click();
    const kim = page.getByRole('listitem', { name: 'kim' });
    await kim.waitFor();
    await page.getByLabel('Role for kim').selectOption('guest');
    await kim.getByRole('button', { name: 'Change role' }).click();
    await kim.getByRole('status').filter({ hasText: 'kim is now guest.' }).waitFor();
    await kim.getByTestId('role-kim').filter({ hasText: 'Guest' }).waitFor();
    expect((await users()).find((u) => u.username === 'kim')?.role).toBe('guest');

    await kim.getByRole('button', { name: 'Reset password' }).click();
    await page.getByLabel('New password for kim').fill('short');
    await kim.getByRole('button', { name: 'Set password', exact: true }).click();
    await kim.getByRole('alert').filter({ hasText: 'A password needs at least 8 characters.' }).waitFor();
    await page.getByLabel('New password for kim').fill('kims second password');
    await kim.getByRole('button', { name: 'Set password', exact: true }).click();
    await kim.getByRole('status').filter({ hasText: 'New password set for kim.' }).waitFor();
    const login = (password: string) =>
      api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'kim', password } });
    expect((await login('kims second password')).status).toBe(200);
    expect((await login('kims first password')).status).toBe(401);
  });

  it('an admin cannot make owners, and the owner is out of their reach', async () => {
    const admin = { username: 'alex', password: 'alexs long password' };
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...admin, role: 'admin' } })).status,
    ).toBe(201);
    const page = member!.page;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(admin.username);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    expect(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents()).toEqual([
      'Admin',
      'Member',
      'Guest',
    ]);
    await page
      .getByRole('listitem', { name: OWNER.username })
      .getByText('Only an owner can change an owner.')
      .waitFor();
    expect(await page.getByRole('button', { name: `Remove ${OWNER.username}` }).count()).toBe(0);

    // Meanwhile the owner makes kim an owner: the admin's page still offers to remove kim, and the
    // hub's refusal is shown in kim's row in plain words.
    const kimId = (await users()).find((u) => u.username === 'kim') as unknown as { id: string };
    expect(
      (await api(home.hub.baseUrl, 'PATCH', `/api/v1/users/${kimId.id}`, { token, body: { role: 'owner' } })).status,
    ).toBe(200);
    const kim = page.getByRole('listitem', { name: 'kim' });
    await kim.getByRole('button', { name: 'Remove kim' }).click();
    await kim.getByRole('button', { name: 'Yes, remove kim' }).click();
    await kim.getByRole('alert').filter({ hasText: 'Only an owner can make, change or remove an owner.' }).waitFor();
    expect((await users()).find((u) => u.username === 'kim')?.role).toBe('owner');
  });
});
