// config.json as Hugging Face writes it: field names verbatim, transformers' defaults filled in, unknown
// fields kept (so a config read and written back loses nothing). Both eras are read: `dtype` (5.x) or
// `torch_dtype` (4.x); `rope_parameters` (5.x) or top-level `rope_theta` + `rope_scaling` (4.x).
import { TorchError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';

export type ConfigJson = { [key: string]: unknown };

/** Fields every model config has (plus whatever else the file holds). */
export interface PretrainedConfig extends ConfigJson {
  model_type: string;
  architectures: string[];
  /** The checkpoint's dtype (from `dtype`, or `torch_dtype` in older files); null when the file names none. */
  dtype: DType | null;
  tie_word_embeddings: boolean;
}

/** RoPE settings in transformers 5's normalised form. */
export interface RopeParameters extends ConfigJson {
  rope_type: 'default' | 'linear' | 'dynamic' | 'llama3';
  rope_theta: number;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

/** The sizes and token ids of every Llama-style decoder config (Llama, Qwen2/3, Mistral, Gemma 2/3, Phi-3). */
export interface DecoderFields {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id: number | null;
}

export interface LlamaConfig extends PretrainedConfig, DecoderFields {
  hidden_act: string;
  /** Llama: a bias on q/k/v/o. (Qwen2 always has q/k/v biases and no o_proj bias; see decoder-spec.ts.) */
  attention_bias: boolean;
  mlp_bias: boolean;
  rope_parameters: RopeParameters;
}

export interface GPT2Config extends PretrainedConfig {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner: number | null;
  activation_function: string;
  layer_norm_epsilon: number;
  scale_attn_weights: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
  reorder_and_upcast_attn: boolean;
  attn_pdrop: number;
  resid_pdrop: number;
  embd_pdrop: number;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id: number | null;
}

/** The fields BERT and ViT encoders share. */
export interface EncoderFields {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  layer_norm_eps: number;
}

export interface BertConfig extends PretrainedConfig, EncoderFields {
  vocab_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  pad_token_id: number | null;
  classifier_dropout: number | null;
  num_labels: number;
}

export interface ViTConfig extends PretrainedConfig, EncoderFields {
  image_size: number;
  patch_size: number;
  num_channels: number;
  qkv_bias: boolean;
  num_labels: number;
}

// ---- reading fields -------------------------------------------------------------------------------

export function fail(model: string, field: string, expected: string, got: unknown): never {
  throw new TorchError(`${model} config: '${field}' must be ${expected}, got ${JSON.stringify(got)}`);
}

export function num(json: ConfigJson, model: string, field: string, fallback: number): number {
  const v = json[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(model, field, 'a number', v);
  return v;
}

export function posInt(json: ConfigJson, model: string, field: string, fallback: number): number {
  const v = num(json, model, field, fallback);
  if (!Number.isInteger(v) || v < 1) fail(model, field, 'a positive integer', v);
  return v;
}

export function bool(json: ConfigJson, model: string, field: string, fallback: boolean): boolean {
  const v = json[field] ?? fallback;
  if (typeof v !== 'boolean') fail(model, field, 'true or false', v);
  return v;
}

export function str(json: ConfigJson, model: string, field: string, fallback: string): string {
  const v = json[field] ?? fallback;
  if (typeof v !== 'string') fail(model, field, 'a string', v);
  return v;
}

export function optInt(json: ConfigJson, field: string, fallback: number | null): number | null {
  const v = json[field];
  return v === undefined ? fallback : typeof v === 'number' ? v : null;
}

export function tokenIds(json: ConfigJson, field: string, fallback: number | null): number | number[] | null {
  const v = json[field];
  if (v === undefined) return fallback;
  if (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) return v as number | number[];
  return null;
}

/** bos/eos/pad token ids with the model's defaults. */
export function specialTokens(json: ConfigJson, bos: number | null, eos: number | null, pad: number | null): Pick<LlamaConfig, 'bos_token_id' | 'eos_token_id' | 'pad_token_id'> {
  return { bos_token_id: optInt(json, 'bos_token_id', bos), eos_token_id: tokenIds(json, 'eos_token_id', eos), pad_token_id: optInt(json, 'pad_token_id', pad) };
}

export function checkDivisor(model: string, field: string, value: number, of: string, total: number): void {
  if (total % value !== 0) fail(model, field, `a divisor of ${of} (${total})`, value);
}

/** The encoder fields with the defaults BERT and ViT share; only the dropout default differs. */
function encoderFields(json: ConfigJson, m: string, dropout: number): EncoderFields {
  const fields: EncoderFields = {
    hidden_size: posInt(json, m, 'hidden_size', 768),
    num_hidden_layers: posInt(json, m, 'num_hidden_layers', 12),
    num_attention_heads: posInt(json, m, 'num_attention_heads', 12),
    intermediate_size: posInt(json, m, 'intermediate_size', 3072),
    hidden_act: str(json, m, 'hidden_act', 'gelu'),
    hidden_dropout_prob: num(json, m, 'hidden_dropout_prob', dropout),
    attention_probs_dropout_prob: num(json, m, 'attention_probs_dropout_prob', dropout),
    layer_norm_eps: num(json, m, 'layer_norm_eps', 1e-12),
  };
  checkDivisor(m, 'num_attention_heads', fields.num_attention_heads, 'hidden_size', fields.hidden_size);
  return fields;
}

const DTYPE_NAMES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float16: 'float16', half: 'float16', bfloat16: 'bfloat16', float64: 'float64',
};

/** The dtype a config.json names (`dtype`, else `torch_dtype`), or null. */
export function configDtype(json: ConfigJson): DType | null {
  const raw = json.dtype ?? json.torch_dtype;
  if (raw === undefined || raw === null || raw === 'auto') return null;
  const name = typeof raw === 'string' ? raw.replace(/^torch\./, '') : raw;
  const dtype = typeof name === 'string' ? DTYPE_NAMES[name] : undefined;
  if (!dtype) throw new TorchError(`config: 'dtype' must be one of ${Object.keys(DTYPE_NAMES).join(', ')}, got ${JSON.stringify(raw)}`);
  return dtype;
}

/** num_labels as transformers derives it: the size of id2label when present, else num_labels, else 2. */
export function numLabels(json: ConfigJson): number {
  const id2label = json.id2label;
  if (id2label && typeof id2label === 'object') return Object.keys(id2label).length;
  return posInt(json, 'classifier', 'num_labels', 2);
}

export function base(json: ConfigJson, modelType: string, architecture: string, tieDefault: boolean): PretrainedConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(modelType, '(root)', 'a JSON object', json);
  const architectures = json.architectures ?? [architecture];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) {
    fail(modelType, 'architectures', 'an array of class names', architectures);
  }
  return {
    ...json,
    model_type: str(json, modelType, 'model_type', modelType),
    architectures: architectures as string[],
    dtype: configDtype(json),
    tie_word_embeddings: bool(json, modelType, 'tie_word_embeddings', tieDefault),
  };
}

