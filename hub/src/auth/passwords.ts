import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with argon2id (RFC 9106), using Node's built-in implementation so the hub
 * needs no native add-on on the Raspberry Pi. Parameters follow the OWASP password storage
 * cheat sheet's first argon2id option (19 MiB, 2 passes, 1 lane). Hashes are stored in the PHC
 * string format, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, so parameters can be raised
 * later and old hashes still verify with the parameters they were made with.
 */
export interface Argon2Params {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

export const DEFAULT_PARAMS: Argon2Params = { memoryKiB: 19_456, passes: 2, parallelism: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const ARGON2_VERSION = 19; // 0x13, the only version Node implements
const PHC = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

// Upper bounds on what a stored string may ask for, so a tampered row cannot make a login
// allocate gigabytes or spin for minutes.
const MAX_MEMORY_KIB = 1 << 20;
const MAX_PASSES = 16;
const MAX_PARALLELISM = 16;

/** The async form runs on libuv's thread pool: a login never blocks the event loop. */
function derive(password: string, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: password,
        nonce: salt,
        memory: params.memoryKiB,
        passes: params.passes,
        parallelism: params.parallelism,
        tagLength,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

// PHC strings use standard base64 without padding.
const b64 = (buf: Buffer): string => buf.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, params: Argon2Params = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, HASH_BYTES);
  return `$argon2id$v=${ARGON2_VERSION}$m=${params.memoryKiB},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(hash)}`;
}

/** True if `password` matches `encoded`; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = PHC.exec(encoded);
  if (!m) return false;
  const [, version, memory, passes, parallelism, saltB64, hashB64] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const params: Argon2Params = { memoryKiB: Number(memory), passes: Number(passes), parallelism: Number(parallelism) };
  if (
    Number(version) !== ARGON2_VERSION ||
    params.memoryKiB > MAX_MEMORY_KIB ||
    params.passes > MAX_PASSES ||
    params.parallelism > MAX_PARALLELISM
  ) {
    return false;
  }
  const expected = Buffer.from(hashB64, 'base64');
  if (expected.length < 16) return false;
  let actual: Buffer;
  try {
    actual = await derive(password, Buffer.from(saltB64, 'base64'), params, expected.length);
  } catch {
    return false; // parameters out of argon2's own range
  }
  return timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password with the current parameters. Logins for unknown usernames verify
 * against it, so they cost the same argon2 work as a wrong password and the response time does
 * not tell which usernames exist.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummy;
}
