import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, ERROR_WORDS, errorWords } from '../src/errors.ts';

describe('error codes', () => {
  it('each code has an HTTP error status and a lower_snake name', () => {
    const odd = Object.entries(ERROR_STATUS).filter(
      ([code, status]) => !/^[a-z][a-z0-9_]*$/.test(code) || status < 400 || status > 599,
    );
    expect(odd).toEqual([]);
    expect(Object.keys(ERROR_STATUS).length).toBeGreaterThan(50);
  });

  it('the plain words cover exactly the codes (and network), each a sentence or null', () => {
    expect(Object.keys(ERROR_WORDS).sort()).toEqual([...Object.keys(ERROR_STATUS), 'network'].sort());
    const odd = Object.entries(ERROR_WORDS).filter(([, words]) => words !== null && !/^[A-Z].*[.!]$/.test(words));
    expect(odd).toEqual([]);
  });

  it('errorWords answers a code with words, and undefined for a code without, an unknown one or an inherited name', () => {
    expect(errorWords('device_timeout')).toBe(ERROR_WORDS.device_timeout);
    expect(errorWords('network')).toBe(ERROR_WORDS.network);
    expect(errorWords('flash_port_busy')).toBeUndefined();
    for (const code of ['toString', 'constructor', '__proto__', 'not_a_code']) expect(errorWords(code)).toBeUndefined();
  });
});
