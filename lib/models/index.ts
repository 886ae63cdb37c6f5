// The `models` namespace: Hugging Face model classes, fromPretrained / savePretrained, generation.
export { PreTrainedModel, type CausalLMInputs, type ModelInputs, type ModelOutput, type TensorModule } from './base.js';
export { fromPretrained, MODEL_CLASSES, type FromPretrainedOptions } from './pretrained.js';
export { loadCheckpointInto, type SaveCheckpointOptions } from './checkpoint.js';
export {
  bertConfig, configDtype, gpt2Config, llamaConfig, qwen2Config, vitConfig,
  type BertConfig, type ConfigJson, type EncoderFields, type GPT2Config, type LlamaConfig, type PretrainedConfig, type RopeParameters, type ViTConfig,
} from './config.js';
export { LlamaForCausalLM, Qwen2ForCausalLM, LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP } from './llama.js';
export { GPT2LMHeadModel, GPT2Model, GPT2Block, GPT2Attention, GPT2MLP } from './gpt2.js';
export { BertForSequenceClassification, BertModel } from './bert.js';
export { ViTForImageClassification, ViTModel, ViTEmbeddings, interpolatePositionEmbeddings } from './vit.js';
export { vitNameToCurrent, vitNameToLegacy, VIT_LEAF_RENAMES } from './vit-names.js';
export { Conv1D } from './conv1d.js';
export { KVCache } from './kv-cache.js';
export { generateIds, generateSteps, resolveGeneration, type CausalLM, type GenerationOptions, type GenerationStep, type ResolvedGeneration } from './generation.js';
export {
  generate, generateText, streamText, encodePrompt, leftPad,
  type GenerationTokenizer, type Prompt, type TextGenerationOptions,
} from './text-generation.js';
export * as sampling from './sampling.js';
export { loadGenerationConfig } from './generation-config.js';
