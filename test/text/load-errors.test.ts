// Broken tokenizer folders give typed errors that name the file (never a bare TypeError or a crash).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, PreTrainedTokenizer, TokenizerError } from '../../lib/index.js';
import { folder } from './fixtures.js';

function brokenCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  cpSync(folder('llama3'), dir, { recursive: true }); // PreTrainedTokenizerFast: tokenizer.json is used as written
  edit(dir);
  return dir;
}

const patchJson = (dir: string, file: string, patch: (json: Record<string, unknown>) => void): void => {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  patch(json);
  writeFileSync(join(dir, file), JSON.stringify(json));
};

describe('tokenizer folders that cannot be loaded', () => {
  it.each([
    ['truncated tokenizer.json', (d: string) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {'), /tokenizer\.json: not valid JSON/],
    ['a list instead of an object', (d: string) => writeFileSync(join(d, 'tokenizer.json'), '[]'), /tokenizer\.json: expected a JSON object/],
    ['no model', (d: string) => patchJson(d, 'tokenizer.json', (j) => { delete j.model; }), /tokenizer\.json: "model" must be an object/],
    ['an unknown normalizer', (d: string) => patchJson(d, 'tokenizer.json', (j) => { j.normalizer = { type: 'Nope' }; }), /tokenizer\.json: cannot build the tokenizer/],
    ['an unknown pre-tokenizer', (d: string) => patchJson(d, 'tokenizer.json', (j) => { j.pre_tokenizer = { type: 'Nope' }; }), /tokenizer\.json: cannot build the tokenizer \(unsupported pre_tokenizer type "Nope"\)/],
    ['a bad added token', (d: string) => patchJson(d, 'tokenizer.json', (j) => { j.added_tokens = [{ id: 'x' }]; }), /tokenizer\.json: cannot build the tokenizer \(added_tokens\[0\]/],
    ['broken tokenizer_config.json', (d: string) => writeFileSync(join(d, 'tokenizer_config.json'), '{,}'), /tokenizer_config\.json: not valid JSON/],
    ['a numeric eos_token', (d: string) => patchJson(d, 'tokenizer_config.json', (j) => { j.eos_token = 5; }), /tokenizer_config\.json: "eos_token" must be a string/],
    ['a bad padding_side', (d: string) => patchJson(d, 'tokenizer_config.json', (j) => { j.padding_side = 'up'; }), /tokenizer_config\.json: "padding_side" must be "left" or "right"/],
    ['a bad chat_template', (d: string) => patchJson(d, 'tokenizer_config.json', (j) => { j.chat_template = 3; }), /tokenizer_config\.json: "chat_template" must be a string/],
    ['a bad generation_config eos', (d: string) => writeFileSync(join(d, 'generation_config.json'), '{"eos_token_id": "x"}'), /generation_config\.json: "eos_token_id" must be an integer/],
  ])('%s', (_, edit, message) => {
    const dir = brokenCopy(edit);
    expect(() => PreTrainedTokenizer.fromDirectory(dir)).toThrow(TokenizerError);
    expect(() => PreTrainedTokenizer.fromDirectory(dir)).toThrow(message);
  });

  it('names chat_template.jinja when it does not parse', () => {
    const dir = brokenCopy((d) => writeFileSync(join(d, 'chat_template.jinja'), '{% for m in messages %}{{ m.content }'));
    const tokenizer = PreTrainedTokenizer.fromDirectory(dir);
    expect(() => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(ChatTemplateError);
    expect(() => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/chat_template\.jinja \(chat template "default"\): the chat template does not parse/);
  });

  it('rejects ids that are not integers when decoding, and decodes [] to ""', () => {
    const tokenizer = PreTrainedTokenizer.fromDirectory(folder('qwen2'));
    expect(tokenizer.decode([])).toBe('');
    expect(() => tokenizer.decode([1.5])).toThrow(TokenizerError);
    expect(tokenizer.decode([999999])).toBe(''); // unknown ids are dropped, as in Rust
  });
});
