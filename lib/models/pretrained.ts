// fromPretrained: a Hugging Face model folder (config.json + safetensors weights) → the model class that
// config.json's architectures[0] names, with its weights loaded strictly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import { resolveModelDir } from '../hub/index.js';
import { loadCheckpoint } from '../serialization/sharded.js';
import { noGrad } from '../tensor/autograd.js';
import { type DType, isFloating } from '../tensor/dtype.js';
import type { PreTrainedModel } from './base.js';
import { BertForSequenceClassification } from './bert.js';
import { loadCheckpointInto } from './checkpoint.js';
import { type ConfigJson, configDtype } from './config.js';
import { GPT2LMHeadModel } from './gpt2.js';
import { LlamaForCausalLM, Qwen2ForCausalLM } from './llama.js';
import { ViTForImageClassification } from './vit.js';

type ModelClass = new (config: ConfigJson) => PreTrainedModel;

/** The classes fromPretrained can build, by Hugging Face class name. */
export const MODEL_CLASSES: Readonly<Record<string, ModelClass>> = Object.freeze({
  LlamaForCausalLM,
  Qwen2ForCausalLM,
  GPT2LMHeadModel,
  BertForSequenceClassification,
  ViTForImageClassification,
});

export interface FromPretrainedOptions {
  /** dtype of the parameters; 'auto' (default, as transformers 5): the config's dtype, else the checkpoint's. */
  dtype?: DType | 'auto';
  /** Hub revision (branch, tag or commit) when `dir` is a repo id ('org/name'). */
  revision?: string;
}

async function readConfig(dir: string): Promise<ConfigJson> {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TorchError(`fromPretrained: cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TorchError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TorchError(`${path}: expected a JSON object`);
  return json as ConfigJson;
}

/**
 * Loads a Hugging Face model folder: config.json picks the class (architectures[0]); model.safetensors or the
 * shards of model.safetensors.index.json give the weights, under either era's key names. The model is returned
 * in eval mode, like transformers.
 * @throws StateDictError when a key is missing or unexpected or a shape differs; TorchError for an unknown class.
 * @example const model = await models.fromPretrained('./tiny-llama', { dtype: 'bfloat16' });
 */
export async function fromPretrained<M extends PreTrainedModel = PreTrainedModel>(dirOrRepo: string, options: FromPretrainedOptions = {}): Promise<M> {
  const dir = await resolveModelDir(dirOrRepo, { revision: options.revision });
  const config = await readConfig(dir);
  const architecture = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  const Model = typeof architecture === 'string' ? MODEL_CLASSES[architecture] : undefined;
  if (!Model) {
    throw new TorchError(`fromPretrained: config.json architectures[0] must be one of ${Object.keys(MODEL_CLASSES).join(', ')}, got ${JSON.stringify(architecture)}`);
  }
  const model = new Model(config);
  const checkpoint = await loadCheckpoint(dir);
  try {
    noGrad(() => loadCheckpointInto(model, checkpoint));
    const stored = Object.values(checkpoint).find((t) => isFloating(t.dtype))?.dtype;
    const dtype = options.dtype === undefined || options.dtype === 'auto' ? (configDtype(config) ?? stored ?? 'float32') : options.dtype;
    if (dtype !== model.dtype) model.to(dtype);
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    for (const t of Object.values(checkpoint)) t.dispose();
  }
  return model.eval() as M;
}
