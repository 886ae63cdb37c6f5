// Streaming detokenization: chunks never split a character, keep the spaces a per-token decode drops, and join
// into the whole decode.
import { describe, expect, it } from 'vitest';
import { StreamDecoder } from '../../lib/text/stream-decoder.js';

// A byte-level toy tokenizer: every id is one byte of UTF-8, except 300 = "▁" marker decoded as a leading space
// that a whole-sequence decode strips at the very start (as Llama's Metaspace + Strip decoders do).
const SPACE = 300;
function decode(ids: readonly number[]): string {
  if (ids.length === 0) throw new Error('decode([]) throws, as tokenizers.js does');
  const bytes: number[] = [];
  for (const id of ids) {
    if (id === SPACE) bytes.push(0x20);
    else bytes.push(id);
  }
  const text = Buffer.from(bytes).toString('utf8');
  return ids[0] === SPACE ? text.slice(1) : text;
}
const bytesOf = (text: string): number[] => [...Buffer.from(text, 'utf8')];

function stream(ids: number[], context: number[] = []): string[] {
  const decoder = new StreamDecoder(decode, context);
  return [...ids.map((id) => decoder.push(id)), decoder.flush()];
}

describe('StreamDecoder', () => {
  it('holds bytes back until a multi-byte character is complete', () => {
    const ids = bytesOf('Hi 😀 ŋx');
    const chunks = stream(ids);
    expect(chunks.filter(Boolean)).toEqual(['H', 'i', ' ', '😀', ' ', 'ŋ', 'x']);
    expect(chunks.join('')).toBe('Hi 😀 ŋx');
    expect(chunks.some((c) => c.includes('\uFFFD'))).toBe(false);
  });

  it('keeps the leading space of the first new token when the prompt is given as context', () => {
    const prompt = bytesOf('Hello');
    expect(stream([SPACE, ...bytesOf('world')], prompt).join('')).toBe(' world');
    // without context the first token decodes alone and its space is stripped, like a per-token decode
    expect(stream([SPACE, ...bytesOf('world')]).join('')).toBe('world');
  });

  it('flushes an incomplete character at the end as U+FFFD, as a whole decode does', () => {
    const ids = [...bytesOf('ok'), 0xf0, 0x9f];
    const chunks = stream(ids);
    expect(chunks.join('')).toBe(decode(ids));
    expect(chunks.at(-1)).toBe('\uFFFD');
  });

  it('an empty stream and an empty window never call decode([])', () => {
    expect(stream([])).toEqual(['']);
    expect(new StreamDecoder(decode).flush()).toBe('');
  });
});
