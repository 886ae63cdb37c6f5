// The seed scenario on pictures: `node-peft train` on an image folder (a ViT made at 8x8, LoRA at 12x12 with the
// bare position_embeddings in modules_to_save) saves adapter, model and processor that agree; `predict --images`
// and /v1/predict with images give the same logits as the tensors route; bad images are clear errors.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { torch } from '../../lib/index.js';
import { ViTForImageClassification } from '../../lib/models/index.js';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { loadSync, saveSync } from '../../lib/serialization/index.js';
import { digitsSplit, selectRows, writeDigitPngs } from '../../lib/train/digits.js';
import { AutoImageProcessor } from '../../lib/vision/index.js';
import { maxAbsDiff, post, get } from '../serve/helpers.js';
import { captureIO } from './io.js';

torch.setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), 'node-peft-images-cli-'));
const run = join(dir, 'run');
const CORRUPT = join('test', 'fixtures', 'images', 'corrupt');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

/** A few digit PNGs of the eval folder, in a fixed order. */
function someImages(n: number): string[] {
  const folder = join(dir, 'digits', 'eval');
  return readdirSync(folder).sort().flatMap((label) => readdirSync(join(folder, label)).sort().map((f) => join(folder, label, f))).slice(0, n);
}

beforeAll(async () => {
  torch.manualSeed(0);
  const model = new ViTForImageClassification({
    architectures: ['ViTForImageClassification'], model_type: 'vit', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, image_size: 8, patch_size: 2, num_channels: 3, num_labels: 10,
  });
  await model.savePretrained(join(dir, 'base'));
  model.dispose();
  const { train, test } = digitsSplit();
  const first = (n: number) => Array.from({ length: n }, (_, i) => i);
  for (const [name, data, n] of [['train', train, 120], ['eval', test, 40]] as const) {
    const rows = selectRows(data, first(n));
    await writeDigitPngs(join(dir, 'digits', name), rows);
    rows.pixel_values.dispose();
    rows.labels.dispose();
  }
  writeFileSync(join(dir, 'train.json'), JSON.stringify({
    model: 'base', output_dir: 'run', image_size: 12,
    lora: { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] },
    data: { train: 'digits/train', eval: 'digits/eval', augment: { horizontal_flip: true } },
    steps: 6, batch_size: 16, learning_rate: 0.01, eval_every: 3, log_every: 1, seed: 0,
  }));
  const trained = await cli('train', '--config', join(dir, 'train.json'), '--no-progress');
  expect(trained.err).toBe('');
  expect(trained.code).toBe(0);
});

describe('train on an image folder (the seed scenario)', () => {
  test('adapter, model and processor agree on the new image size and the labels', async () => {
    const adapter = loadSync(join(run, 'adapter', 'adapter_model.safetensors'));
    expect(adapter['base_model.model.vit.embeddings.position_embeddings'].shape).toEqual([1, 37, 16]);
    const config = JSON.parse(readFileSync(join(run, 'model', 'config.json'), 'utf8'));
    expect(config.image_size).toBe(12);
    expect(config.id2label).toEqual(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), String(i)])));
    for (const folder of ['adapter', 'model']) {
      const processor = await AutoImageProcessor.fromPretrained(join(run, folder));
      expect(processor.outputSize).toEqual([12, 12]);
    }
    expect(existsSync(join(run, 'metrics.jsonl'))).toBe(true);
  });
});