// ---- RoPE ---------------------------------------------------------------------------------------

const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3'] as const;

/** rope_parameters from either era's fields, with rope_theta and (llama3) original_max_position_embeddings filled. */
export function ropeParameters(json: ConfigJson, maxPositions: number): RopeParameters {
  const scaling = (json.rope_scaling ?? json.rope_parameters ?? {}) as ConfigJson;
  if (typeof scaling !== 'object' || Array.isArray(scaling)) fail('llama', 'rope_parameters', 'an object', scaling);
  const ropeType = (scaling.rope_type ?? scaling.type ?? 'default') as string;
  if (!(ROPE_TYPES as readonly string[]).includes(ropeType)) {
    throw new TorchError(`rope_parameters.rope_type: expected one of ${ROPE_TYPES.join(', ')}, got ${JSON.stringify(ropeType)}`);
  }
  const theta = scaling.rope_theta ?? json.rope_theta ?? 10000;
  if (typeof theta !== 'number') fail('llama', 'rope_theta', 'a number', theta);
  const out: RopeParameters = { ...scaling, rope_type: ropeType as RopeParameters['rope_type'], rope_theta: theta };
  delete out.type;
  if (ropeType !== 'default' && typeof out.factor !== 'number') fail('llama', 'rope_parameters.factor', 'a number', out.factor);
  if (ropeType === 'llama3') {
    out.original_max_position_embeddings ??= (json.original_max_position_embeddings as number | undefined) ?? maxPositions;
    for (const f of ['low_freq_factor', 'high_freq_factor'] as const) {
      if (typeof out[f] !== 'number') fail('llama', `rope_parameters.${f}`, 'a number', out[f]);
    }
  }
  return out;
}

// ---- per model -------------------------------------------------------------------------------------

