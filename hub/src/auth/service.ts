import type { Actor } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError, isHubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import type { UserRow } from '../store/users-repo.ts';
import { AccessTokens } from './access-tokens.ts';
import { API_TOKEN_PREFIX, ApiTokens } from './api-tokens.ts';
import { AccountGuard } from './account-guard.ts';
import { Handover } from './handover.ts';
import { LoginLimiter } from './login-limiter.ts';
import { dummyHash, hashPassword, verifyPassword } from './passwords.ts';
import { checkPassword, checkUsername } from './policy.ts';
import { SetupCode } from './setup-code.ts';
import { RefreshTokens, rotateError } from './refresh-tokens.ts';
import { TwoFactor, type SecondFactor } from './two-factor.ts';
import type { PublicUser, UserActor } from './user-types.ts';
import { UserAdmin } from './user-admin.ts';

export type { PublicUser, UserActor };

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/** GET /me: the person's own account, with whether two-step login is on. */
export interface OwnUser extends PublicUser {
  totp: boolean;
}

export interface AuthServiceDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  config: HubConfig['auth'];
  /** Where the one-time setup code lives (`DATA/setup-code`) until the owner exists. */
  dataDir: string;
}

/**
 * Wrong setup codes (from all addresses together) before the code is replaced by a new one: a
 * spread-out guess at it starts over, and the person at the hub reads the new one in the log.
 */
export const SETUP_CODE_MAX_FAILURES = 20;
/** Wrong setup codes count in the address's login budget under this subject. */
const SETUP_SUBJECT = '\u0000setup';
/** Wrong owner invites likewise. */
const INVITE_SUBJECT = '\u0000owner-invite';

/**
 * People and their sessions: first-run setup of the owner, login with argon2id passwords and a
 * per-address limiter, short access tokens plus rotating refresh tokens, and turning a bearer
 * token back into an Actor. The HTTP layer only translates; every rule lives here so the command
 * line (`hearth-admin create-owner`) gets the same checks.
 */
export class AuthService {
  readonly #deps: AuthServiceDeps;
  readonly #access: AccessTokens;
  readonly #refresh: RefreshTokens;
  readonly #limiter: LoginLimiter;
  readonly #accounts: AccountGuard;
  /** Codes at an account with two-step login on: the strict (per-address) thresholds, per account. */
  readonly #codes: AccountGuard;
  /** Adding, changing and removing users (owners and admins). */
  readonly users: UserAdmin;
  /** Optional TOTP second factor: setup and confirmation (turning it off is disableTotp, here). */
  readonly twoFactor: TwoFactor;
  /** Installer → owner handover: owner invites and support grants (handover.ts). */
  readonly handover: Handover;
  /** Keys for scripts (api-tokens.ts). */
  readonly apiTokens: ApiTokens;
  #hasOwner = false;
  readonly #setupCode: SetupCode;
  #setupFailures = 0;

