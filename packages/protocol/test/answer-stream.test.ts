import { describe, expect, it } from 'vitest';
import { AnswerStream, EXTRA_WINDOW } from '../src/answer-stream.ts';
import { CHUNK, WINDOW } from '../src/mux.ts';

/** Feeds `chunks` DATA bodies of CHUNK bytes (byte i of chunk n is n) and returns the credits it asked for. */
function feed(answer: AnswerStream, chunks: number): number[] {
  const credits: number[] = [];
  for (let n = 0; n < chunks; n++) {
    const credit = answer.data(new Uint8Array(CHUNK).fill(n));
    if (credit > 0) credits.push(credit);
  }
  return credits;
}

describe('an answer read from its stream', () => {
  it('credits a small body back every half window, then grants the extra window once past two windows and credits in batches of two', () => {
    const answer = new AnswerStream(
      () => {},
      () => {},
      true,
    );
    answer.head({ status: 200, headers: { 'content-type': 'video/mp4' } });
    const chunks = (6 * WINDOW) / CHUNK;
    const credits = feed(answer, chunks);
    const half = WINDOW / 2;
    // Up to two windows: every half window. The chunk that passes two windows adds the extra
    // window, so that credit goes at once; then every two windows.
    expect(credits.slice(0, 4)).toEqual([half, half, half, half]);
    expect(credits[4]).toBe(CHUNK + EXTRA_WINDOW);
    expect(credits.slice(5)).toEqual([2 * WINDOW]);
    const response = answer.end()!;
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(6 * WINDOW);
    expect(response.body[0]).toBe(0);
    expect(response.body[response.body.length - 1]).toBe(chunks - 1);
  });

  it('asks for no credit when the caller keeps flow control, and has no answer without a head', () => {
    const answer = new AnswerStream(
      () => {},
      () => {},
      false,
    );
    expect(feed(answer, (2 * WINDOW) / CHUNK)).toEqual([]);
    expect(answer.end()).toBeNull();
  });
});
