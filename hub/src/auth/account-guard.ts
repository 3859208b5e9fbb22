import type { Clock } from '../core/clock.ts';
import { addressKey, LoginLimiter } from './login-limiter.ts';

export interface AccountGuardOptions {
  /** Failed logins for one account (from addresses it never logged in from) before each is delayed. */
  slowAfter: number;
  /** ... before password logins for it from such addresses are refused for `banS`. */
  banAfter: number;
  banS: number;
  /** How long an address where the account logged in stays "known" (exempt). */
  knownForMs?: number;
  /** Known (account, address) pairs kept at most; the stalest is forgotten first. */
  maxKnown?: number;
}

/**
 * The per-account half of the login limiter (issue 12; the per-address half is LoginLimiter).
 * Someone guessing one account's password from many addresses gets a budget per address from
 * LoginLimiter, but here also one budget per account: past `slowAfter` failures each attempt is
 * held, past `banAfter` password logins for that account are refused (429, `details.scope`
 * `account`) for `banS`.
 *
 * A stranger must not be able to lock the owner out by failing on purpose, so, like GitHub's
 * per-account throttle and unlike a plain account lock:
 * - a device that already has a session is never touched: refresh tokens, access tokens and open
 *   streams do not go through the login limiter at all;
 * - an address the account logged in from before (in the last `knownForMs`) is exempt from the
 *   account budget (it keeps its own per-address budget), so the owner's phone or laptop can
 *   still log in with the password while the account is under attack elsewhere.
 * Home Assistant only bans addresses (ip_ban); that alone lets many addresses guess on.
 *
 * Accounts are keyed by the username as typed (lower case), for existing and unknown users alike,
 * so the refusal never tells which usernames exist. In memory only: a restart starts over.
 */
export class AccountGuard {
  readonly #clock: Clock;
  readonly #limiter: LoginLimiter;
  readonly #knownForMs: number;
  readonly #maxKnown: number;
  // Map keeps insertion order; re-inserting on success makes the first key the stalest.
  readonly #known = new Map<string, number>();

  constructor(clock: Clock, options: AccountGuardOptions) {
    this.#clock = clock;
    this.#limiter = new LoginLimiter(clock, {
      slowAfter: options.slowAfter,
      banAfter: options.banAfter,
      banS: options.banS,
      scope: 'account',
    });
    this.#knownForMs = options.knownForMs ?? 30 * 86_400_000;
    this.#maxKnown = options.maxKnown ?? 10_000;
  }

  /** As LoginLimiter.begin, for `username`'s budget; 0 (and nothing counted) from a known address. */
  begin(username: string, address: string): number {
    if (this.#isKnown(username, address)) return 0;
    return this.#limiter.begin(accountKey(username));
  }

  /** The right password (and code): the account's budget starts over and the address is known. */
  succeeded(username: string, address: string): void {
    this.#limiter.succeeded(accountKey(username));
    const key = pairKey(username, address);
    this.#known.delete(key);
    this.#known.set(key, this.#clock.now());
    while (this.#known.size > this.#maxKnown) this.#known.delete(this.#known.keys().next().value as string);
  }

  #isKnown(username: string, address: string): boolean {
    const at = this.#known.get(pairKey(username, address));
    return at !== undefined && this.#clock.now() - at < this.#knownForMs;
  }
}

function accountKey(username: string): string {
  return `account:${username.toLowerCase()}`;
}

function pairKey(username: string, address: string): string {
  return `${username.toLowerCase()}\u0000${addressKey(address)}`;
}