describe('predict --images', () => {
  test('prints labels with probabilities and gives the logits of the tensors route', async () => {
    const images = someImages(5);
    const viaImages = await cli('predict', '--model', join(run, 'model'), '--adapter', join(run, 'adapter'), '--images', ...images, '--top-k', '3', '--out', join(dir, 'img.safetensors'));
    expect(viaImages.err).toBe('');
    expect(viaImages.code).toBe(0);
    const lines = viaImages.out.split('\n').filter((l) => l.includes('.png:'));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^.*\.png: \d 0\.\d{4}, \d 0\.\d{4}, \d 0\.\d{4}$/);
    const processor = await AutoImageProcessor.fromPretrained(join(run, 'adapter'));
    saveSync(join(dir, 'pixels.safetensors'), await processor.preprocess(images));
    const viaTensors = await cli('predict', '--model', join(run, 'model'), '--adapter', join(run, 'adapter'), '--inputs', join(dir, 'pixels.safetensors'), '--out', join(dir, 'tensors.safetensors'));
    expect(viaTensors.code).toBe(0);
    const [a, b] = [loadSync(join(dir, 'img.safetensors')).logits, loadSync(join(dir, 'tensors.safetensors')).logits];
    expect(a.shape).toEqual([5, 10]);
    expect(a.sub(b).abs().max().item()).toBe(0);
  });

  test('a corrupt image is a clear error', async () => {
    const r = await cli('predict', '--model', join(run, 'model'), '--images', join(CORRUPT, 'truncated.png'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/truncated\.png: the file is truncated or damaged/);
  });
});

describe('/v1/predict with images', () => {
  let server: RunningServer;
  const root = join(dir, 'root');
  beforeAll(async () => {
    mkdirSync(root);
    for (const [i, file] of someImages(3).entries()) copyFileSync(file, join(root, `d${i}.png`));
    copyFileSync(join(CORRUPT, 'truncated.jpg'), join(root, 'broken.jpg'));
    copyFileSync(join(CORRUPT, 'bomb-50000x50000.png'), join(root, 'bomb.png'));
    writeFileSync(join(dir, 'secret.png'), readFileSync(someImages(1)[0]));
    symlinkSync(join(dir, 'secret.png'), join(root, 'link.png'));
    server = await serve({ model: join(run, 'model'), adapters: [['digits', join(run, 'adapter')]], imageRoot: root, batchWindowMs: 0 });
  });
  afterAll(() => server?.close());

  test('base64 and paths under --image-root give the logits of the tensors route, with labels', async () => {
    const images = someImages(3);
    const processor = await AutoImageProcessor.fromPretrained(join(run, 'adapter'));
    const { pixel_values } = await processor.preprocess(images);
    const viaTensors = await post(`${server.url}/v1/predict`, { adapter: 'digits', inputs: { pixel_values: pixel_values.toList() } });
    expect(viaTensors.status).toBe(200);
    const base64 = images.map((f) => readFileSync(f).toString('base64'));
    const viaImages = await post(`${server.url}/v1/predict`, { adapter: 'digits', images: [`data:image/png;base64,${base64[0]}`, base64[1], 'd2.png'], top_k: 2 });
    expect(viaImages.status).toBe(200);
    expect(maxAbsDiff(viaImages.body.logits as number[][], viaTensors.body.logits as number[][])).toBe(0);
    const predictions = viaImages.body.predictions as { label: string; id: number; probability: number }[][];
    expect(predictions).toHaveLength(3);
    expect(predictions[0]).toHaveLength(2);
    expect(predictions[0][0].label).toBe(String(predictions[0][0].id));
    expect(predictions[0][0].probability).toBeGreaterThanOrEqual(predictions[0][1].probability);
  });

  test.each([
    [['../secret.png'], 403, /outside the image root/],
    [['link.png'], 403, /outside the image root/],
    [[{ path: join(dir, 'secret.png') }], 403, /outside the image root/],
    [['missing.png'], 400, /no such file under the image root/],
    [['broken.jpg'], 400, /truncated or damaged/],
    [['bomb.png'], 413, /50000 x 50000 = 2,500,000,000 pixels is over the limit/],
    [['not base64 !'], 400, /expected base64 image data/],
    [[Buffer.from('hello').toString('base64')], 400, /not an image in a supported format/],
    [[], 400, /non-empty array/],
  ])('%j: %i, and the server keeps serving', async (images, status, message) => {
    const r = await post(`${server.url}/v1/predict`, { adapter: 'digits', images });
    expect(r.status).toBe(status);
    expect(String(r.body.error)).toMatch(message);
    expect((await get(`${server.url}/health`)).status).toBe(200);
  });
});
