// target_modules left out of a LoraConfig: PEFT 0.21's defaults for the model's config.model_type, written into the
// config as PEFT writes them; PEFT's own error for a model type without defaults.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models } from '../../lib/index.js';
import { DEFAULT_LORA_TARGET_MODULES } from '../../lib/peft/default-targets.js';
import { FIXTURES } from './golden.js';

const quiet = { warn: (): void => undefined };
const base = (name: string): string => join(FIXTURES, 'peft-golden', name, 'base');

describe('default target_modules', () => {
  it.each([
    ['03_llama_all_linear_rslora', ['q_proj', 'v_proj']],
    ['11_qwen2_attention_bias_all_proj', ['q_proj', 'v_proj']],
    ['05_gpt2_conv1d_fan_in_fan_out', ['c_attn']],
    ['06_bert_classifier_bias_lora_only', ['query', 'value']],
  ])('%s: PEFT\'s defaults for its model type, LoRA on exactly those modules', async (name, expected) => {
    const peft = getPeftModel(await models.fromPretrained(base(name)), new LoraConfig({ r: 2 }, quiet), 'default', quiet);
    expect([...(peft.peftConfig.get('default')?.target_modules as string[])].sort()).toEqual(expected);
    const adapted = new Set(peft.namedModules().filter(([key]) => key.endsWith('.lora_A')).map(([key]) => key.split('.').at(-2)));
    expect([...adapted].sort()).toEqual(expected);
    peft.dispose();
  });

  it("a model type PEFT has no defaults for (ViT) gets PEFT's error word for word", async () => {
    const vit = await models.fromPretrained(base('01_vit_lora_classifier'));
    expect(() => getPeftModel(vit, new LoraConfig({ r: 2 }, quiet), 'default', quiet)).toThrow('Please specify `target_modules` or `target_parameters`in `peft_config`');
    vit.dispose();
  });

  it('the table is PEFT 0.21\'s for every family node-peft builds', () => {
    expect(DEFAULT_LORA_TARGET_MODULES).toMatchObject({
      llama: ['q_proj', 'v_proj'], qwen2: ['q_proj', 'v_proj'], qwen3: ['q_proj', 'v_proj'], mistral: ['q_proj', 'v_proj'],
      gemma2: ['q_proj', 'v_proj'], gemma3_text: ['q_proj', 'v_proj'], gpt2: ['c_attn'], bert: ['query', 'value'],
    });
    expect(DEFAULT_LORA_TARGET_MODULES.phi3).toBeUndefined();
    expect(DEFAULT_LORA_TARGET_MODULES.vit).toBeUndefined();
  });
});
