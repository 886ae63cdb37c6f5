// config.json of the decoder families beyond Llama/Qwen2: Mistral, Qwen3, Gemma 2, Gemma 3 (text) and Phi-3, with
// transformers 5.17's field names and defaults (each family keeps its own names, e.g. Gemma's hidden_activation),
// so a config read and written back is the file transformers wrote.
import { TorchError } from '../errors.js';
import {
  base, bool, checkDivisor, type ConfigJson, type DecoderFields, fail, num, posInt, type PretrainedConfig, type RopeParameters, ropeParameters,
  specialTokens, str,
} from './config.js';

export type LayerType = 'full_attention' | 'sliding_attention';
export const LAYER_TYPES: readonly LayerType[] = ['full_attention', 'sliding_attention'];

/** The fields every decoder family beyond Llama/Qwen2 shares. */
export interface DecoderCommonConfig extends PretrainedConfig, DecoderFields {
  attention_dropout: number;
}

export interface MistralConfig extends DecoderCommonConfig {
  hidden_act: string;
  rope_parameters: RopeParameters;
  /** Every layer attends to the last sliding_window tokens only (null: full attention). */
  sliding_window: number | null;
}

export interface Qwen3Config extends DecoderCommonConfig {
  hidden_act: string;
  rope_parameters: RopeParameters;
  attention_bias: boolean;
  use_sliding_window: boolean;
  /** null unless use_sliding_window (transformers clears it). */
  sliding_window: number | null;
  max_window_layers: number;
  layer_types: LayerType[];
}

/** What Gemma 2 and Gemma 3 text share. */
export interface GemmaCommonConfig extends DecoderCommonConfig {
  hidden_activation: string;
  attention_bias: boolean;
  query_pre_attn_scalar: number;
  sliding_window: number | null;
  layer_types: LayerType[];
  final_logit_softcapping: number | null;
  attn_logit_softcapping: number | null;
}

export interface Gemma2Config extends GemmaCommonConfig {
  rope_parameters: RopeParameters;
}

/** Gemma 3 text: rope settings per layer type (local layers use their own theta). */
export interface Gemma3TextConfig extends GemmaCommonConfig {
  rope_parameters: Record<LayerType, RopeParameters>;
}

export interface Phi3Config extends DecoderCommonConfig {
  hidden_act: string;
  /** with partial_rotary_factor: the share of each head's dimensions that rotary embeddings turn. */
  rope_parameters: RopeParameters & { partial_rotary_factor: number };
  sliding_window: number | null;
  resid_pdrop: number;
  embd_pdrop: number;
  original_max_position_embeddings: number;
}

interface CommonDefaults {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number | null;
  headDim: number | null;
  maxPositions: number;
  eps: number;
  tokens: [number | null, number | null, number | null];
  tie: boolean;
}

function common(json: ConfigJson, m: string, architecture: string, d: CommonDefaults): DecoderCommonConfig {
  const hidden = posInt(json, m, 'hidden_size', d.hidden);
  const heads = posInt(json, m, 'num_attention_heads', d.heads);
  const c: DecoderCommonConfig = {
    ...base(json, m, architecture, d.tie),
    vocab_size: posInt(json, m, 'vocab_size', d.vocab),
    hidden_size: hidden,
    intermediate_size: posInt(json, m, 'intermediate_size', d.intermediate),
    num_hidden_layers: posInt(json, m, 'num_hidden_layers', d.layers),
    num_attention_heads: heads,
    num_key_value_heads: posInt(json, m, 'num_key_value_heads', d.kvHeads ?? heads),
    head_dim: posInt(json, m, 'head_dim', d.headDim ?? Math.floor(hidden / heads)),
    max_position_embeddings: posInt(json, m, 'max_position_embeddings', d.maxPositions),
    rms_norm_eps: num(json, m, 'rms_norm_eps', d.eps),
    attention_dropout: num(json, m, 'attention_dropout', 0),
    ...specialTokens(json, ...d.tokens),
  };
  checkDivisor(m, 'num_key_value_heads', c.num_key_value_heads, 'num_attention_heads', heads);
  return c;
}

/** A number, or null when the file says null (a missing field takes the fallback). */
function optNum(json: ConfigJson, m: string, field: string, fallback: number | null): number | null {
  const v = json[field] === undefined ? fallback : json[field];
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(m, field, 'a positive number or null', v);
  return v;
}

/** layer_types from the file (checked), else the family's default pattern. */
function layerTypes(json: ConfigJson, m: string, layers: number, fallback: (i: number) => LayerType): LayerType[] {
  const v = json.layer_types;
  if (v === undefined || v === null) return Array.from({ length: layers }, (_, i) => fallback(i));
  if (!Array.isArray(v) || v.length !== layers || !v.every((t) => (LAYER_TYPES as unknown[]).includes(t))) {
    fail(m, 'layer_types', `${layers} entries, each 'full_attention' or 'sliding_attention'`, v);
  }
  return v as LayerType[];
}

function noBidirectional(json: ConfigJson, m: string): void {
  if (json.use_bidirectional_attention === true) {
    throw new TorchError(`${m} config: use_bidirectional_attention=true (an encoder setting) is not supported by the causal LM classes`);
  }
}

export function mistralConfig(json: ConfigJson): MistralConfig {
  const m = 'mistral';
  const c = common(json, m, 'MistralForCausalLM', {
    vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, headDim: null,
    maxPositions: 131072, eps: 1e-6, tokens: [1, 2, null], tie: false,
  });
  return {
    ...c, hidden_act: str(json, m, 'hidden_act', 'silu'), rope_parameters: ropeParameters(json, c.max_position_embeddings),
    sliding_window: optNum(json, m, 'sliding_window', 4096),
  };
}

