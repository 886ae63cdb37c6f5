// Encode throughput of node-peft's tokenizer (over @huggingface/tokenizers) vs the library alone, on the fixture
// tokenizers and scripts/fixtures/text/corpus.txt. Run after `npm run setup` (which compiles lib/ to dist/): node scripts/text/tokenizer-speed.mjs
// (compare: scripts/text/tokenizer_speed.py for Python tokenizers / transformers).
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PreTrainedTokenizer } from '../../dist/lib/text/index.js';

const root = join(import.meta.dirname, '..', '..');
const lines = readFileSync(join(root, 'scripts/fixtures/text/corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
const texts = Array.from({ length: 40 }, () => lines).flat();
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);

function time(label, run) {
  run();
  const rounds = 5;
  const start = performance.now();
  for (let r = 0; r < rounds; r++) run();
  const seconds = (performance.now() - start) / 1000 / rounds;
  console.log(`${label.padEnd(40)} ${(bytes / 1024 / seconds).toFixed(0).padStart(6)} KB/s  (${texts.length} lines, ${(seconds * 1000).toFixed(1)} ms)`);
}

for (const family of ['qwen2', 'llama3', 'llama2', 'bert', 'unigram']) {
  const dir = join(root, 'test/fixtures/text', family);
  const ours = PreTrainedTokenizer.fromDirectory(dir);
  const library = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), {});
  time(`${family}: node-peft encode`, () => texts.forEach((t) => ours.encode(t)));
  time(`${family}: @huggingface/tokenizers encode`, () => texts.forEach((t) => library.encode(t)));
}
