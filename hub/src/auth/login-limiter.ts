import { isIPv6 } from 'node:net';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';

export interface LoginLimiterOptions {
  /** Failures from one address before each further attempt is delayed. */
  slowAfter: number;
  /** Failures from one address before it is refused for `banS` seconds. */
  banAfter: number;
  banS: number;
  /** Addresses tracked at most; the least recently seen is forgotten first. */
  maxAddresses?: number;
  /** First delay once slowed; doubles per failure up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** What a key stands for, in the refusal's message and `details.scope`. */
  scope?: 'address' | 'account';
}

interface Entry {
  failures: number;
  lastAt: number;
  bannedUntil: number;
  /** Of `failures`, how many were against each subject (account): a success forgives its own. */
  bySubject: Map<string, number>;
}

/** Subjects tracked per key; attempts at more accounts from one address count under OTHER. */
const MAX_SUBJECTS = 32;
const OTHER = '\u0000other';

/**
 * Slows down, then refuses, repeated failed logins under one key (a source address, or an account
 * in AccountGuard), without touching other keys.
 *
 * An attempt is counted as a failure when it starts and forgiven on success: a burst of parallel
 * guesses is counted in full before any of them finishes, instead of all slipping under the ban.
 * Each attempt names its subject (the account it was for), and a success forgives only that
 * subject's failures under the key: a guest who logs in to their own account between guesses at
 * the owner's password keeps every guess counted (issue 12).
 * Memory is bounded: at most `maxAddresses` entries, oldest evicted first; an address that stayed
 * quiet for `banS` seconds starts over.
 */
export class LoginLimiter {
  readonly #clock: Clock;
  readonly #opts: Required<LoginLimiterOptions>;
  // Map keeps insertion order; re-inserting on each touch makes the first key the stalest.
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock, options: LoginLimiterOptions) {
    this.#clock = clock;
    this.#opts = { maxAddresses: 10_000, baseDelayMs: 250, maxDelayMs: 2000, scope: 'address', ...options };
  }

  /**
   * Called as a login attempt starts. Throws `too_many_requests` (details.retryAfterS) for a
   * banned address; otherwise counts the attempt and returns how long to hold it first.
   */
  begin(address: string, subject = ''): number {
    const key = addressKey(address);
    const now = this.#clock.now();
    let entry = this.#entries.get(key);
    if (entry && entry.bannedUntil <= now && now - entry.lastAt >= this.#opts.banS * 1000) entry = undefined;
    if (entry && entry.bannedUntil > now) throw this.#banned(entry.bannedUntil - now);
    entry ??= { failures: 0, lastAt: now, bannedUntil: 0, bySubject: new Map() };
    if (entry.failures >= this.#opts.banAfter) {
      // This key used up its attempts: refuse it for banS from now.
      entry.bannedUntil = now + this.#opts.banS * 1000;
      entry.failures = 0;
      entry.bySubject.clear();
      this.#touch(key, entry, now);
      throw this.#banned(this.#opts.banS * 1000);
    }
    const earlier = entry.failures;
    entry.failures += 1;
    const counted = entry.bySubject.has(subject) || entry.bySubject.size < MAX_SUBJECTS ? subject : OTHER;
    entry.bySubject.set(counted, (entry.bySubject.get(counted) ?? 0) + 1);
    this.#touch(key, entry, now);
    if (earlier < this.#opts.slowAfter) return 0;
    return Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** Math.min(earlier - this.#opts.slowAfter, 16));
  }

  /**
   * A correct password (or code) for `subject`: its attempts under this key are forgiven, and
   * nobody else's. The key starts over only when nothing else is left on it.
   */
  succeeded(address: string, subject = ''): void {
    const key = addressKey(address);
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.failures = Math.max(0, entry.failures - (entry.bySubject.get(subject) ?? 0));
    entry.bySubject.delete(subject);
    if (entry.failures === 0 && entry.bannedUntil <= this.#clock.now()) this.#entries.delete(key);
  }

  #banned(ms: number): HubError {
    return banned(ms, this.#opts.scope);
  }

  get trackedAddresses(): number {
    return this.#entries.size;
  }

  #touch(key: string, entry: Entry, now: number): void {
    entry.lastAt = now;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#opts.maxAddresses) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

function banned(ms: number, scope: 'address' | 'account'): HubError {
  const retryAfterS = Math.max(1, Math.ceil(ms / 1000));
  if (scope === 'account')
    return new HubError(
      'too_many_requests',
      'too many failed logins for this account from new places; try again later, or from a device that logged in before',
      { retryAfterS, scope },
    );
  return new HubError('too_many_requests', 'too many failed logins from this address; try again later', {
    retryAfterS,
  });
}

/**
 * One key per attacker-controlled unit: an IPv4 address (also when seen as `::ffff:a.b.c.d`), or
 * an IPv6 /64, since a single host usually holds a whole /64 and could rotate through it.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
