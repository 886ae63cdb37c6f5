// JSONL rows -> input_ids/labels equal to TRL 1.13's SFTTrainer preparation and data collator (fixtures from
// scripts/fixtures/text/make_sft.py).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collateSft, DatasetError, loadSftDataset, PreTrainedTokenizer, sftPadTokenId, sftTensors, type SftOptions } from '../../lib/index.js';
import { TEXT_FIXTURES } from './fixtures.js';

interface SftFixture {
  tokenizer: string;
  config: { max_length?: number; packing?: boolean; completion_only_loss?: boolean; assistant_only_loss?: boolean };
  examples: { input_ids: number[]; labels: number[]; seq_lengths?: number[] }[];
  batch: Record<string, number[][]>;
}

const SFT = join(TEXT_FIXTURES, 'sft');
const CASES = ['text', 'prompt_completion', 'prompt_completion_all_tokens', 'messages', 'messages_all_tokens', 'chat_prompt_completion', 'packed_text', 'llama_text'];

function load(name: string): { fixture: SftFixture; tokenizer: PreTrainedTokenizer; options: SftOptions } {
  const fixture = JSON.parse(readFileSync(join(SFT, 'expected', `${name}.json`), 'utf8')) as SftFixture;
  const c = fixture.config;
  const options: SftOptions = {
    maxLength: c.max_length, packing: c.packing, completionOnlyLoss: c.completion_only_loss,
    assistantOnlyLoss: c.assistant_only_loss ?? false, // TRL's default; node-peft's default is true
  };
  return { fixture, tokenizer: PreTrainedTokenizer.fromDirectory(join(TEXT_FIXTURES, fixture.tokenizer)), options };
}

describe('SFT examples equal TRL 1.13', () => {
  it.each(CASES)('%s: tokenized examples and labels', (name) => {
    const { fixture, tokenizer, options } = load(name);
    const examples = loadSftDataset(join(SFT, `${name}.jsonl`), tokenizer, options);
    expect(examples.map(({ input_ids, labels, seq_lengths }) => (seq_lengths ? { input_ids, labels, seq_lengths } : { input_ids, labels })))
      .toEqual(fixture.examples);
  });

  it.each(CASES)('%s: the collated batch', (name) => {
    const { fixture, tokenizer, options } = load(name);
    const examples = loadSftDataset(join(SFT, `${name}.jsonl`), tokenizer, options);
    expect(collateSft(examples, sftPadTokenId(tokenizer))).toEqual(fixture.batch);
  });

  it('trains on assistant turns only by default for chat rows', () => {
    const { fixture, tokenizer } = load('messages');
    const examples = loadSftDataset(join(SFT, 'messages.jsonl'), tokenizer, { maxLength: 256 });
    expect(examples.map((e) => e.labels)).toEqual(fixture.examples.map((e) => e.labels));
  });
});

describe('SFT data errors and tensors', () => {
  const tokenizer = PreTrainedTokenizer.fromDirectory(join(TEXT_FIXTURES, 'qwen2'));
  const write = (text: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'sft-')), 'train.jsonl');
    writeFileSync(file, text);
    return file;
  };

  it('names the file and line of a bad row', () => {
    const file = write('{"text": "ok"}\n\n{"text": 3}\n');
    expect(() => loadSftDataset(file, tokenizer)).toThrow(DatasetError);
    expect(() => loadSftDataset(file, tokenizer)).toThrow(`${file}:3: "text" must be a string`);
    expect(() => loadSftDataset(write('{"text": "ok"}\n{"text": "a",\n'), tokenizer)).toThrow(/:2: not valid JSON/);
    expect(() => loadSftDataset(write('{"text": "ok"}\n{"prompt": "a", "completion": "b"}\n'), tokenizer)).toThrow(/:2: a "prompt_completion" row in a file of "text" rows/);
    expect(() => loadSftDataset(write('{"messages": [{"role": "user", "content": "hi"}]}\n'), tokenizer)).toThrow(/:1: assistant-only loss, but the row has no assistant tokens/);
    expect(() => loadSftDataset(write('{"input": "x"}\n'), tokenizer)).toThrow(/:1: expected a "text", "prompt"\/"completion" or "messages" field/);
  });

  it('passes a row\'s tools (a list, or that list as a JSON string) to the chat template', () => {
    const chatml = PreTrainedTokenizer.fromDirectory(join(TEXT_FIXTURES, 'chatml-sft'));
    const tool = { type: 'function', function: { name: 'add', parameters: { type: 'object', properties: {} } } };
    const messages = [{ role: 'user', content: '1+1?' }, { role: 'assistant', content: '2' }];
    const asList = loadSftDataset(write(`${JSON.stringify({ messages, tools: [tool] })}\n`), chatml);
    const asString = loadSftDataset(write(`${JSON.stringify({ messages, tools: JSON.stringify([tool]) })}\n`), chatml);
    const without = loadSftDataset(write(`${JSON.stringify({ messages })}\n`), chatml);
    expect(asList).toEqual(asString.map((e) => ({ ...e })));
    expect(asList[0]!.input_ids.length).toBeGreaterThan(without[0]!.input_ids.length);
    expect(chatml.decode(asList[0]!.input_ids)).toContain('"name": "add"');
  });

  it('drops a row whose prompt fills maxLength, as TRL does', () => {
    const file = write('{"prompt": "a b c d e f g h i j", "completion": " k"}\n{"prompt": "a", "completion": " b"}\n');
    expect(loadSftDataset(file, tokenizer, { maxLength: 5 })).toHaveLength(1);
  });

  it('makes int64 tensors for train.DataLoader, padded right with labels -100', () => {
    const examples = loadSftDataset(join(SFT, 'text.jsonl'), tokenizer, { maxLength: 16 });
    const tensors = sftTensors(examples, tokenizer);
    expect(tensors.input_ids!.shape).toEqual([4, 16]);
    expect(tensors.labels!.dtype).toBe('int64');
    const row = Array.from(tensors.labels!.toArray() as BigInt64Array).slice(0, 16).map(Number);
    expect(row).toEqual([...examples[0]!.labels, ...new Array(16 - examples[0]!.labels.length).fill(-100)]);
    for (const t of Object.values(tensors)) t.dispose();
  });
});
