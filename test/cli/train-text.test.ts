// train --config with JSONL data: text, prompt/completion and chat rows tokenized with the model's tokenizer,
// loss masked as TRL's SFTTrainer does; a bad row is an error naming the file and line.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { TrainDataLoader } from '../../lib/cli/train-data.js';
import { main } from '../../lib/cli/main.js';
import { parseTrainConfig } from '../../lib/cli/train-config.js';
import { AutoTokenizer, torch } from '../../lib/index.js';
import { captureIO } from './io.js';

torch.setNumThreads(1);
const MODEL = resolve('test', 'fixtures', 'generation', 'llama');
const dir = mkdtempSync(join(tmpdir(), 'node-peft-train-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jsonl = (name: string, rows: unknown[]): string => {
  writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return name;
};
const config = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: MODEL, output_dir: 'run', lora: { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
  data, steps: 2, batch_size: 2, log_every: 1, ...extra,
});
async function train(name: string, body: unknown) {
  writeFileSync(join(dir, name), JSON.stringify(body));
  const io = captureIO();
  const code = await main(['train', '--config', join(dir, name), '--no-progress'], io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('train on JSONL text', () => {
  const promptCompletion = jsonl('pc.jsonl', [
    { prompt: 'The quick brown', completion: ' fox jumps' },
    { prompt: 'Hello', completion: ' world!' },
    { prompt: '12 + 30 =', completion: ' 42' },
  ]);

  test('prompt/completion rows: labels only on the completion (and the appended end token)', async () => {
    const parsed = parseTrainConfig(JSON.stringify(config({ train: promptCompletion })), join(dir, 'train.json'));
    const data = await new TrainDataLoader(parsed.text).load(parsed.train_data);
    const tokenizer = await AutoTokenizer.fromPretrained(MODEL);
    const ids = data.input_ids.toList() as number[][];
    const labels = data.labels.toList() as number[][];
    const mask = data.attention_mask.toList() as number[][];
    const promptLength = tokenizer.encode('Hello').length;
    const row = ids.findIndex((r) => tokenizer.decode(r.slice(0, promptLength)) === 'Hello');
    expect(labels[row].slice(0, promptLength).every((l) => l === -100)).toBe(true);
    const labelled = labels[row].filter((l) => l !== -100);
    expect(tokenizer.decode(labelled)).toBe(' world!<|im_end|>');
    // padding carries no loss and is masked out
    labels.forEach((r, i) => r.forEach((l, j) => mask[i][j] === 0 && expect(l).toBe(-100)));
    for (const t of Object.values(data)) t.dispose();
  });

  test('train writes an adapter from text, chat and prompt/completion files, and evaluates next-token accuracy', async () => {
    const text = jsonl('text.jsonl', [{ text: 'The quick brown fox.' }, { text: 'Hello world!' }]);
    const chat = jsonl('chat.jsonl', [
      { messages: [{ role: 'user', content: 'What is LoRA?' }, { role: 'assistant', content: 'A low-rank adapter.' }] },
      { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] },
    ]);
    for (const [name, data] of [['text', { train: text }], ['chat', { train: chat, eval: chat, assistant_only_loss: false }], ['pc', { train: promptCompletion, max_length: 8 }]] as const) {
      const r = await train(`${name}.json`, { ...config(data), output_dir: `run-${name}`, eval_every: 2 });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(existsSync(join(dir, `run-${name}`, 'adapter', 'adapter_model.safetensors'))).toBe(true);
      if (name === 'chat') expect(r.out).toMatch(/eval accuracy: \d+\.\d\d%/);
    }
  });

  test('a bad row is an error naming the file and its line', async () => {
    const bad = jsonl('bad.jsonl', [{ text: 'fine' }, { prompt: 'no completion' }]);
    const r = await train('bad.json', config({ train: bad }));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'bad.jsonl')}:2:`);
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"text": "ok"}\n{"text": \n');
    const r2 = await train('broken.json', config({ train: 'broken.jsonl' }));
    expect(r2.err).toContain(`${broken}:2:`);
  });

  test('train.json data fields are checked', () => {
    expect(() => parseTrainConfig(JSON.stringify(config({ train: 'x.jsonl', packing: 'yes' })), 'train.json')).toThrow(/'data.packing' must be true or false/);
    expect(() => parseTrainConfig(JSON.stringify(config({ train: 'x.jsonl', max_len: 5 })), 'train.json')).toThrow(/unknown field\(s\) in 'data': 'max_len'/);
    expect(() => parseTrainConfig(JSON.stringify(config({ train: 'x.jsonl', packing: true, max_length: null })), 'train.json')).toThrow(/'data.max_length' must be an integer when packing/);
  });
});
