// savePretrained writes what transformers' save_pretrained writes: the same keys (ViT under its on-disk legacy
// names, tied weights once), config.json with every field kept; shards with an index when asked.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, safetensors, torch } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'node-peft-models-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function keysAndShapes(path: string): Promise<Record<string, readonly number[]>> {
  const header = await safetensors.readHeader(path);
  return Object.fromEntries(header.tensors.map((t) => [t.name, t.shape]));
}

async function logitsOf(model: models.PreTrainedModel, caseDir: string): Promise<torch.Tensor> {
  const inputs = await safetensors.load(join(caseDir, 'inputs.safetensors'));
  return torch.noGrad(() => model.forward(inputs).logits);
}

describe('savePretrained', () => {
  it.each([
    'peft-golden/01_vit_lora_classifier',
    'peft-golden-transformers4/01_vit_lora_classifier',
    'peft-golden/05_gpt2_conv1d_fan_in_fan_out',
    'peft-golden-transformers4/06_bert_classifier_bias_lora_only',
    'peft-golden/11_qwen2_attention_bias_all_proj',
    'peft-golden/12b_llama_trainable_tokens_tied',
  ])('%s: same keys and shapes as the transformers checkpoint, and reloads to the same logits', async (name) => {
    const caseDir = join(FIXTURES, name);
    const model = await models.fromPretrained(join(caseDir, 'base'));
    const out = join(scratch, name.replace('/', '_'));
    await model.savePretrained(out);
    expect(await keysAndShapes(join(out, 'model.safetensors'))).toEqual(await keysAndShapes(join(caseDir, 'base/model.safetensors')));
    expect((await safetensors.readHeader(join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' });
    const reloaded = await models.fromPretrained(out);
    expect(maxAbsDiff(await logitsOf(reloaded, caseDir), await logitsOf(model, caseDir))).toBe(0);
    model.dispose();
    reloaded.dispose();
  });

  it('keeps every config.json field, writes the class name and the dtype in both spellings', async () => {
    const caseDir = join(FIXTURES, 'peft-golden-transformers4/03_llama_all_linear_rslora/base');
    const original = JSON.parse(readFileSync(join(caseDir, 'config.json'), 'utf8'));
    const model = await models.fromPretrained(caseDir, { dtype: 'bfloat16' });
    const out = join(scratch, 'llama-bf16');
    await model.savePretrained(out);
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    for (const [key, value] of Object.entries(original)) if (key !== 'torch_dtype') expect(written[key], key).toEqual(value);
    expect(written).toMatchObject({ architectures: ['LlamaForCausalLM'], dtype: 'bfloat16', torch_dtype: 'bfloat16' });
    const header = await safetensors.readHeader(join(out, 'model.safetensors'));
    expect(new Set(header.tensors.map((t) => t.dtype))).toEqual(new Set(['BF16']));
    model.dispose();
  });

  it('writes shards and an index when maxShardSize is given, and loads them back', async () => {
    const caseDir = join(FIXTURES, 'peft-golden/03_llama_all_linear_rslora');
    const model = await models.fromPretrained(join(caseDir, 'base'));
    const out = join(scratch, 'llama-sharded');
    await model.savePretrained(out, { maxShardSize: 20_000 });
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
    const shards = readdirSync(out).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(shards));
    expect(index.metadata.total_size).toBe(model.parameters().reduce((n, p) => n + p.numel() * 4, 0));
    expect(index.metadata.total_parameters).toBe(model.parameters().reduce((n, p) => n + p.numel(), 0));
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const reloaded = await models.fromPretrained(out);
    expect(maxAbsDiff(await logitsOf(reloaded, caseDir), await logitsOf(model, caseDir))).toBe(0);
    model.dispose();
    reloaded.dispose();
  });
  it('a later save into the same folder replaces the earlier layout, and maxShardSize is checked by name', async () => {
    const model = await models.fromPretrained(join(FIXTURES, 'peft-golden/03_llama_all_linear_rslora/base'));
    const out = join(scratch, 'llama-resaved');
    await model.savePretrained(out, { maxShardSize: 20_000 });
    await model.savePretrained(out);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
    await model.savePretrained(out, { maxShardSize: 20_000 });
    expect(readdirSync(out)).not.toContain('model.safetensors');
    await expect(model.savePretrained(out, { maxShardSize: 0.5 })).rejects.toThrow(/savePretrained: maxShardSize must be a positive integer number of bytes, got 0.5/);
    model.dispose();
  });
});

describe('ViT names across eras', () => {
  it.each([
    ['vit.encoder.layer.3.attention.attention.query.weight', 'vit.layers.3.attention.q_proj.weight'],
    ['vit.encoder.layer.0.attention.attention.key.bias', 'vit.layers.0.attention.k_proj.bias'],
    ['vit.encoder.layer.0.attention.attention.value.weight', 'vit.layers.0.attention.v_proj.weight'],
    ['vit.encoder.layer.11.attention.output.dense.weight', 'vit.layers.11.attention.o_proj.weight'],
    ['vit.encoder.layer.1.intermediate.dense.bias', 'vit.layers.1.mlp.fc1.bias'],
    ['vit.encoder.layer.1.output.dense.weight', 'vit.layers.1.mlp.fc2.weight'],
    ['vit.encoder.layer.1.layernorm_before.weight', 'vit.layers.1.layernorm_before.weight'],
    ['base_model.model.vit.encoder.layer.0.attention.attention.query.lora_A.weight', 'base_model.model.vit.layers.0.attention.q_proj.lora_A.weight'],
    ['vit.encoder.layer.0.attention.attention.query', 'vit.layers.0.attention.q_proj'],
    ['vit.embeddings.position_embeddings', 'vit.embeddings.position_embeddings'],
    ['classifier.weight', 'classifier.weight'],
  ])('%s ⇄ %s', (legacy, current) => {
    expect(models.vitNameToCurrent(legacy)).toBe(current);
    expect(models.vitNameToLegacy(current)).toBe(legacy);
    expect(models.vitNameToCurrent(current)).toBe(current);
  });

  it('leaves other models\' names alone', () => {
    for (const name of ['bert.encoder.layer.0.attention.output.dense.weight', 'model.layers.0.mlp.up_proj.weight']) {
      expect(models.vitNameToCurrent(name)).toBe(name);
      expect(models.vitNameToLegacy(name)).toBe(name);
    }
  });

  it('loads a checkpoint written in the current names too', async () => {
    const caseDir = join(FIXTURES, 'peft-golden/01_vit_lora_classifier');
    const model = await models.fromPretrained(join(caseDir, 'base'));
    const current = model.stateDict();
    const fresh = new models.ViTForImageClassification(model.config);
    models.loadCheckpointInto(fresh, current);
    expect(maxAbsDiff(await logitsOf(fresh, caseDir), await logitsOf(model, caseDir))).toBe(0);
    model.dispose();
    fresh.dispose();
  });
});
