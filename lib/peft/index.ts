// The PEFT surface: LoraConfig, getPeftModel / PeftModel, state dicts, layers and wrappers.
export {
  LoraConfig, parseLoraConfig, loraConfigToJson, loraConfigToObject, LORA_CONFIG_FIELDS, PEFT_FORMAT_VERSION, TASK_TYPES,
  type LoraConfigInit, type LoraConfigFields, type LoraBias, type TaskType, type ParsedLoraConfig,
} from './config.js';
export { checkTargetModuleExists, classifyTargetModule, findTargets } from './matching.js';
export { PeftModel, LoraModel, getPeftModel, type PeftForwardInputs, type PeftModelOptions } from './peft-model.js';
export { getPeftModelStateDict, setPeftModelStateDict, type SetStateDictResult } from './state-dict.js';
export {
  savePretrained, loadAdapter, readAdapterConfig, CONFIG_NAME, WEIGHTS_NAME,
  type SavePretrainedOptions, type LoadAdapterOptions, type FromPretrainedOptions,
} from './save-load.js';
export { addWeightedAdapter, type CombinationType, type WeightedAdapterOptions } from './weighted-adapter.js';
export { LoraLayer, type LoraLayerOptions, type MergeOptions, type InitLoraWeights } from './layers/lora-layer.js';
export { LoraLinear } from './layers/lora-linear.js';
export { LoraEmbedding } from './layers/lora-embedding.js';
export { LoraConv2d } from './layers/lora-conv2d.js';
export { LoraParamWrapper } from './layers/lora-param-wrapper.js';
export { DoraMagnitude } from './dora.js';
export { ModulesToSaveWrapper } from './modules-to-save.js';
export { ModuleCopy } from './module-copy.js';
export { ParameterToSave } from './parameter-to-save.js';
export { TrainableTokensLayer, TrainableTokensWrapper } from './trainable-tokens.js';
export { BASE_ROW, withAdapterNames } from './mixed-batch.js';
export type { KeyFormat } from './key-formats.js';
