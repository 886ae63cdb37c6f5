// predict --images: image files through the image processor (the adapter's, else the model's), forward,
// and each image's top-k labels with probabilities.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel } from '../models/index.js';
import type { PeftModel } from '../peft/index.js';
import { noGrad } from '../tensor/autograd.js';
import { softmax } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ImageProcessor, PROCESSOR_CONFIG } from '../vision/index.js';
import { UsageError } from './args.js';
import { processorFor } from './train-images.js';

export interface LabelScore {
  label: string;
  id: number;
  probability: number;
}

/** The processor for a model + adapters: --processor, else the first adapter folder's, else the model folder's (or ViT defaults). */
export async function resolveProcessor(processorDir: string | null, adapterDirs: readonly string[], modelDir: string, model: PreTrainedModel, log: (line: string) => void): Promise<ImageProcessor> {
  if (processorDir) return ImageProcessor.fromPretrained(processorDir);
  for (const dir of adapterDirs) {
    if (await stat(join(dir, PROCESSOR_CONFIG)).catch(() => null)) return ImageProcessor.fromPretrained(dir);
  }
  return processorFor(modelDir, model, log);
}

/** The k most probable labels of each row of logits [N, C], names from id2label. */
export function topLabels(logits: Tensor, k: number, id2label: Record<string, string> | undefined): LabelScore[][] {
  return scope(() => {
    const probabilities = softmax(logits.float(), -1);
    const [values, indices] = probabilities.topk(Math.min(k, logits.shape[1]), -1);
    const p = values.toArray() as Float32Array;
    const ids = indices.toArray() as BigInt64Array;
    const width = values.shape[1];
    return Array.from({ length: logits.shape[0] }, (_, row) =>
      Array.from({ length: width }, (_, j) => {
        const id = Number(ids[row * width + j]);
        return { id, label: id2label?.[String(id)] ?? `LABEL_${id}`, probability: p[row * width + j] };
      }),
    );
  });
}

export interface ImagePrediction {
  logits: Tensor;
  top: LabelScore[][];
}

/** Preprocesses the files, runs the model (with its active adapter) and ranks the labels. */
export async function predictImages(model: PreTrainedModel, peft: PeftModel | null, processor: ImageProcessor, files: readonly string[], topK: number, adapterNames: string[] | null): Promise<ImagePrediction> {
  if (files.length === 0) throw new UsageError('predict: --images needs at least one file');
  if (adapterNames && adapterNames.length !== files.length) throw new UsageError(`predict: --adapter-names gives ${adapterNames.length} names for ${files.length} images`);
  const { pixel_values } = await processor.preprocess(files);
  try {
    const logits = noGrad(() =>
      scope(() => {
        const inputs = { pixel_values, ...(adapterNames ? { adapter_names: adapterNames } : {}) };
        return ((peft ?? model).forward(inputs as never) as { logits: Tensor }).logits.contiguous();
      }),
    );
    return { logits, top: topLabels(logits, topK, model.config.id2label as Record<string, string> | undefined) };
  } finally {
    pixel_values.dispose();
  }
}

export function formatPredictions(files: readonly string[], top: LabelScore[][]): string[] {
  return files.map((file, i) => `${file}: ${top[i].map((s) => `${s.label} ${s.probability.toFixed(4)}`).join(', ')}`);
}
