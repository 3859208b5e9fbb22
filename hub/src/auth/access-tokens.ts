import type { Role } from '@hearth/model/values';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

/** Where the HMAC key lives. Generated on first use; deleting it logs every session out. */
export const SIGNING_KEY_SETTING = 'auth.accessTokenKey';

export interface AccessClaims {
  userId: string;
  username: string;
  role: Role;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /**
   * The user's session generation when it was issued (0 for tokens from before there was one).
   * The service refuses it once the user's row has a newer one: a role change or a password
   * reset ends every access token at once, with no list of tokens to keep.
   */
  generation: number;
}

const ROLES: readonly string[] = ['owner', 'admin', 'member', 'guest', 'installer'];

/**
 * Short-lived bearer tokens: `base64url(JSON claims).base64url(HMAC-SHA256(key, claims part))`.
 * Like a JWT without the header: there is exactly one algorithm, so nothing in the token can
 * choose how it is checked (no `alg: none` class of bugs). Verification needs no database read;
 * the service still looks the user up so a deleted user, a changed role or a reset password
 * (the `gen` claim against the row's session generation) takes effect at once.
 */
export class AccessTokens {
  readonly #settings: SettingsRepo;
  readonly #clock: Clock;
  readonly #ttlS: number;
  #key: Buffer | undefined;

  constructor(settings: SettingsRepo, clock: Clock, ttlS: number) {
    this.#settings = settings;
    this.#clock = clock;
    this.#ttlS = ttlS;
  }

  get ttlS(): number {
    return this.#ttlS;
  }

  issue(user: { id: string; username: string; role: Role; sessionGeneration: number }): string {
    const claims = {
      sub: user.id,
      name: user.username,
      role: user.role,
      exp: Math.floor(this.#clock.now() / 1000) + this.#ttlS,
      gen: user.sessionGeneration,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.#sign(body).toString('base64url')}`;
  }

  /** The claims of a genuine, unexpired token; else `unauthorized` or `token_expired`. */
  verify(token: string): AccessClaims {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) throw invalid();
    const body = token.slice(0, dot);
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.#sign(body);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid();
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw invalid();
    }
    const { sub, name, role, exp, gen = 0 } = claims;
    if (
      typeof sub !== 'string' ||
      typeof name !== 'string' ||
      typeof role !== 'string' ||
      !ROLES.includes(role) ||
      typeof exp !== 'number'
    ) {
      throw invalid();
    }
    if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 0) throw invalid();
    if (exp * 1000 <= this.#clock.now())
      throw new HubError('token_expired', 'the access token has expired; refresh it');
    return { userId: sub, username: name, role: role as Role, exp, generation: gen };
  }

  #sign(body: string): Buffer {
    return createHmac('sha256', this.#signingKey()).update(body).digest();
  }

  #signingKey(): Buffer {
    if (this.#key) return this.#key;
    const stored = this.#settings.get<string>(SIGNING_KEY_SETTING);
    if (stored) {
      this.#key = Buffer.from(stored, 'base64url');
    } else {
      this.#key = randomBytes(32);
      this.#settings.set(SIGNING_KEY_SETTING, this.#key.toString('base64url'));
    }
    return this.#key;
  }
}

const invalid = (): HubError => new HubError('unauthorized', 'invalid access token');
