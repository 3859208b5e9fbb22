import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId, newSecret, sha256 } from '../core/ids.ts';
import type { RefreshTokenRow } from '../store/tokens-repo.ts';
import type { Store } from '../store/store.ts';

export type RotateResult =
  | { ok: true; userId: string; token: string }
  /** `reused`: a token that was already replaced came back; its whole family is now revoked. */
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'reused'; row?: RefreshTokenRow };

/**
 * Long-lived refresh tokens: 256 random bits handed to the client once, stored only as their
 * SHA-256 digest (the secret is random, so a fast digest is enough; a stolen database yields no
 * usable tokens). Each use replaces the token with a new one in the same family. If a replaced
 * token is presented again, either the client or a thief holds a copy: the whole family is
 * revoked and everyone holding it must log in again (OAuth 2.0 Security BCP, refresh token
 * rotation with reuse detection).
 */
export class RefreshTokens {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ttlS: number;

  constructor(store: Store, clock: Clock, ttlS: number) {
    this.#store = store;
    this.#clock = clock;
    this.#ttlS = ttlS;
  }

  /** Starts a new family (a login) or continues one (a rotation). */
  issue(userId: string, familyId: string = newId('fam')): string {
    const token = newSecret();
    const now = this.#clock.now();
    this.#store.tokens.insert({
      id: newId('rt'),
      userId,
      familyId,
      tokenHash: sha256(token),
      createdAt: now,
      expiresAt: now + this.#ttlS * 1000,
    });
    return token;
  }

  /**
   * Swaps `token` for a new one. Synchronous from lookup to write, so two requests racing with
   * the same token cannot both rotate it: the second sees it replaced and trips reuse detection.
   */
  rotate(token: string): RotateResult {
    const row = this.#store.tokens.byHash(sha256(token));
    const now = this.#clock.now();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.revokedAt !== null) return { ok: false, reason: 'revoked', row };
    if (row.replacedAt !== null) {
      this.#store.tokens.revokeFamily(row.familyId, now);
      return { ok: false, reason: 'reused', row };
    }
    if (row.expiresAt <= now) return { ok: false, reason: 'expired', row };
    const next = this.#store.transaction(() => {
      this.#store.tokens.markReplaced(row.id, now);
      return this.issue(row.userId, row.familyId);
    });
    return { ok: true, userId: row.userId, token: next };
  }

  /** Ends the session the token belongs to; returns its owner, or undefined for an unknown token. */
  revokeFamilyOf(token: string): RefreshTokenRow | undefined {
    const row = this.#store.tokens.byHash(sha256(token));
    if (row) this.#store.tokens.revokeFamily(row.familyId, this.#clock.now());
    return row;
  }
}

/** How a failed rotation is reported to the client: all 401, only expiry is told apart. */
export function rotateError(reason: 'unknown' | 'revoked' | 'expired' | 'reused'): HubError {
  return reason === 'expired'
    ? new HubError('token_expired', 'the refresh token has expired; log in again')
    : new HubError('unauthorized', 'invalid refresh token; log in again');
}
