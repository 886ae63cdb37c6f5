// adapter_config.json (parseLoraConfig, then the LoraConfig it makes) and a model's config.json (models.fromPretrained
// on a folder with the mutated config beside real weights).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models, parseLoraConfig, PeftError, SafetensorsError, StateDictError, TorchError } from '../../../lib/index.js';
import { FIXTURES, goldenAdapters } from '../../peft/golden.js';
import { JSON_MUTATORS, type FuzzTarget } from '../harness.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

export const adapterConfig: FuzzTarget = {
  name: 'adapter-config',
  corpus: () => goldenAdapters().slice(0, 12).map((a) => Buffer.from(a.configText)),
  run: (input) => parseLoraConfig(text(input), { warn: () => undefined }),
  isRejection: (error) => error instanceof PeftError && error.message.length > 10,
  mutators: JSON_MUTATORS,
};

const BASES = ['01_vit_lora_classifier', '03_llama_all_linear_rslora', '05_gpt2_conv1d_fan_in_fan_out', '06_bert_classifier_bias_lora_only', '11_qwen2_attention_bias_all_proj']
  .map((name) => join(FIXTURES, 'peft-golden', name, 'base'));
const folders = BASES.map((base) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-peft-fuzz-model-'));
  cpSync(base, dir, { recursive: true });
  return dir;
});

export const modelConfig: FuzzTarget = {
  name: 'config-json',
  corpus: () => BASES.map((base) => readFileSync(join(base, 'config.json'))),
  run: async (input) => {
    // each mutant goes beside the weights of the base its architecture names (else the first)
    const arch = /"architectures":\s*\["(\w+)/.exec(text(input))?.[1] ?? '';
    const k = Math.max(0, ['ViT', 'Llama', 'GPT2', 'Bert', 'Qwen2'].findIndex((prefix) => arch.startsWith(prefix)));
    writeFileSync(join(folders[k], 'config.json'), input);
    (await models.fromPretrained(folders[k])).dispose();
  },
  isRejection: (error) =>
    (error instanceof TorchError || error instanceof StateDictError || error instanceof SafetensorsError) && error.message.length > 10,
  mutators: JSON_MUTATORS,
  weight: 0.05,
};