export function qwen3Config(json: ConfigJson): Qwen3Config {
  const m = 'qwen3';
  const c = common(json, m, 'Qwen3ForCausalLM', {
    vocab: 151936, hidden: 4096, intermediate: 22016, layers: 32, heads: 32, kvHeads: 32, headDim: 128,
    maxPositions: 32768, eps: 1e-6, tokens: [null, null, null], tie: false,
  });
  const useSliding = bool(json, m, 'use_sliding_window', false);
  const window = useSliding ? optNum(json, m, 'sliding_window', 4096) : null;
  const maxWindowLayers = posInt(json, m, 'max_window_layers', 28);
  return {
    ...c, hidden_act: str(json, m, 'hidden_act', 'silu'), rope_parameters: ropeParameters(json, c.max_position_embeddings),
    attention_bias: bool(json, m, 'attention_bias', false), use_sliding_window: useSliding, sliding_window: window,
    max_window_layers: maxWindowLayers,
    layer_types: layerTypes(json, m, c.num_hidden_layers, (i) => (window !== null && i >= maxWindowLayers ? 'sliding_attention' : 'full_attention')),
  };
}

function gemmaFields(json: ConfigJson, m: string, architecture: string, g: { maxPositions: number; vocab: number; softcaps: [number | null, number | null]; pattern: number }): GemmaCommonConfig {
  noBidirectional(json, m);
  const c = common(json, m, architecture, {
    vocab: g.vocab, hidden: 2304, intermediate: 9216, layers: 26, heads: 8, kvHeads: 4, headDim: 256,
    maxPositions: g.maxPositions, eps: 1e-6, tokens: [2, 1, 0], tie: true,
  });
  const pattern = posInt(json, m, 'sliding_window_pattern', g.pattern);
  return {
    ...c,
    hidden_activation: str(json, m, 'hidden_activation', 'gelu_pytorch_tanh'),
    attention_bias: bool(json, m, 'attention_bias', false),
    query_pre_attn_scalar: num(json, m, 'query_pre_attn_scalar', 256),
    sliding_window: optNum(json, m, 'sliding_window', 4096),
    layer_types: layerTypes(json, m, c.num_hidden_layers, (i) => ((i + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention')),
    final_logit_softcapping: optNum(json, m, 'final_logit_softcapping', g.softcaps[0]),
    attn_logit_softcapping: optNum(json, m, 'attn_logit_softcapping', g.softcaps[1]),
  };
}

export function gemma2Config(json: ConfigJson): Gemma2Config {
  const c = gemmaFields(json, 'gemma2', 'Gemma2ForCausalLM', { maxPositions: 8192, vocab: 256000, softcaps: [30, 50], pattern: 2 });
  return { ...c, rope_parameters: ropeParameters(json, c.max_position_embeddings) };
}

/** Gemma 3 text; transformers 4 files give rope_theta (global), rope_local_base_freq and rope_scaling (global). */
export function gemma3TextConfig(json: ConfigJson): Gemma3TextConfig {
  const m = 'gemma3_text';
  const c = gemmaFields(json, m, 'Gemma3ForCausalLM', { maxPositions: 131072, vocab: 262208, softcaps: [null, null], pattern: 6 });
  const given = json.rope_parameters as ConfigJson | undefined;
  const perType = given && typeof given === 'object' && LAYER_TYPES.some((t) => t in given);
  const ropeOf = (type: LayerType, legacy: ConfigJson): RopeParameters => {
    const entry = perType ? ((given as ConfigJson)[type] as ConfigJson | undefined) ?? {} : null;
    if (entry !== null && (typeof entry !== 'object' || Array.isArray(entry))) fail(m, `rope_parameters.${type}`, 'an object', entry);
    return ropeParameters(entry !== null ? { rope_parameters: entry, rope_theta: legacy.rope_theta } : legacy, c.max_position_embeddings);
  };
  const rope = {
    full_attention: ropeOf('full_attention', { rope_scaling: json.rope_scaling ?? undefined, rope_theta: json.rope_theta ?? 1e6 }),
    sliding_attention: ropeOf('sliding_attention', { rope_theta: json.rope_local_base_freq ?? 1e4 }),
  };
  return { ...c, rope_parameters: rope };
}

export function phi3Config(json: ConfigJson): Phi3Config {
  const m = 'phi3';
  const c = common(json, m, 'Phi3ForCausalLM', {
    vocab: 32064, hidden: 3072, intermediate: 8192, layers: 32, heads: 32, kvHeads: null, headDim: null,
    maxPositions: 4096, eps: 1e-5, tokens: [1, 32000, 32000], tie: false,
  });
  const rope = ropeParameters(json, c.max_position_embeddings);
  const factor = rope.partial_rotary_factor ?? json.partial_rotary_factor ?? 1;
  if (typeof factor !== 'number' || !(factor > 0 && factor <= 1)) fail(m, 'partial_rotary_factor', 'a number in (0, 1]', factor);
  const rotaryDims = Math.floor(c.head_dim * factor);
  if (rotaryDims % 2 !== 0) fail(m, 'partial_rotary_factor', `a share of head_dim (${c.head_dim}) giving an even number of dimensions`, factor);
  return {
    ...c, hidden_act: str(json, m, 'hidden_act', 'silu'), rope_parameters: { ...rope, partial_rotary_factor: factor },
    sliding_window: optNum(json, m, 'sliding_window', null), resid_pdrop: num(json, m, 'resid_pdrop', 0),
    embd_pdrop: num(json, m, 'embd_pdrop', 0),
    original_max_position_embeddings: posInt(json, m, 'original_max_position_embeddings', 4096),
  };
}
