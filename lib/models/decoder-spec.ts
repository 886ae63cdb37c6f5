// What the Llama-style decoder needs to know to be any of the families it builds (Llama, Qwen2, Mistral, Qwen3,
// Gemma 2, Gemma 3 text, Phi-3), read from each family's own config fields.
import type { ConfigJson, LlamaConfig, RopeParameters } from './config.js';
import type { Gemma2Config, Gemma3TextConfig, LayerType, MistralConfig, Phi3Config, Qwen3Config } from './decoder-configs.js';

export type DecoderConfig = LlamaConfig | MistralConfig | Qwen3Config | Gemma2Config | Gemma3TextConfig | Phi3Config;

export interface DecoderSpec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  activation: string;
  maxPositions: number;
  eps: number;
  padTokenId: number | null;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  attentionDropout: number;
  /** Dropout on each residual branch in training (Phi-3's resid_pdrop). */
  residualDropout: number;
  /** One entry per layer. */
  layerTypes: LayerType[];
  /** Keys a query sees in a sliding layer (itself included). */
  slidingWindow: number | null;
  /** Rotary settings per layer type (the same for both unless the family differs, as Gemma 3). */
  rope: Record<LayerType, RopeParameters>;
  /** Leading dimensions of each head that rotary embeddings turn (Phi-3's partial_rotary_factor). */
  rotaryDims: number;
  /** RMSNorm over each head of q and k before rotary (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** 'gemma': x·(1 + w) computed in float32; 'llama': w · x cast back first. */
  norm: 'llama' | 'gemma';
  /** Norms after attention and around the MLP as well (Gemma 2/3). */
  sandwichNorms: boolean;
  /** Embeddings multiplied by sqrt(hidden_size) (Gemma). */
  scaleEmbeddings: boolean;
  /** The factor on q·kᵀ. */
  attentionScale: number;
  /** cap·tanh(scores/cap) on attention scores (Gemma 2). */
  attentionSoftcap: number | null;
  /** cap·tanh(logits/cap) on the LM logits (Gemma 2/3). */
  finalSoftcap: number | null;
  /** q/k/v in one qkv_proj and gate/up in one gate_up_proj (Phi-3). */
  fusedProjections: boolean;
}

const sameForAll = (rope: RopeParameters): Record<LayerType, RopeParameters> => ({ full_attention: rope, sliding_attention: rope });

type Common = Pick<DecoderSpec, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'heads' | 'kvHeads' | 'headDim' | 'maxPositions' | 'eps' | 'padTokenId' | 'attentionScale' | 'rotaryDims'>;

function common(c: DecoderConfig): Common {
  return {
    vocabSize: c.vocab_size, hiddenSize: c.hidden_size, intermediateSize: c.intermediate_size, heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads, headDim: c.head_dim, maxPositions: c.max_position_embeddings, eps: c.rms_norm_eps,
    padTokenId: c.pad_token_id, attentionScale: c.head_dim ** -0.5, rotaryDims: c.head_dim,
  };
}

const LLAMA_STYLE = {
  mlpBias: false, attentionDropout: 0, residualDropout: 0, slidingWindow: null, qkNorm: false, norm: 'llama', sandwichNorms: false,
  scaleEmbeddings: false, attentionSoftcap: null, finalSoftcap: null, fusedProjections: false,
} as const;

const dropoutOf = (c: ConfigJson): number => (typeof c.attention_dropout === 'number' ? c.attention_dropout : 0);

export function llamaSpec(c: LlamaConfig): DecoderSpec {
  return {
    ...LLAMA_STYLE, ...common(c), activation: c.hidden_act, qkvBias: c.model_type === 'qwen2' || c.attention_bias,
    oBias: c.attention_bias, mlpBias: c.mlp_bias, attentionDropout: dropoutOf(c),
    layerTypes: new Array<LayerType>(c.num_hidden_layers).fill('full_attention'), rope: sameForAll(c.rope_parameters),
  };
}

export function mistralSpec(c: MistralConfig): DecoderSpec {
  const type: LayerType = c.sliding_window === null ? 'full_attention' : 'sliding_attention';
  return {
    ...LLAMA_STYLE, ...common(c), activation: c.hidden_act, qkvBias: false, oBias: false, attentionDropout: c.attention_dropout,
    slidingWindow: c.sliding_window, layerTypes: new Array<LayerType>(c.num_hidden_layers).fill(type), rope: sameForAll(c.rope_parameters),
  };
}

export function qwen3Spec(c: Qwen3Config): DecoderSpec {
  return {
    ...LLAMA_STYLE, ...common(c), activation: c.hidden_act, qkvBias: c.attention_bias, oBias: c.attention_bias,
    attentionDropout: c.attention_dropout, slidingWindow: c.sliding_window, layerTypes: c.layer_types, rope: sameForAll(c.rope_parameters),
    qkNorm: true,
  };
}

function gemmaSpec(c: Gemma2Config | Gemma3TextConfig, rope: Record<LayerType, RopeParameters>, gemma3: boolean): DecoderSpec {
  return {
    ...LLAMA_STYLE, ...common(c), activation: c.hidden_activation, qkvBias: c.attention_bias, oBias: c.attention_bias,
    attentionDropout: c.attention_dropout, slidingWindow: c.sliding_window, layerTypes: c.layer_types, rope,
    norm: 'gemma', sandwichNorms: true, scaleEmbeddings: true, attentionScale: c.query_pre_attn_scalar ** -0.5,
    // transformers 5.17's Gemma 3 attention never applies attn_logit_softcapping
    attentionSoftcap: gemma3 ? null : c.attn_logit_softcapping, finalSoftcap: c.final_logit_softcapping, qkNorm: gemma3,
  };
}

export const gemma2Spec = (c: Gemma2Config): DecoderSpec => gemmaSpec(c, sameForAll(c.rope_parameters), false);
export const gemma3Spec = (c: Gemma3TextConfig): DecoderSpec => gemmaSpec(c, c.rope_parameters, true);

export function phi3Spec(c: Phi3Config): DecoderSpec {
  const type: LayerType = c.sliding_window === null ? 'full_attention' : 'sliding_attention';
  return {
    ...LLAMA_STYLE, ...common(c), activation: c.hidden_act, qkvBias: false, oBias: false, attentionDropout: c.attention_dropout,
    residualDropout: c.resid_pdrop, slidingWindow: c.sliding_window, layerTypes: new Array<LayerType>(c.num_hidden_layers).fill(type),
    rope: sameForAll(c.rope_parameters), rotaryDims: Math.floor(c.head_dim * c.rope_parameters.partial_rotary_factor),
    fusedProjections: true,
  };
}
