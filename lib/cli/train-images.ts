// The image side of `node-peft train`: data.train / data.eval as an image folder or JSONL of {image, label},
// read through the model's image processor (resized with image_size), labels through the model's id2label.
import { open } from 'node:fs/promises';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ViTForImageClassification, type PreTrainedModel } from '../models/index.js';
import { DecodedImageCache, ImageDataLoader } from '../train/image-loader.js';
import { loadImageDataset, type ImageDataset, type LabelMaps } from '../train/image-data.js';
import type { ProgressStream } from '../train/progress.js';
import { ImageProcessor, PROCESSOR_CONFIG } from '../vision/index.js';
import { UsageError } from './args.js';
import type { TrainConfig } from './train-config.js';

/** An image folder, or a .jsonl file whose first row has an "image" field (text JSONL has none). */
export async function isImageData(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  if (!info) return false;
  if (info.isDirectory()) return true;
  if (!path.endsWith('.jsonl')) return false;
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').split('\n').find((line) => line.trim() !== '');
    if (!first) return false;
    const row = JSON.parse(first) as unknown;
    return typeof row === 'object' && row !== null && 'image' in row;
  } catch {
    return false;
  } finally {
    await file.close();
  }
}

/** The model folder's image processor, or ViT's defaults at the model's image size when the folder has none. */
export async function processorFor(modelDir: string, model: PreTrainedModel, log: (line: string) => void): Promise<ImageProcessor> {
  const own = await stat(join(modelDir, PROCESSOR_CONFIG)).catch(() => null);
  if (own) return ImageProcessor.fromPretrained(modelDir);
  const side = (model.config as { image_size?: number }).image_size ?? 224;
  log(`${modelDir} has no ${PROCESSOR_CONFIG}: using ViT's defaults (${side}x${side}, bilinear, mean/std 0.5)`);
  return new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: side, width: side } });
}

export interface ImageTraining {
  processor: ImageProcessor;
  train: ImageDataLoader;
  eval: ImageDataLoader | null;
  labels: LabelMaps;
  /** The model's label names were made from the data here (they are saved with the model). */
  labelsCreated: boolean;
}

function checkModel(model: PreTrainedModel): ViTForImageClassification {
  if (!(model instanceof ViTForImageClassification)) throw new UsageError(`train: image data needs an image model (ViTForImageClassification), not ${model.architecture}`);
  if (model.config.num_channels !== 3) throw new UsageError(`train: images come as RGB (3 channels), but the model takes ${model.config.num_channels} channel(s) (num_channels)`);
  return model;
}

/** Label maps onto the model: its own when it has them, else the data's, which must fit its classifier. */
function applyLabels(model: ViTForImageClassification, data: ImageDataset): void {
  if (!data.labelsCreated) return;
  const classes = Object.keys(data.id2label).length;
  if (classes !== model.config.num_labels) {
    throw new UsageError(`train: the data has ${classes} classes (${Object.values(data.id2label).slice(0, 8).join(', ')}) but the model's classifier has ${model.config.num_labels} outputs`);
  }
  Object.assign(model.config, { id2label: data.id2label, label2id: data.label2id });
}

/** Indexes the data, sets the labels and image size on the model and its processor, and makes the loaders. */
export async function prepareImageTraining(config: TrainConfig, model: PreTrainedModel, progress: boolean | ProgressStream, log: (line: string) => void): Promise<ImageTraining> {
  const vit = checkModel(model);
  const processor = await processorFor(config.model, vit, log);
  if (config.image_size !== null) processor.setImageSize(config.image_size);
  const side = vit.config.image_size;
  const out = processor.outputSize;
  if (!out || out[0] !== out[1] || (config.image_size ?? side) !== out[0]) {
    throw new UsageError(`train: the image processor makes ${out ? `${out[0]}x${out[1]}` : 'images of varying size'} but the model takes ${config.image_size ?? side}x${config.image_size ?? side}`);
  }
  const existing = { id2label: vit.config.id2label as Record<string, string> | undefined, label2id: vit.config.label2id as Record<string, number> | undefined };
  const trainData = await loadImageDataset(config.train_data, { labels: existing, progress });
  applyLabels(vit, trainData);
  const labels = { id2label: trainData.id2label, label2id: trainData.label2id };
  if (config.eval_data && !(await isImageData(config.eval_data))) throw new UsageError(`train: data.train is images, so data.eval must be too (an image folder or a JSONL of {"image", "label"}), got ${config.eval_data}`);
  const evalData = config.eval_data ? await loadImageDataset(config.eval_data, { labels }) : null;
  const cache = new DecodedImageCache();
  log(`images: ${trainData.examples.length} for training${evalData ? `, ${evalData.examples.length} for evaluation` : ''}, ${Object.keys(labels.id2label).length} classes${trainData.labelsCreated ? ' (labels from the data)' : ''}`);
  return {
    processor,
    labels,
    labelsCreated: trainData.labelsCreated,
    train: new ImageDataLoader(trainData.examples, processor, { batchSize: config.batch_size, seed: config.seed, augment: config.augment, cache }),
    eval: evalData ? new ImageDataLoader(evalData.examples, processor, { batchSize: config.batch_size, shuffle: false, cache }) : null,
  };
}
