import { HubError } from '../core/errors.ts';
import { hasControlCharacters } from './url.ts';

/**
 * One argument of an ffconcat directive (`file`, `option` values), quoted so that the concat
 * demuxer reads it back as exactly this string. ffmpeg reads the list line by line and splits a
 * line into tokens with av_get_token: inside single quotes every character is literal up to the
 * next quote, so a quote is written as `'\''` (close, escaped quote, reopen). A line break (or a
 * NUL, which ends ffmpeg's string) cannot be quoted at all: it would end the directive and start
 * another one, so such a value is refused here, whatever the caller checked before.
 */
export function ffconcatQuote(value: string): string {
  if (hasControlCharacters(value)) {
    throw new HubError('validation_failed', 'a control character cannot be passed to ffmpeg', {
      rule: 'control_characters',
    });
  }
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** A file name the concat demuxer accepts in its default `-safe 1` mode: relative, each part
 * starting with a letter, digit, `_` or `-` and holding only those and dots (no `..`). */
const SAFE_RELATIVE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

export function isSafeRelativePath(path: string): boolean {
  return SAFE_RELATIVE_PATH.test(path);
}