export function llamaConfig(json: ConfigJson, variant: 'llama' | 'qwen2' = 'llama'): LlamaConfig {
  const qwen = variant === 'qwen2';
  const m = variant;
  const b = base(json, m, qwen ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM', false);
  if (qwen && json.use_sliding_window === true) {
    throw new TorchError('qwen2 config: use_sliding_window=true is not supported (sliding-window attention)');
  }
  const hidden = posInt(json, m, 'hidden_size', 4096);
  const heads = posInt(json, m, 'num_attention_heads', 32);
  const maxPositions = posInt(json, m, 'max_position_embeddings', qwen ? 32768 : 2048);
  const c: LlamaConfig = {
    ...b,
    vocab_size: posInt(json, m, 'vocab_size', qwen ? 151936 : 32000),
    hidden_size: hidden,
    intermediate_size: posInt(json, m, 'intermediate_size', qwen ? 22016 : 11008),
    num_hidden_layers: posInt(json, m, 'num_hidden_layers', 32),
    num_attention_heads: heads,
    num_key_value_heads: posInt(json, m, 'num_key_value_heads', qwen ? 32 : heads),
    head_dim: posInt(json, m, 'head_dim', Math.floor(hidden / heads)),
    hidden_act: str(json, m, 'hidden_act', 'silu'),
    max_position_embeddings: maxPositions,
    rms_norm_eps: num(json, m, 'rms_norm_eps', 1e-6),
    attention_bias: qwen ? false : bool(json, m, 'attention_bias', false),
    mlp_bias: qwen ? false : bool(json, m, 'mlp_bias', false),
    rope_parameters: ropeParameters(json, maxPositions),
    ...specialTokens(json, qwen ? null : 1, qwen ? null : 2, null),
  };
  checkDivisor(m, 'num_key_value_heads', c.num_key_value_heads, 'num_attention_heads', heads);
  return c;
}

export const qwen2Config = (json: ConfigJson): LlamaConfig => llamaConfig(json, 'qwen2');

export function gpt2Config(json: ConfigJson): GPT2Config {
  const m = 'gpt2';
  const c: GPT2Config = {
    ...base(json, m, 'GPT2LMHeadModel', true),
    vocab_size: posInt(json, m, 'vocab_size', 50257),
    n_positions: posInt(json, m, 'n_positions', 1024),
    n_embd: posInt(json, m, 'n_embd', 768),
    n_layer: posInt(json, m, 'n_layer', 12),
    n_head: posInt(json, m, 'n_head', 12),
    n_inner: optInt(json, 'n_inner', null),
    activation_function: str(json, m, 'activation_function', 'gelu_new'),
    layer_norm_epsilon: num(json, m, 'layer_norm_epsilon', 1e-5),
    scale_attn_weights: bool(json, m, 'scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: bool(json, m, 'scale_attn_by_inverse_layer_idx', false),
    reorder_and_upcast_attn: bool(json, m, 'reorder_and_upcast_attn', false),
    attn_pdrop: num(json, m, 'attn_pdrop', 0.1),
    resid_pdrop: num(json, m, 'resid_pdrop', 0.1),
    embd_pdrop: num(json, m, 'embd_pdrop', 0.1),
    ...specialTokens(json, 50256, 50256, null),
  };
  checkDivisor(m, 'n_head', c.n_head, 'n_embd', c.n_embd);
  return c;
}

export function bertConfig(json: ConfigJson): BertConfig {
  const m = 'bert';
  const c: BertConfig = {
    ...base(json, m, 'BertForSequenceClassification', true),
    vocab_size: posInt(json, m, 'vocab_size', 30522),
    ...encoderFields(json, m, 0.1),
    max_position_embeddings: posInt(json, m, 'max_position_embeddings', 512),
    type_vocab_size: posInt(json, m, 'type_vocab_size', 2),
    pad_token_id: optInt(json, 'pad_token_id', 0),
    classifier_dropout: optInt(json, 'classifier_dropout', null),
    num_labels: numLabels(json),
  };
  const pe = json.position_embedding_type;
  if (pe !== undefined && pe !== 'absolute') fail(m, 'position_embedding_type', "'absolute'", pe);
  return c;
}

export function vitConfig(json: ConfigJson): ViTConfig {
  const m = 'vit';
  return {
    ...base(json, m, 'ViTForImageClassification', true),
    ...encoderFields(json, m, 0),
    image_size: posInt(json, m, 'image_size', 224),
    patch_size: posInt(json, m, 'patch_size', 16),
    num_channels: posInt(json, m, 'num_channels', 3),
    qkv_bias: bool(json, m, 'qkv_bias', true),
    num_labels: numLabels(json),
  };
}

/**
 * The JSON to write for a config: every field it holds (unknown ones included) with the dtype under
 * both `dtype` (transformers 5) and `torch_dtype` (what transformers 4 reads).
 */
export function configToJson(config: PretrainedConfig, dtype: DType): ConfigJson {
  const out: ConfigJson = { ...config, dtype, torch_dtype: dtype };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
