import type { Actor } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import type { UserRow } from '../store/users-repo.ts';
import type { UserActor } from './user-types.ts';
import { matchTotp, newRecoveryCodes, newTotpSecret, otpauthUri, recoveryCodeHash } from './totp.ts';

/** What a login may carry besides the password. */
export interface SecondFactor {
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

export interface TwoFactorDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
}

/**
 * Optional TOTP two-step login (RFC 6238, any authenticator app). A person sets it up (a new
 * secret, pending), confirms it with a code from the app (then it is on, and they get ten
 * one-time recovery codes, stored as digests, shown once), and turns it off with their password
 * (AuthService.disableTotp: that needs the limiter). At login (AuthService.login, after the
 * password) a code is accepted within ±1 step and only for a step newer than the last accepted
 * one, so a code seen over a shoulder or in a log cannot be used again.
 */
export class TwoFactor {
  readonly #deps: TwoFactorDeps;

  constructor(deps: TwoFactorDeps) {
    this.#deps = deps;
  }

  /** A new secret to enter in the app; nothing changes until it is confirmed (enable). */
  setup(actor: UserActor): { secret: string; uri: string } {
    const user = this.#user(actor);
    // Replacing an active secret would need only a session: turning it off needs the password.
    if (user.totpSecret) throw new HubError('totp_already_on', 'two-step login is already on; turn it off first');
    const secret = newTotpSecret();
    this.#deps.store.users.setTotpPending(user.id, secret);
    return { secret, uri: otpauthUri(user.username, secret) };
  }

  /**
   * Confirms the pending secret with a code from the app; answers the recovery codes (once).
   * Called by AuthService.enableTotp once the password was checked (it then ends other sessions).
   */
  enable(actor: UserActor, code: string): { recoveryCodes: string[] } {
    const user = this.#user(actor);
    if (user.totpSecret) throw new HubError('totp_already_on', 'two-step login is already on; turn it off first');
    const secret = user.totpPendingSecret;
    if (!secret) throw new HubError('totp_not_set_up', 'set up two-step login first');
    const step = matchTotp(secret, code, this.#deps.clock.now(), null);
    if (step === null) throw new HubError('totp_code_wrong', 'that code does not match the secret', { field: 'code' });
    const recoveryCodes = newRecoveryCodes();
    this.#deps.store.transaction(() =>
      this.#deps.store.users.enableTotp(user.id, secret, step, recoveryCodes.map(recoveryCodeHash)),
    );
    this.#audit(actor, 'user.totp_enable', user.id, { username: user.username, recoveryCodes: recoveryCodes.length });
    return { recoveryCodes };
  }

  /**
   * The second step of a login for a user with TOTP on, after the password was right. Throws
   * `totp_required` when neither a code nor a recovery code came, `totp_invalid` when it is wrong,
   * already used (a replay), or a spent recovery code (AuthService.login answers that as
   * `invalid_credentials`, like a wrong password). Answers which one was used.
   */
  check(user: UserRow, second: SecondFactor, address: string): 'totp' | 'recovery' {
    const { store, clock } = this.#deps;
    if (second.recoveryCode) {
      if (!store.users.useRecoveryCode(user.id, recoveryCodeHash(second.recoveryCode), clock.now()))
        throw invalid('recoveryCode');
      const left = store.users.recoveryCodesLeft(user.id);
      this.#audit(actorOf(user), 'auth.recovery_code_used', user.id, { username: user.username, address, left });
      return 'recovery';
    }
    if (!second.totp) throw new HubError('totp_required', 'this account needs the code from its authenticator app');
    const step = matchTotp(user.totpSecret!, second.totp, clock.now(), user.totpLastStep ?? null);
    // The conditional update is the replay check that counts: two logins with one code race to it.
    if (step === null || !store.users.acceptTotpStep(user.id, step)) throw invalid('totp');
    return 'totp';
  }

  #user(actor: UserActor): UserRow {
    const user = this.#deps.store.users.byId(actor.userId);
    if (!user) throw new HubError('unauthorized', 'the user no longer exists');
    return user;
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, { actor, action, target, details, at: this.#deps.clock.now() });
  }
}

const invalid = (field: 'totp' | 'recoveryCode'): HubError =>
  new HubError(
    'totp_invalid',
    field === 'totp' ? 'wrong or already used code' : 'wrong or already used recovery code',
    { field },
  );

function actorOf(user: UserRow): UserActor {
  return { kind: 'user', userId: user.id, username: user.username, role: user.role };
}
