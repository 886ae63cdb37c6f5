// Image processors against transformers 5.17 (PIL backend): pixel_values of ViT, DeiT, CLIP, SigLIP and ConvNeXt
// processors on PNG (RGB, RGBA, gray, palette) and JPEG images (scripts/fixtures/images.py wrote the fixtures).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ImageError, torch } from '../../lib/index.js';
import { loadSync } from '../../lib/serialization/index.js';
import { AutoImageProcessor, decodeImage, ImageProcessor, resizeOutputSize } from '../../lib/vision/index.js';

torch.setNumThreads(1);
const ROOT = join('test', 'fixtures', 'images');
const INPUTS = join(ROOT, 'inputs');
const expected = loadSync(join(ROOT, 'expected.safetensors'));
const images = readdirSync(INPUTS).sort();
const processors = readdirSync(join(ROOT, 'processors')).sort();
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-vision-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Two levels of 255 after normalising (2/255/0.5 = 0.016; measured: one level, max 0.0078 at std 0.5 and 0.015 with
// CLIP's std 0.26; mean <= 0.001 bilinear, <= 0.00005 bicubic, 0 nearest).
const MAX_ABS = 0.02;
const MEAN_ABS = 0.004;

function diff(got: torch.Tensor, want: torch.Tensor): { max: number; mean: number } {
  const d = got.sub(want).abs();
  return { max: d.max().item(), mean: d.mean().item() };
}

describe('image processors match transformers 5.17 (PIL backend)', () => {
  test('the fixtures cover ViT, CLIP and ConvNeXt on PNG (RGB, RGBA, gray, palette) and JPEG', () => {
    expect(processors).toEqual(expect.arrayContaining(['vit', 'clip', 'convnext', 'deit', 'siglip', 'vit-nearest', 'shortest-longest']));
    expect(images).toEqual(expect.arrayContaining(['rgb-300x200.png', 'rgba-64x48.png', 'gray-37x53.png', 'palette-120x90.png', 'photo-257x193.jpg']));
  });

  for (const name of processors) {
    test(`${name}: every image within two levels, shapes exact`, async () => {
      const processor = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', name));
      const report: string[] = [];
      for (const image of images) {
        const want = expected[`${name}/${image}`];
        const { pixel_values: got } = await processor.preprocess(join(INPUTS, image));
        expect(got.dtype).toBe('float32');
        expect(got.shape, `${name}/${image}`).toEqual(want.shape);
        const { max, mean } = diff(got, want);
        report.push(`${image}: max ${max.toFixed(4)} mean ${mean.toFixed(5)}`);
        expect(max, `${name}/${image}: ${report.at(-1)}`).toBeLessThanOrEqual(MAX_ABS);
        expect(mean, `${name}/${image}: ${report.at(-1)}`).toBeLessThanOrEqual(MEAN_ABS);
        got.dispose();
      }
    });
  }

  test('a batch from paths, a Buffer and decoded pixels gives the rows of each', async () => {
    const processor = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', 'vit'));
    const decoded = await decodeImage(join(INPUTS, 'gray-37x53.png'));
    const { pixel_values } = await processor.preprocess([join(INPUTS, 'rgb-300x200.png'), readFileSync(join(INPUTS, 'photo-257x193.jpg')), decoded]);
    expect(pixel_values.shape).toEqual([3, 3, 32, 32]);
    const rows = ['rgb-300x200.png', 'photo-257x193.jpg', 'gray-37x53.png'].map((f) => expected[`vit/${f}`]);
    expect(pixel_values.sub(torch.cat(rows, 0)).abs().max().item()).toBeLessThanOrEqual(MAX_ABS);
  });

  test('decoded gray + alpha pixels are converted to RGB (alpha dropped, gray repeated)', async () => {
    const processor = new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: 2, width: 2 } });
    const grayAlpha = { data: Uint8Array.from([0, 9, 255, 9, 255, 9, 0, 9]), width: 2, height: 2, channels: 2 as const };
    const { pixel_values } = await processor.preprocess(grayAlpha);
    expect(Array.from(pixel_values.toArray() as Float32Array)).toEqual([-1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1]);
  });

  test('images of different output sizes (shortest_edge, no crop) are refused as one batch', async () => {
    const processor = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', 'shortest-longest'));
    await expect(processor.preprocess([join(INPUTS, 'rgb-300x200.png'), join(INPUTS, 'tall-90x160.jpg')])).rejects.toThrow(/different sizes/);
  });
});

