// Stop strings over streamed text: found across chunk boundaries, never emitted, not even in part.
import { describe, expect, it } from 'vitest';
import { StopStringMatcher } from '../../lib/text/stop-strings.js';

function run(stops: string[], chunks: string[]): { emitted: string[]; stopped: boolean } {
  const matcher = new StopStringMatcher(stops);
  const emitted: string[] = [];
  for (const chunk of chunks) {
    const { text, stopped } = matcher.push(chunk);
    emitted.push(text);
    if (stopped) return { emitted, stopped };
  }
  emitted.push(matcher.flush());
  return { emitted, stopped: false };
}

describe('StopStringMatcher', () => {
  it('stops at a stop string split over chunks and emits the text before it', () => {
    const { emitted, stopped } = run(['</answer>'], ['42', '</an', 'swer>', 'more']);
    expect(stopped).toBe(true);
    expect(emitted.join('')).toBe('42');
    expect(emitted).toEqual(['42', '', '']);
  });

  it('holds back a tail that could start a stop string, and releases it when it does not', () => {
    const { emitted, stopped } = run(['\n\n'], ['a\n', 'b\n', '\nc']);
    expect(stopped).toBe(true);
    expect(emitted).toEqual(['a', '\nb', '']);
  });

  it('a stop string inside one chunk (overhanging both ends) cuts the text; the earliest of several wins', () => {
    expect(run(['STOP', 'ST'], ['xxSTOPyy']).emitted.join('')).toBe('xx');
    expect(run(['b', 'c'], ['acb']).emitted.join('')).toBe('a');
  });

  it('without a stop, everything comes out by the end', () => {
    const { emitted, stopped } = run(['###'], ['a#', '#', 'b', '#']);
    expect(stopped).toBe(false);
    expect(emitted.join('')).toBe('a##b#');
  });

  it('rejects empty stop strings', () => {
    expect(() => new StopStringMatcher([''])).toThrow(/non-empty strings/);
  });
});
