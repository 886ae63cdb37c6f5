// Every name DESIGN.md's "Public names" promises is reachable from the package entry, with the right kind:
// a function, a class, or a method on a class's prototype (static where the design says so).
import { describe, expect, it } from 'vitest';
import * as entry from '../lib/index.js';

type Kind = 'function' | 'class';

function kindOf(value: unknown): Kind | 'missing' | 'other' {
  if (value === undefined) return 'missing';
  if (typeof value !== 'function') return 'other';
  return /^class[\s{]/.test(Function.prototype.toString.call(value)) ? 'class' : 'function';
}

function at(path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], entry);
}

const EXPECTED: [string, Kind][] = [
  ...['tensor', 'zeros', 'ones', 'randn', 'arange', 'manualSeed', 'noGrad', 'scope'].map((n): [string, Kind] => [`torch.${n}`, 'function']),
  ['torch.Tensor', 'class'],
  ['Tensor', 'class'],
  ...['Module', 'Parameter', 'Linear', 'Embedding', 'Conv2d', 'LayerNorm', 'RMSNorm', 'Dropout', 'ModuleList'].map((n): [string, Kind] => [`nn.${n}`, 'class']),
  ['nn.init.truncNormal_', 'function'],
  ['optim.AdamW', 'class'],
  ['optim.SGD', 'class'],
  ['optim.clipGradNorm', 'function'],
  ['optim.LambdaLR', 'class'],
  ...['getConstantSchedule', 'getConstantScheduleWithWarmup', 'getLinearScheduleWithWarmup', 'getCosineScheduleWithWarmup']
    .map((n): [string, Kind] => [`optim.${n}`, 'function']),
  ['safetensors.load', 'function'],
  ['safetensors.save', 'function'],
  ['models.fromPretrained', 'function'],
  ...['ViTForImageClassification', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'GPT2LMHeadModel', 'BertForSequenceClassification',
    'MistralForCausalLM', 'Qwen3ForCausalLM', 'Gemma2ForCausalLM', 'Gemma3ForCausalLM', 'Phi3ForCausalLM',
    'LlamaForSequenceClassification', 'Qwen2ForSequenceClassification', 'MistralForSequenceClassification', 'Qwen3ForSequenceClassification',
    'Gemma2ForSequenceClassification', 'Gemma3TextForSequenceClassification', 'Phi3ForSequenceClassification']
    .map((n): [string, Kind] => [`models.${n}`, 'class']),
  ['train.train', 'function'],
  ['train.DataLoader', 'class'],
  ['LoraConfig', 'class'],
  ['PeftModel', 'class'],
  ...['getPeftModel', 'getPeftModelStateDict', 'setPeftModelStateDict', 'checkTargetModuleExists'].map((n): [string, Kind] => [n, 'function']),
  ...['TorchError', 'PeftError', 'NoMatchingTargetError', 'StateDictError', 'SafetensorsError', 'ImageError'].map((n): [string, Kind] => [n, 'class']),
  ...['TokenizerError', 'ChatTemplateError', 'HubError', 'DatasetError', 'PreTrainedTokenizer'].map((n): [string, Kind] => [n, 'class']),
  ['AutoTokenizer.fromPretrained', 'function'],
  ['AutoImageProcessor.fromPretrained', 'function'],
  ['ImageProcessor', 'class'],
  ['vision.decodeImage', 'function'],
  ['train.ImageDataLoader', 'class'],
  ['train.loadImageDataset', 'function'],
];

const METHODS: [string, string[]][] = [
  ['Tensor', ['toArray', 'item', 'itemBool', 'dispose', 'truncNormal_']],
  ['nn.Module', ['namedModules', 'namedParameters', 'stateDict', 'loadStateDict', 'train', 'eval', 'to']],
  ['PreTrainedTokenizer', ['encode', 'decode', 'batchEncode', 'applyChatTemplate', 'convertIdsToTokens']],
  ['ImageProcessor', ['preprocess', 'savePretrained', 'setImageSize']],
  ['PeftModel', [
    'savePretrained', 'loadAdapter', 'addAdapter', 'setAdapter', 'deleteAdapter', 'disableAdapter', 'mergeAdapter', 'unmergeAdapter',
    'mergeAndUnload', 'unload', 'addWeightedAdapter', 'printTrainableParameters', 'getNbTrainableParameters',
  ]],
];

describe('the package entry', () => {
  it.each(EXPECTED)('exports %s as a %s', (path, kind) => {
    expect(kindOf(at(path))).toBe(kind);
  });

  it.each(METHODS)('%s has the methods the design names', (path, methods) => {
    const prototype = (at(path) as { prototype: Record<string, unknown> }).prototype;
    for (const method of methods) expect(typeof prototype[method], `${path}.${method}`).toBe('function');
  });

  it('PeftModel.fromPretrained is static; Tensor has shape, dtype and device getters and Symbol.dispose', () => {
    expect(typeof entry.PeftModel.fromPretrained).toBe('function');
    for (const getter of ['shape', 'dtype', 'device']) {
      expect(typeof Object.getOwnPropertyDescriptor(entry.Tensor.prototype, getter)?.get, getter).toBe('function');
    }
    expect(typeof entry.Tensor.prototype[Symbol.dispose]).toBe('function');
  });

  it('torch.F holds the functional ops and the namespaces are distinct objects', () => {
    expect(typeof entry.torch.F.linear).toBe('function');
    expect(new Set([entry.torch, entry.nn, entry.optim, entry.safetensors, entry.models, entry.train]).size).toBe(6);
  });
});
