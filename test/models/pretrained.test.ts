// fromPretrained reproduces transformers' logits for every base model of the PEFT golden fixtures (both eras).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, safetensors, StateDictError, torch, TorchError } from '../../lib/index.js';
import { FIXTURES, goldenCases, maxAbsDiff } from './helpers.js';

describe('fromPretrained on the golden base models', () => {
  it.each(goldenCases())('%s reproduces logits_base within 1e-4', async (name) => {
    const dir = join(FIXTURES, name);
    const model = await models.fromPretrained(join(dir, 'base'));
    const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
    const expected = await safetensors.load(join(dir, 'expected.safetensors'));
    const { logits } = torch.noGrad(() => model.forward(inputs));
    expect(model.training).toBe(false);
    expect(logits.shape).toEqual(expected.logits_base.shape);
    expect(maxAbsDiff(logits, expected.logits_base)).toBeLessThan(1e-4);
    for (const t of [logits, ...Object.values(inputs), ...Object.values(expected)]) t.dispose();
    model.dispose();
  });

  it('picks the class named by architectures[0] and keeps the in-memory transformers 5 names', async () => {
    const vit = await models.fromPretrained(join(FIXTURES, 'peft-golden-transformers4/01_vit_lora_classifier/base'));
    expect(vit).toBeInstanceOf(models.ViTForImageClassification);
    const names = vit.namedModules().map(([n]) => n);
    expect(names).toContain('vit.layers.0.attention.q_proj');
    expect(names).toContain('vit.layers.1.mlp.fc2');
    expect(names.some((n) => n.includes('encoder'))).toBe(false);
    vit.dispose();
    const qwen = await models.fromPretrained(join(FIXTURES, 'peft-golden/11_qwen2_attention_bias_all_proj/base'));
    expect(qwen).toBeInstanceOf(models.Qwen2ForCausalLM);
    expect(qwen.getSubmodule('model.layers.0.self_attn.q_proj').paramOrNull('bias')).not.toBeNull();
    expect(qwen.getSubmodule('model.layers.0.self_attn.o_proj').paramOrNull('bias')).toBeNull();
    qwen.dispose();
  });

  it('ties lm_head to the input embedding when tie_word_embeddings is set', async () => {
    const model = await models.fromPretrained(join(FIXTURES, 'peft-golden/12b_llama_trainable_tokens_tied/base'));
    expect(model.getParameter('lm_head.weight')).toBe(model.getParameter('model.embed_tokens.weight'));
    expect(model.namedParameters().map(([n]) => n)).not.toContain('lm_head.weight');
    model.to('bfloat16');
    expect(model.getParameter('lm_head.weight')).toBe(model.getParameter('model.embed_tokens.weight'));
    expect(model.getParameter('lm_head.weight').dtype).toBe('bfloat16');
    model.dispose();
  });

  it.each([
    ['peft-golden/03_llama_all_linear_rslora', 0.05],
    ['peft-golden/05_gpt2_conv1d_fan_in_fan_out', 0.05],
    ['peft-golden/06_bert_classifier_bias_lora_only', 0.05],
    ['peft-golden/01_vit_lora_classifier', 0.05],
  ])('%s runs in bfloat16 (logits within %s of float32)', async (name, tolerance) => {
    const dir = join(FIXTURES, name);
    const model = await models.fromPretrained(join(dir, 'base'), { dtype: 'bfloat16' });
    expect(model.dtype).toBe('bfloat16');
    expect(model.parameters().every((p) => p.dtype === 'bfloat16')).toBe(true);
    const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
    const expected = await safetensors.load(join(dir, 'expected.safetensors'));
    const { logits } = torch.noGrad(() => model.forward(inputs));
    expect(logits.dtype).toBe('bfloat16');
    expect(maxAbsDiff(logits, expected.logits_base)).toBeLessThan(tolerance);
    model.dispose();
  });

  it('names an unknown architecture and a missing folder', async () => {
    await expect(models.fromPretrained(join(FIXTURES, 'no-such-model'))).rejects.toThrow(/cannot read .*config\.json/);
    await expect(models.fromPretrained(join(FIXTURES, 'peft-golden'))).rejects.toThrow(TorchError);
  });
});

describe('strict loading', () => {
  const dir = join(FIXTURES, 'peft-golden/03_llama_all_linear_rslora/base');
  let checkpoint: Record<string, torch.Tensor>;
  const fresh = async (): Promise<models.LlamaForCausalLM> => {
    checkpoint ??= await safetensors.load(join(dir, 'model.safetensors'));
    return new models.LlamaForCausalLM(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
  };
  afterAll(() => Object.values(checkpoint).forEach((t) => t.dispose()));

  it('lists missing and unexpected keys', async () => {
    const model = await fresh();
    const { ['model.norm.weight']: _dropped, ...rest } = checkpoint;
    const extra = torch.zeros([2]);
    const load = (): void => void models.loadCheckpointInto(model, { ...rest, 'model.extra.weight': extra });
    expect(load).toThrow(StateDictError);
    expect(load).toThrow(/Missing key\(s\) in state_dict: "model\.norm\.weight"/);
    expect(load).toThrow(/Unexpected key\(s\) in state_dict: "model\.extra\.weight"/);
    extra.dispose();
    model.dispose();
  });

  it('reports a wrong shape with both shapes', async () => {
    const model = await fresh();
    const wrong = torch.zeros([100, 16]);
    expect(() => models.loadCheckpointInto(model, { ...checkpoint, 'model.embed_tokens.weight': wrong }))
      .toThrow(/size mismatch for model\.embed_tokens\.weight: .*\[100, 16\].*\[100, 32\]/);
    model.dispose();
  });

  it('skips buffers that old checkpoints carry and the model computes itself', async () => {
    const model = await fresh();
    const invFreq = torch.zeros([4]);
    models.loadCheckpointInto(model, { ...checkpoint, 'model.layers.0.self_attn.rotary_emb.inv_freq': invFreq });
    expect(torch.noGrad(() => model.getParameter('model.norm.weight').equal(checkpoint['model.norm.weight']))).toBe(true);
    model.dispose();
  });
});
