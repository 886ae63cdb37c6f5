// Against transformers 5.17 on the cases scripts/fixtures/models.py wrote: padding masks, token type ids,
// RoPE scaling types (given in transformers 4's config spelling), ViT position interpolation, sharded weights.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { models, safetensors, torch } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

const dirOf = (name: string): string => join(FIXTURES, 'models', name);

async function runCase(name: string): Promise<{ model: models.PreTrainedModel; inputs: Record<string, torch.Tensor>; expected: Record<string, torch.Tensor> }> {
  const model = await models.fromPretrained(dirOf(name));
  const inputs = await safetensors.load(join(dirOf(name), 'inputs.safetensors'));
  const expected = await safetensors.load(join(dirOf(name), 'expected.safetensors'));
  return { model, inputs, expected };
}

describe('forward with masks and scaled rotary embeddings', () => {
  it.each([
    'llama_rope_llama3', 'llama_rope_linear', 'llama_rope_dynamic', 'qwen2_padding', 'gpt2_padding',
    'bert_padding_token_types', 'llama_tied_sharded_generate',
  ])('%s matches transformers within 1e-4', async (name) => {
    const { model, inputs, expected } = await runCase(name);
    const { logits } = torch.noGrad(() => model.forward(inputs));
    // padded query rows included: they attend uniformly, as transformers' eager masks make them
    expect(maxAbsDiff(logits, expected.logits)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('reads rope settings from transformers 4 fields (rope_theta + rope_scaling with "type")', async () => {
    const { model } = await runCase('llama_rope_llama3');
    const config = model.config as models.LlamaConfig;
    expect(config.rope_parameters).toMatchObject({ rope_type: 'llama3', rope_theta: 500000, factor: 8, original_max_position_embeddings: 16 });
    expect(config.dtype).toBe('float32');
    model.dispose();
  });

  it('left padding does not change the logits of the real tokens', async () => {
    const { model, inputs } = await runCase('qwen2_padding');
    // row 1 has 3 pad tokens in front: run its real tokens alone and compare
    const alone = torch.scope(() => inputs.input_ids.slice(0, 1, 2).slice(1, 3));
    const [padded, unpadded] = torch.noGrad(() => [model.forward(inputs).logits.slice(0, 1, 2).slice(1, 3), model.forward({ input_ids: alone }).logits]);
    expect(maxAbsDiff(padded, unpadded)).toBeLessThan(1e-5);
    model.dispose();
  });
});

describe('ViT at other image sizes', () => {
  it('interpolate_pos_encoding matches transformers on 48x40 and 48x48 images', async () => {
    const { model, inputs, expected } = await runCase('vit_interpolate');
    const rect = torch.noGrad(() => model.forward({ pixel_values: inputs.pixel_values, interpolate_pos_encoding: true }).logits);
    const square = torch.noGrad(() => model.forward({ pixel_values: inputs.square_pixel_values, interpolate_pos_encoding: true }).logits);
    expect(maxAbsDiff(rect, expected.logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(square, expected.square_logits)).toBeLessThan(1e-4);
    expect(() => model.forward({ pixel_values: inputs.pixel_values })).toThrow(/input image size \(48\*40\) doesn't match model \(32\*32\)/);
    model.dispose();
  });

  it('resizeImageSize replaces position_embeddings with the bicubic-resized table', async () => {
    const { model, inputs, expected } = await runCase('vit_interpolate');
    const vit = model as models.ViTForImageClassification;
    const before = vit.getParameter('vit.embeddings.position_embeddings');
    vit.resizeImageSize(48);
    const after = vit.getParameter('vit.embeddings.position_embeddings');
    expect(after).not.toBe(before);
    expect(before.disposed).toBe(true);
    expect(after.shape).toEqual([1, 37, 32]);
    expect(after.requiresGrad).toBe(true);
    expect(maxAbsDiff(after, expected.position_embeddings_48)).toBeLessThan(1e-6);
    expect(vit.config.image_size).toBe(48);
    const logits = torch.noGrad(() => vit.forward({ pixel_values: inputs.square_pixel_values }).logits);
    expect(maxAbsDiff(logits, expected.square_logits)).toBeLessThan(1e-4);
    expect(() => vit.resizeImageSize(4)).toThrow(/imageSize must be an integer >= patch_size \(8\), got 4/);
    vit.dispose();
  });
});
