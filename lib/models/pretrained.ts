// fromPretrained: a Hugging Face model folder (config.json + safetensors weights) → the model class that
// config.json's architectures[0] names, with its weights loaded strictly.
import { join } from 'node:path';
import { resolveFolder } from '../serialization/replace-folder.js';
import { TorchError } from '../errors.js';
import { resolveModelDir } from '../hub/index.js';
import { loadCheckpoint } from '../serialization/sharded.js';
import { noGrad } from '../tensor/autograd.js';
import { disposeIfThrows } from '../tensor/scope.js';
import { checkFloatDtype, type DType, isFloating } from '../tensor/dtype.js';
import type { PreTrainedModel } from './base.js';
import { BertForSequenceClassification } from './bert.js';
import { loadCheckpointInto } from './checkpoint.js';
import { checkConfigFitsWeights } from './config-size.js';
import { type ConfigJson, configDtype } from './config.js';
import { GPT2LMHeadModel } from './gpt2.js';
import { Gemma2ForCausalLM, Gemma3ForCausalLM, MistralForCausalLM, Phi3ForCausalLM, Qwen3ForCausalLM } from './decoder-families.js';
import { LlamaForCausalLM, Qwen2ForCausalLM } from './llama.js';
import {
  Gemma2ForSequenceClassification, Gemma3TextForSequenceClassification, LlamaForSequenceClassification, MistralForSequenceClassification,
  Phi3ForSequenceClassification, Qwen2ForSequenceClassification, Qwen3ForSequenceClassification,
} from './sequence-classification.js';
import { readJsonObject } from './json-file.js';
import { ViTForImageClassification } from './vit.js';

type ModelClass = new (config: ConfigJson) => PreTrainedModel;

/** The classes fromPretrained can build, by Hugging Face class name. */
export const MODEL_CLASSES: Readonly<Record<string, ModelClass>> = Object.freeze({
  LlamaForCausalLM,
  Qwen2ForCausalLM,
  MistralForCausalLM,
  Qwen3ForCausalLM,
  Gemma2ForCausalLM,
  Gemma3ForCausalLM,
  Phi3ForCausalLM,
  LlamaForSequenceClassification,
  Qwen2ForSequenceClassification,
  MistralForSequenceClassification,
  Qwen3ForSequenceClassification,
  Gemma2ForSequenceClassification,
  Gemma3TextForSequenceClassification,
  Phi3ForSequenceClassification,
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
  return (await readJsonObject(join(dir, 'config.json'), { what: 'fromPretrained' })) as ConfigJson;
}

/**
 * Loads a Hugging Face model folder: config.json picks the class (architectures[0]); model.safetensors or the
 * shards of model.safetensors.index.json give the weights, under either era's key names. The model is returned
 * in eval mode, like transformers.
 * @throws StateDictError when a key is missing or unexpected or a shape differs; TorchError for an unknown class.
 * @example const model = await models.fromPretrained('./tiny-llama', { dtype: 'bfloat16' });
 */
export async function fromPretrained<M extends PreTrainedModel = PreTrainedModel>(dirOrRepo: string, options: FromPretrainedOptions = {}): Promise<M> {
  if (options.dtype !== undefined && options.dtype !== 'auto') checkFloatDtype(options.dtype, `fromPretrained: dtype (or 'auto')`);
  // a save killed between its two renames: the complete new version beside it
  const dir = resolveFolder(await resolveModelDir(dirOrRepo, { revision: options.revision }));
  const config = await readConfig(dir);
  const architecture = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  const Model = typeof architecture === 'string' ? MODEL_CLASSES[architecture] : undefined;
  if (!Model) {
    const named = typeof architecture === 'string' ? `unsupported architecture ${architecture}` : `no architecture named (${JSON.stringify(architecture)})`;
    throw new TorchError(`fromPretrained: ${named} in ${join(dir, 'config.json')} (architectures[0]); supported architectures: ${Object.keys(MODEL_CLASSES).join(', ')}`);
  }
  checkConfigFitsWeights(config, dir);
  const model = disposeIfThrows(() => new Model(config)); // a config that fails halfway leaks no parameters
  let checkpoint;
  try {
    checkpoint = await loadCheckpoint(dir);
  } catch (error) {
    model.dispose();
    throw error;
  }
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
