import { HubError } from '../core/errors.ts';

/**
 * What a username and a password must look like. Checked in the service (the command line calls
 * it directly) and mirrored in the HTTP schemas so the API rejects early with the same code.
 */
export const USERNAME_PATTERN = '^[\\p{L}\\p{N}._@-]{1,64}$';
export const USERNAME_MAX = 64;
export const PASSWORD_MIN = 8;
/** Long enough for any passphrase, short enough that nobody can make hashing expensive. */
export const PASSWORD_MAX = 256;

const username = new RegExp(USERNAME_PATTERN, 'u');

export function checkUsername(value: string): void {
  if (!username.test(value)) {
    throw new HubError('validation_failed', 'a username is 1 to 64 letters, digits or . _ @ -', {
      field: 'username',
      rule: 'pattern',
    });
  }
}

/** `field` names the input in the error's details (`newPassword` when a person changes their own). */
export function checkPassword(value: string, field = 'password'): void {
  // Count code points, not UTF-16 units: "8 characters" means what a person typed.
  const length = [...value].length;
  if (length < PASSWORD_MIN)
    throw new HubError('validation_failed', `a password needs at least ${PASSWORD_MIN} characters`, {
      field,
      rule: 'minLength',
    });
  if (value.length > PASSWORD_MAX)
    throw new HubError('validation_failed', `a password has at most ${PASSWORD_MAX} characters`, {
      field,
      rule: 'maxLength',
    });
}
