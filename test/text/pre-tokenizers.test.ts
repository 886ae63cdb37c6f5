// Pre-tokenizers split text as Rust tokenizers does (expected pieces from Python: make_tokenizers.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPreTokenizer } from '../../lib/text/pre-tokenizers.js';
import { TEXT_FIXTURES } from './fixtures.js';

const CASES = JSON.parse(readFileSync(join(TEXT_FIXTURES, 'expected', 'pre_tokenizers.json'), 'utf8')) as
  { config: Record<string, unknown>; text: string; pieces: string[] }[];

describe('pre-tokenizers', () => {
  it.each(CASES.map((c) => [`${String(c.config.type)} ${String(c.config.behavior ?? c.config.split ?? '')} on ${JSON.stringify(c.text)}`, c] as const))(
    '%s', (_, c) => {
      expect(createPreTokenizer(c.config)!(c.text, true)).toEqual(c.pieces);
    },
  );
});
