import { HubError } from '../core/errors.ts';

/**
 * One HTTP byte range (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`) of a file of `size` bytes,
 * as inclusive offsets; undefined when there is no Range header (the whole file). Several
 * ranges in one header are answered with the first (players ask for one). A range that starts
 * past the end is `range_not_satisfiable` (416).
 */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === ''))
    throw new HubError('range_not_satisfiable', 'Range must be bytes=start-end', { size });
  let start: number;
  let end: number;
  if (m[1] === '') {
    // A suffix: the last n bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end)
    throw new HubError('range_not_satisfiable', 'the range lies outside the file', { size });
  return { start, end };
}