describe('sizes and config', () => {
  test('ConvNeXt: below 384 resize the short side to int(s / crop_pct) and crop; at 384 or more warp to a square', () => {
    expect(resizeOutputSize({ kind: 'convnext', shortestEdge: 224, cropPct: 0.875 }, 480, 640)).toEqual([256, 341]);
    expect(resizeOutputSize({ kind: 'convnext', shortestEdge: 384, cropPct: 0.875 }, 480, 640)).toEqual([384, 384]);
  });

  test('shortest_edge truncates the long side; longest_edge caps it', () => {
    expect(resizeOutputSize({ kind: 'shortest-edge', shortestEdge: 224, longestEdge: null }, 300, 200)).toEqual([336, 224]);
    expect(resizeOutputSize({ kind: 'shortest-edge', shortestEdge: 30, longestEdge: 48 }, 200, 300)).toEqual([30, 45]);
    expect(resizeOutputSize({ kind: 'shortest-edge', shortestEdge: 30, longestEdge: 48 }, 160, 90)).toEqual([48, 27]);
  });

  test('an int size in an old config is a square for ViT and the shortest edge for CLIP', () => {
    expect(new ImageProcessor({ image_processor_type: 'ViTFeatureExtractor', size: 64 }).outputSize).toEqual([64, 64]);
    expect(new ImageProcessor({ image_processor_type: 'CLIPImageProcessor', size: 64, crop_size: 56 }).resolved.resize).toEqual({ kind: 'shortest-edge', shortestEdge: 64, longestEdge: null });
  });

  test('unsupported settings are clear errors', () => {
    expect(() => new ImageProcessor({ image_processor_type: 'ViTImageProcessor', resample: 1 })).toThrow(/'resample' must be 0 \(nearest\), 2 \(bilinear\) or 3 \(bicubic\) \(lanczos is not supported\)/);
    expect(() => new ImageProcessor({ image_processor_type: 'Qwen2VLImageProcessor' })).toThrow(/'Qwen2VL\w*' is not supported/);
    expect(() => new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: 0, width: 3 } })).toThrow(/'size.height' must be a positive integer/);
    expect(() => new ImageProcessor({ image_processor_type: 'ViTImageProcessor', image_std: [1, 0, 1] })).toThrow(ImageError);
  });

  test('setImageSize then savePretrained round-trips through preprocessor_config.json', async () => {
    const deit = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', 'deit'));
    deit.setImageSize(64);
    expect(deit.outputSize).toEqual([64, 64]);
    expect(deit.config.size).toEqual({ height: 80, width: 80 });
    const dir = join(scratch, 'deit-64');
    await deit.savePretrained(dir);
    const again = await AutoImageProcessor.fromPretrained(dir);
    expect(again.config).toEqual(deit.config);
    expect(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')).image_processor_type).toBe('DeiTImageProcessor');
    const vit = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', 'vit'));
    vit.setImageSize(48);
    expect(vit.config.size).toEqual({ height: 48, width: 48 });
  });

  test("a ViT's resizeImageSize(side, { processor }) resizes the processor with the position embeddings", async () => {
    const { ViTForImageClassification } = await import('../../lib/models/index.js');
    const model = new ViTForImageClassification({ hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, image_size: 32, patch_size: 8, num_labels: 2 });
    const processor = await AutoImageProcessor.fromPretrained(join(ROOT, 'processors', 'vit'));
    model.resizeImageSize(48, { processor });
    expect(model.config.image_size).toBe(48);
    expect(processor.outputSize).toEqual([48, 48]);
    const { pixel_values } = await processor.preprocess(join(INPUTS, 'photo-257x193.jpg'));
    expect(torch.noGrad(() => model.forward({ pixel_values }).logits.shape)).toEqual([1, 2]);
    model.dispose();
  });

  test('a folder without preprocessor_config.json, or broken JSON, is a clear error', async () => {
    await expect(AutoImageProcessor.fromPretrained(INPUTS)).rejects.toThrow(/no preprocessor_config.json/);
    await expect(AutoImageProcessor.fromPretrained(join(scratch, 'missing'))).rejects.toThrow(/no such folder/);
    await expect(AutoImageProcessor.fromPretrained(join(INPUTS, 'rgb-300x200.png'))).rejects.toThrow(/not valid JSON/);
  });
});