  constructor(deps: AuthServiceDeps) {
    this.#deps = deps;
    this.#access = new AccessTokens(deps.store.settings, deps.clock, deps.config.accessTokenTtlS);
    this.#refresh = new RefreshTokens(deps.store, deps.clock, deps.config.refreshTokenTtlS);
    this.users = new UserAdmin({ store: deps.store, bus: deps.bus, clock: deps.clock });
    this.twoFactor = new TwoFactor({ store: deps.store, bus: deps.bus, clock: deps.clock });
    this.handover = new Handover({ store: deps.store, bus: deps.bus, clock: deps.clock });
    this.apiTokens = new ApiTokens({ store: deps.store, bus: deps.bus, clock: deps.clock });
    this.#setupCode = new SetupCode(deps.dataDir);
    this.#limiter = new LoginLimiter(deps.clock, {
      slowAfter: deps.config.loginSlowAfter,
      banAfter: deps.config.loginBanAfter,
      banS: deps.config.loginBanS,
    });
    this.#accounts = new AccountGuard(deps.clock, {
      slowAfter: deps.config.loginAccountSlowAfter,
      banAfter: deps.config.loginAccountBanAfter,
      banS: deps.config.loginBanS,
    });
    this.#codes = new AccountGuard(deps.clock, {
      slowAfter: deps.config.loginSlowAfter,
      banAfter: deps.config.loginBanAfter,
      banS: deps.config.loginBanS,
    });
    // Compute the decoy hash now, so the first login for an unknown user is not the slow one.
    void dummyHash();
  }

  /** Cancels the timers this service holds (the support-grant watch). */
  stop(): void {
    this.handover.stop();
  }

  /**
   * True until the first account exists (the owner, or the installer who hands the home to its
   * owner later: handover.ts); every API but health, setup and the owner invite answers 409 until then.
   */
  setupRequired(): boolean {
    // Once there is an account there always is (the last owner cannot be removed, and before an
    // owner exists nobody can remove the installer), so the answer is cached after the first "no".
    if (!this.#hasOwner) this.#hasOwner = this.#deps.store.users.count() > 0;
    return !this.#hasOwner;
  }

  /**
   * At start: with no owner yet, makes sure a setup code exists (kept across restarts until it is
   * used) and returns it for the log; once there is an owner, removes any code left behind.
   */
  openSetup(): string | undefined {
    if (this.setupRequired()) return this.#setupCode.ensure();
    this.#setupCode.remove();
    return undefined;
  }

  /**
   * `POST /setup`: creates the owner, but only with the one-time setup code the person at the hub
   * can read (DATA/setup-code, the log, `hearth-admin setup-code`). A wrong or missing code is
   * `setup_code_invalid` and counts as a failed login for `address` (so one address is slowed,
   * then refused); after SETUP_CODE_MAX_FAILURES wrong codes in all the code is replaced.
   */
  async setup(
    input: {
      username: string;
      password: string;
      setupCode?: string | undefined;
      role?: 'owner' | 'installer' | undefined;
    },
    address: string,
  ): Promise<Session & { user: PublicUser }> {
    await this.requireSetupCode(input.setupCode, address);
    const result = await this.createOwner(input, 'setup', input.role ?? 'owner');
    this.#limiter.succeeded(address, SETUP_SUBJECT);
    return result;
  }

  /**
   * The first-run check on its own (also for a first-run restore): `already_set_up` once an owner
   * exists, `setup_code_invalid` for a wrong code, counted and slowed per address as for `setup`.
   */
  async requireSetupCode(setupCode: string | undefined, address: string): Promise<void> {
    if (!this.setupRequired()) throw new HubError('already_set_up', 'the hub already has an owner');
    const delayMs = this.#limiter.begin(address, SETUP_SUBJECT);
    if (delayMs > 0) await new Promise<void>((resolve) => this.#deps.clock.setTimeout(resolve, delayMs));
    if (!this.#setupCode.matches(setupCode)) {
      this.#setupFailures += 1;
      this.#deps.log.warn({ address }, 'wrong setup code');
      if (this.#setupFailures >= SETUP_CODE_MAX_FAILURES && this.setupRequired()) {
        this.#setupFailures = 0;
        const code = this.#setupCode.replace();
        this.#deps.log.warn(
          { setupCodeFile: this.#setupCode.path },
          `too many wrong setup codes; the new setup code is ${code}`,
        );
      }
      throw new HubError(
        'setup_code_invalid',
        'the setup code is missing or wrong: read it in the hub log, in DATA/setup-code, or with `hearth-admin setup-code`',
        { field: 'setupCode' },
      );
    }
  }

  /**
   * Creates the first account: the owner, or the installer who hands the home to its owner later
   * (handover.ts). Called by `setup` once the code was checked, and directly by `hearth-admin
   * create-owner|create-installer`, which run on the hub's machine and need no code.
   */
  async createOwner(
    input: { username: string; password: string },
    via: 'setup' | 'console' = 'console',
    role: 'owner' | 'installer' = 'owner',
  ): Promise<Session & { user: PublicUser }> {
    checkUsername(input.username);
    checkPassword(input.password);
    if (!this.setupRequired()) throw new HubError('already_set_up', 'the hub already has an owner');
    const passwordHash = await hashPassword(input.password);
    const user: UserRow = {
      id: newId('usr'),
      username: input.username,
      passwordHash,
      role,
      createdAt: this.#deps.clock.now(),
      sessionGeneration: 0,
    };
    // Checked again inside the transaction: two setups racing through the hash must not both win.
    this.#deps.store.transaction(() => {
      if (this.#deps.store.users.count() > 0) throw new HubError('already_set_up', 'the hub already has an owner');
      this.#deps.store.users.insert(user);
    });
    this.#hasOwner = true;
    this.#setupCode.remove();
    this.#audit(actorOf(user), 'user.add', user.id, { username: user.username, role: user.role, via });
    return { user: publicUser(user), ...this.#startSession(user) };
  }

  /**
   * `POST /handover/accept`: the homeowner creates the owner account with the installer's
   * one-time invite (`owner_invite_invalid` if wrong, spent or expired; counted as a failed login
   * for `address`). Refused with `already_set_up` once an owner exists. The installer's access then
   * ends or becomes the invite's support grant (handover.ts).
   */
  async acceptOwnerInvite(
    input: { code: string; username: string; password: string },
    address: string,
  ): Promise<Session & { user: PublicUser }> {
    checkUsername(input.username);
    checkPassword(input.password);
    if (this.handover.ownerExists()) throw new HubError('already_set_up', 'the home already has an owner');
    const delayMs = this.#limiter.begin(address, INVITE_SUBJECT);
    if (delayMs > 0) await new Promise<void>((resolve) => this.#deps.clock.setTimeout(resolve, delayMs));
    const passwordHash = await hashPassword(input.password);
    const user: UserRow = {
      id: newId('usr'),
      username: input.username,
      passwordHash,
      role: 'owner',
      createdAt: this.#deps.clock.now(),
      sessionGeneration: 0,
    };
    // One transaction: the invite is spent exactly when the owner is made (two accepts racing
    // through the hash cannot both win, and a taken username leaves the invite usable).
    let invite;
    try {
      invite = this.#deps.store.transaction(() => {
        if (this.handover.ownerExists()) throw new HubError('already_set_up', 'the home already has an owner');
        const spent = this.handover.spendInvite(input.code);
        if (this.#deps.store.users.byUsername(input.username))
          throw new HubError('username_taken', 'that username is taken', { field: 'username' });
        this.#deps.store.users.insert(user);
        return spent;
      });
    } catch (err) {
      if (isHubError(err, 'owner_invite_invalid')) this.#deps.log.warn({ address }, 'wrong owner invite');
      throw err;
    }
    this.#limiter.succeeded(address, INVITE_SUBJECT);
    this.#setupCode.remove(); // an invite from the console on a fresh hub: the setup code is spent too
    const owner = actorOf(user);
    this.#audit(owner, 'user.add', user.id, { username: user.username, role: user.role, via: 'owner_invite' });
    this.handover.handedOver(owner, invite);
    return { user: publicUser(user), ...this.#startSession(user) };
  }

  /**
   * `invalid_credentials` for a wrong password and for an unknown user alike, after the same
   * argon2 work; `too_many_requests` when the address or the account has failed too often.
   *
   * With two-step login on, the answer never says whether the password was right before the code
   * is checked (issue 12): without a code it is `totp_required` whatever the password (nothing
   * issued; the attempt stays counted), and with one, a wrong password and a wrong, replayed or
   * spent code are the same `invalid_credentials`. Coded attempts at such an account also count
   * in a strict per-account budget (the address thresholds; addresses it logged in from are
   * exempt), so the six digits cannot be guessed from many addresses by someone with the password.
   */
  async login(username: string, password: string, address: string, second: SecondFactor = {}): Promise<Session> {
    const subject = username.toLowerCase();
    const user = this.#deps.store.users.byUsername(username);
    const twoStep = Boolean(user?.totpSecret);
    const coded = Boolean(second.totp || second.recoveryCode);
    // Every budget is counted before the (slow) hash: the address's, and the account's unless
    // this address logged in to it before (account-guard.ts says why).
    const delayMs = Math.max(
      this.#limiter.begin(address, subject),
      this.#accounts.begin(username, address),
      twoStep && coded ? this.#codes.begin(username, address) : 0,
    );
    if (delayMs > 0) await new Promise<void>((resolve) => this.#deps.clock.setTimeout(resolve, delayMs));
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (twoStep && !coded) throw totpRequired();
    if (!user || !ok) {
      this.#deps.log.warn({ address }, 'failed login');
      throw wrongCredentials(coded);
    }
    // Read again after the (slow) hash: a removal or password reset while it ran must not hand out
    // a session for the old password, and the token must carry the current session generation.
    const current = this.#deps.store.users.byId(user.id);
    if (!current || current.passwordHash !== user.passwordHash) throw wrongCredentials(coded);
    this.handover.checkAccess(current);
    let factor: 'totp' | 'recovery' | undefined;
    if (current.totpSecret) {
      if (!coded) throw totpRequired();
      try {
        factor = this.twoFactor.check(current, second, address);
      } catch (err) {
        this.#deps.log.warn({ address, userId: current.id }, 'failed second step of a login');
        throw isHubError(err, 'totp_invalid') ? wrongCredentials(true) : err;
      }
      this.#codes.succeeded(username, address);
    }
    this.#limiter.succeeded(address, subject);
    this.#accounts.succeeded(username, address);
    this.#deps.store.tokens.deleteExpired(this.#deps.clock.now());
    this.#audit(actorOf(current), 'auth.login', current.id, { address, ...(factor ? { secondFactor: factor } : {}) });
    return this.#startSession(current);
  }

  /**
   * A person changes their own password, proving the current one. A wrong current password is
   * `wrong_password` (403: the bearer token is fine) and counts as a failed login for `address`
   * and for the account, so a stolen session cannot be used to guess the password (not even from
   * many addresses). On success every other session ends as after a reset (refresh tokens
   * revoked, session generation up, `user.sessions_ended`) and the caller gets a fresh session
   * under the new generation, so it stays logged in.
   */
  async changePassword(
    actor: UserActor,
    input: { currentPassword: string; newPassword: string },
    address: string,
  ): Promise<Session> {
    checkPassword(input.newPassword, 'newPassword');
    const accountKey = `user:${actor.userId}`;
    const subject = actor.username.toLowerCase();
    const delayMs = Math.max(this.#limiter.begin(address, subject), this.#limiter.begin(accountKey));
    if (delayMs > 0) await new Promise<void>((resolve) => this.#deps.clock.setTimeout(resolve, delayMs));
    const user = this.#deps.store.users.byId(actor.userId);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
      this.#deps.log.warn({ address, userId: user.id }, 'wrong current password on a password change');
      throw wrongPassword();
    }
    this.#limiter.succeeded(address, subject);
    this.#limiter.succeeded(accountKey);
    const passwordHash = await hashPassword(input.newPassword);
    const now = this.#deps.clock.now();
    // Checked again after the (slow) hashes: a removal, reset or other change in the meantime wins.
    let keys: string[] = [];
    const current = this.#deps.store.transaction(() => {
      const row = this.#deps.store.users.byId(user.id);
      if (!row) throw new HubError('unauthorized', 'the user no longer exists');
      if (row.sessionGeneration !== user.sessionGeneration)
        throw new HubError('unauthorized', 'this session was ended; log in again');
      if (row.passwordHash !== user.passwordHash) throw wrongPassword();
      this.#deps.store.users.update(row.id, { passwordHash });
      this.#deps.store.tokens.revokeUser(row.id, now);
      this.#deps.store.users.bumpSessionGeneration(row.id);
      // A thief with a session may have made keys: a new password ends them too.
      keys = this.apiTokens.removeFor(row.id);
      return this.#deps.store.users.byId(row.id)!;
    });
    this.#deps.bus.emit('user.sessions_ended', { userId: current.id, reason: 'password_changed', at: now });
    this.apiTokens.revoked(current.id, keys);
    this.#audit(actorOf(current), 'user.update', current.id, {
      username: current.username,
      passwordChanged: true,
      address,
    });
    return this.#startSession(current);
  }

  /**
   * Turns two-step login on (issue 12): like turning it off, it needs the password (a wrong one is
   * `wrong_password`, field `password`, counted under the address and the account), so a bearer
   * token alone cannot tie the account to someone else's phone; then the code from the app
   * (`totp_code_wrong`). On success every other session ends (as for a password change, reason
   * `totp_enabled`) and the caller gets the recovery codes and a fresh session.
   */
  async enableTotp(
    actor: UserActor,
    input: { code: string; password: string },
    address: string,
  ): Promise<Session & { recoveryCodes: string[] }> {
    const user = await this.#provePassword(actor, input.password, address, 'wrong password turning two-step login on');
    const { recoveryCodes } = this.twoFactor.enable(actor, input.code);
    const now = this.#deps.clock.now();
    const current = this.#deps.store.transaction(() => {
      this.#deps.store.tokens.revokeUser(user.id, now);
      this.#deps.store.users.bumpSessionGeneration(user.id);
      return this.#deps.store.users.byId(user.id);
    });
    if (!current) throw new HubError('unauthorized', 'the user no longer exists');
    this.#deps.bus.emit('user.sessions_ended', { userId: current.id, reason: 'totp_enabled', at: now });
    return { recoveryCodes, ...this.#startSession(current) };
  }

  /** The password of the signed-in person, for a change to their own login; counted as a login. */
  async #provePassword(actor: UserActor, password: string, address: string, failure: string): Promise<UserRow> {
    const accountKey = `user:${actor.userId}`;
    const subject = actor.username.toLowerCase();
    const delayMs = Math.max(this.#limiter.begin(address, subject), this.#limiter.begin(accountKey));
    if (delayMs > 0) await new Promise<void>((resolve) => this.#deps.clock.setTimeout(resolve, delayMs));
    const user = this.#deps.store.users.byId(actor.userId);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    if (!(await verifyPassword(password, user.passwordHash))) {
      this.#deps.log.warn({ address, userId: user.id }, failure);
      throw new HubError('wrong_password', 'the password is wrong', { field: 'password' });
    }
    this.#limiter.succeeded(address, subject);
    this.#limiter.succeeded(accountKey);
    return user;
  }

  /**
   * Turns two-step login off, proving the password as for a password change: a wrong one is
   * `wrong_password` (details.field `password`) and counts under the address and the account.
   */
  async disableTotp(actor: UserActor, password: string, address: string): Promise<void> {
    const user = await this.#provePassword(actor, password, address, 'wrong password turning two-step login off');
    const wasOn = this.#deps.store.transaction(() => this.#deps.store.users.disableTotp(user.id));
    if (wasOn) this.#audit(actorOf(user), 'user.totp_disable', user.id, { username: user.username, address });
  }

  refresh(refreshToken: string): Session {
    const result = this.#refresh.rotate(refreshToken);
    if (!result.ok) {
      if (result.reason === 'reused' && result.row) {
        this.#deps.log.warn({ userId: result.row.userId }, 'refresh token reused; session family revoked');
        this.#audit({ kind: 'system', part: 'auth' }, 'auth.refresh_reuse', result.row.userId, {
          family: result.row.familyId,
        });
      }
      throw rotateError(result.reason);
    }
    const user = this.#deps.store.users.byId(result.userId);
    if (!user) throw rotateError('unknown');
    this.handover.checkAccess(user);
    return { accessToken: this.#access.issue(user), refreshToken: result.token, expiresIn: this.#access.ttlS };
  }

  /** Ends the session; an unknown token is not an error (logging out twice is harmless). */
  logout(refreshToken: string): void {
    const row = this.#refresh.revokeFamilyOf(refreshToken);
    const user = row && this.#deps.store.users.byId(row.userId);
    if (user) this.#audit(actorOf(user), 'auth.logout', user.id);
  }

  verifyAccess(token: string): UserActor {
    return this.inspectAccess(token).actor;
  }

  /** The actor and when the token stops being valid (long-lived WebSockets close then). */
  inspectAccess(token: string): { actor: UserActor; expiresAt: number } {
    if (token.startsWith(API_TOKEN_PREFIX)) return this.#inspectApiToken(token);
    const claims = this.#access.verify(token);
    // The current row, not the claims: a removed user or a changed role counts immediately, and a
    // token issued before a role change or password reset (older generation) is refused.
    const user = this.#deps.store.users.byId(claims.userId);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    if (claims.generation !== user.sessionGeneration)
      throw new HubError('unauthorized', 'this session was ended; log in again');
    this.handover.checkAccess(user);
    return { actor: actorOf(user), expiresAt: claims.exp * 1000 };
  }

  /**
   * A key for scripts: its person's current row (a removed person's keys are gone with the row),
   * the handover rule, then the person's actor cut down to the key. Connections opened with a key
   * (events stream, live view) and HLS tickets last API_TOKEN_CONNECTION_S, then reconnect.
   */
  #inspectApiToken(token: string): { actor: UserActor; expiresAt: number } {
    const row = this.apiTokens.lookup(token);
    const user = this.#deps.store.users.byId(row.userId);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    this.handover.checkAccess(user);
    return {
      actor: ApiTokens.actorFor(actorOf(user), row),
      expiresAt: this.#deps.clock.now() + API_TOKEN_CONNECTION_S * 1000,
    };
  }

  user(id: string): OwnUser {
    const user = this.#deps.store.users.byId(id);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    return { ...publicUser(user), totp: Boolean(user.totpSecret) };
  }

  #startSession(user: UserRow): Session {
    return {
      accessToken: this.#access.issue(user),
      refreshToken: this.#refresh.issue(user.id),
      expiresIn: this.#access.ttlS,
    };
  }

  #audit(actor: Actor, action: string, target: string, details?: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, {
      actor,
      action,
      target,
      ...(details ? { details } : {}),
      at: this.#deps.clock.now(),
    });
  }
}

/** How long a connection opened with a key for scripts lives before it must reconnect (and be checked again). */
export const API_TOKEN_CONNECTION_S = 3600;

const totpRequired = (): HubError =>
  new HubError('totp_required', 'this account needs the code from its authenticator app');
/** With a code, "wrong" covers the password and the code alike: the answer tells them apart for nobody. */
const wrongCredentials = (coded: boolean): HubError =>
  new HubError('invalid_credentials', coded ? 'wrong username, password or code' : 'wrong username or password');
const wrongPassword = (): HubError =>
  new HubError('wrong_password', 'the current password is wrong', { field: 'currentPassword' });

function actorOf(user: UserRow): UserActor {
  return { kind: 'user', userId: user.id, username: user.username, role: user.role };
}

function publicUser(user: UserRow): PublicUser {
  return { id: user.id, username: user.username, role: user.role, createdAt: new Date(user.createdAt).toISOString() };
}
