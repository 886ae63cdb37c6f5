// A process that saves two versions of a folder in turn, forever, for the crash tests to kill at random points:
//   node crash-child.mjs adapter|checkpoint|model DIR
// Version 1 and version 2 differ in shape as well as value, so a folder that mixes them cannot load as either.
// Each version's tensors are filled with its number. Prints "ready" before the first save, "saved N" after each.
// Runs on the built package (dist/), as a user's process would.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { getPeftModel, LoraConfig, models, nn, torch, train } = await import(join(root, 'dist', 'lib', 'index.js'));
const { AdamW } = (await import(join(root, 'dist', 'lib', 'index.js'))).optim;

const [mode, dir] = process.argv.slice(2);

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('fc1', new nn.Linear(8, 8));
    this.registerModule('fc2', new nn.Linear(8, 4));
  }
}

function fill(tensors, value) {
  torch.noGrad(() => tensors.forEach((t) => t.fill_(value)));
}

/** [version, save()] pairs. */
async function versions() {
  if (mode === 'adapter') {
    return [1, 2].map((version) => {
      const config = (r) => new LoraConfig({ r, lora_alpha: 8, target_modules: ['fc1', 'fc2'] });
      const peft = getPeftModel(new Net(), config(4 * version), 'default', { warn: () => undefined });
      peft.addAdapter('other', config(2 * version));
      fill(peft.namedParameters().filter(([n]) => n.includes('lora_')).map(([, p]) => p), version);
      return [version, () => peft.savePretrained(dir, { selectedAdapters: ['default', 'other'] })];
    });
  }
  if (mode === 'checkpoint') {
    return [1, 2].map((version) => {
      const model = new nn.Linear(8, 4 * version);
      fill(model.parameters(), version);
      const optimizer = new AdamW(model.namedParameters(), { lr: 0.1 });
      const parts = { model, optimizer };
      return [version, async () => train.saveCheckpoint(dir, parts, { step: 3, loader: { epoch: 0, batch: version }, extra: { version } })];
    });
  }
  if (mode === 'model') {
    return [1, 2].map((version) => {
      const model = new models.LlamaForCausalLM({
        architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32, hidden_size: 16 * version, intermediate_size: 32,
        num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false,
      });
      fill(model.parameters(), version);
      // version 2 in shards of at most 4 KB (18 files plus the index), version 1 in one file
      return [version, () => model.savePretrained(dir, version === 2 ? { maxShardSize: 4096 } : {})];
    });
  }
  throw new Error(`crash-child: unknown mode ${mode}`);
}

const saves = await versions();
process.stdout.write('ready\n');
for (let n = 0; ; n += 1) {
  const [version, save] = saves[n % 2];
  await save();
  process.stdout.write(`saved ${version}\n`);
}
