// train --config on a tiny ViT and real digits, then inspect and merge the adapter it wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { torch } from '../../lib/index.js';
import { ViTForImageClassification } from '../../lib/models/index.js';
import { loadSync, saveSync } from '../../lib/serialization/index.js';
import { digitsSplit, selectRows } from '../../lib/train/digits.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { captureIO } from './io.js';

torch.setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), 'node-peft-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

beforeAll(async () => {
  torch.manualSeed(0);
  const model = new ViTForImageClassification({
    architectures: ['ViTForImageClassification'], model_type: 'vit', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, image_size: 8, patch_size: 2, num_channels: 1, num_labels: 10,
  });
  await model.savePretrained(join(dir, 'base'));
  model.dispose();
  const { train, test } = digitsSplit();
  const rows = (n: number) => Array.from({ length: n }, (_, i) => i);
  const small = { train: selectRows(train, rows(96)), eval: selectRows(test, rows(32)) };
  saveSync(join(dir, 'train.safetensors'), { ...small.train });
  saveSync(join(dir, 'eval.safetensors'), { pixel_values: small.eval.pixel_values, labels: small.eval.labels });
  saveSync(join(dir, 'eval-inputs.safetensors'), { pixel_values: small.eval.pixel_values });
  writeFileSync(join(dir, 'train.json'), JSON.stringify({
    model: 'base', output_dir: 'run', image_size: 12,
    lora: { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] },
    data: { train: 'train.safetensors', eval: 'eval.safetensors' },
    steps: 6, batch_size: 16, learning_rate: 0.01, lr_scheduler: 'cosine', warmup_steps: 1, max_grad_norm: 1,
    eval_every: 3, checkpoint_every: 3, log_every: 1,
  }));
});

describe('train, inspect, merge', () => {
  test('train writes the adapter, metrics, plots and checkpoints', async () => {
    const r = await run('train', '--config', join(dir, 'train.json'), '--no-progress');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/adapter saved to .*run\/adapter after 6 steps/);
    const run_ = join(dir, 'run');
    for (const file of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'metrics.jsonl', 'plots.html', 'checkpoint-6/trainer_state.json']) {
      expect(existsSync(join(run_, file)), file).toBe(true);
    }
    const records = readMetrics(join(run_, 'metrics.jsonl'));
    expect(records.filter((m) => m.split === 'train').map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.filter((m) => m.split === 'eval').map((m) => m.step)).toEqual([3, 6]);
    expect(readFileSync(join(run_, 'plots.html'), 'utf8')).toContain('<svg');
    const saved = loadSync(join(run_, 'adapter', 'adapter_model.safetensors'));
    expect(saved['base_model.model.vit.embeddings.position_embeddings'].shape).toEqual([1, 37, 16]);
  });

  test('inspect lists the tensors and, with --model, the targeted modules and saved parameters', async () => {
    const adapter = join(dir, 'run', 'adapter');
    const r = await run('inspect', adapter, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { config: { r: number }; tensors: { name: string; shape: number[] }[] };
    expect(report.config.r).toBe(4);
    expect(report.tensors.find((t) => t.name === 'base_model.model.vit.layers.0.attention.q_proj.lora_A.weight')?.shape).toEqual([4, 16]);
    // The adapter was trained at 12x12; the saved base is 8x8, so inspecting against it needs the resized base.
    const { fromPretrained } = await import('../../lib/models/index.js');
    const base = await fromPretrained<ViTForImageClassification>(join(dir, 'base'));
    base.resizeImageSize(12);
    await base.savePretrained(join(dir, 'base12'));
    base.dispose();
    const withModel = await run('inspect', adapter, '--model', join(dir, 'base12'));
    expect(withModel.code).toBe(0);
    expect(withModel.out).toContain('LoRA on 4 modules:');
    expect(withModel.out).toContain('vit.layers.1.attention.v_proj');
    expect(withModel.out).toContain('modules_to_save copies: classifier');
    expect(withModel.out).toContain('parameters saved with the adapter: vit.embeddings.position_embeddings');
  });

  test('merge writes a plain model whose logits equal base + adapter', async () => {
    const adapter = join(dir, 'run', 'adapter');
    const merged = join(dir, 'merged');
    expect((await run('merge', '--model', join(dir, 'base12'), '--adapter', adapter, '--out', merged)).code).toBe(0);
    const small = loadSync(join(dir, 'eval-inputs.safetensors'));
    const up = torch.F.interpolate(small.pixel_values, { size: [12, 12], mode: 'bilinear' });
    saveSync(join(dir, 'eval12.safetensors'), { pixel_values: up });
    const inputs = join(dir, 'eval12.safetensors');
    expect((await run('predict', '--model', join(dir, 'base12'), '--adapter', adapter, '--inputs', inputs, '--out', join(dir, 'a.safetensors'))).code).toBe(0);
    expect((await run('predict', '--model', merged, '--inputs', inputs, '--out', join(dir, 'b.safetensors'))).code).toBe(0);
    const a = loadSync(join(dir, 'a.safetensors')).logits;
    const b = loadSync(join(dir, 'b.safetensors')).logits;
    expect(a.sub(b).abs().max().item()).toBeLessThan(1e-4);
  });
});
