// The decoder families built on the Llama-style decoder (llama.ts) by their config and DecoderSpec: Mistral,
// Qwen3, Gemma 2, Gemma 3 (text) and Phi-3, under transformers' class names.
import type { ConfigJson } from './config.js';
import {
  type Gemma2Config, gemma2Config, type Gemma3TextConfig, gemma3TextConfig, type MistralConfig, mistralConfig, type Phi3Config,
  phi3Config, type Qwen3Config, qwen3Config,
} from './decoder-configs.js';
import { type DecoderConfig, type DecoderSpec, gemma2Spec, gemma3Spec, mistralSpec, phi3Spec, qwen3Spec } from './decoder-spec.js';
import { LlamaForCausalLM } from './llama.js';

/** Sliding-window attention in every layer (config.sliding_window). */
export class MistralForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): DecoderConfig {
    return mistralConfig(json);
  }

  static override decoderSpec(config: DecoderConfig): DecoderSpec {
    return mistralSpec(config as MistralConfig);
  }

  override get architecture(): string {
    return 'MistralForCausalLM';
  }
}

/** RMSNorm on each head of q and k; sliding layers from layer_types when use_sliding_window. */
export class Qwen3ForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): DecoderConfig {
    return qwen3Config(json);
  }

  static override decoderSpec(config: DecoderConfig): DecoderSpec {
    return qwen3Spec(config as Qwen3Config);
  }

  override get architecture(): string {
    return 'Qwen3ForCausalLM';
  }
}

/** (1 + w) norms around attention and MLP, scaled embeddings, local/global layers, soft-capped scores and logits. */
export class Gemma2ForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): DecoderConfig {
    return gemma2Config(json);
  }

  static override decoderSpec(config: DecoderConfig): DecoderSpec {
    return gemma2Spec(config as Gemma2Config);
  }

  override get architecture(): string {
    return 'Gemma2ForCausalLM';
  }
}

/** Gemma 2's layout plus q/k norms and a rotary theta per layer type (model_type gemma3_text). */
export class Gemma3ForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): DecoderConfig {
    return gemma3TextConfig(json);
  }

  static override decoderSpec(config: DecoderConfig): DecoderSpec {
    return gemma3Spec(config as Gemma3TextConfig);
  }

  override get architecture(): string {
    return 'Gemma3ForCausalLM';
  }
}

/** Fused qkv_proj and gate_up_proj, partial rotary embeddings, optional sliding window. */
export class Phi3ForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): DecoderConfig {
    return phi3Config(json);
  }

  static override decoderSpec(config: DecoderConfig): DecoderSpec {
    return phi3Spec(config as Phi3Config);
  }

  override get architecture(): string {
    return 'Phi3ForCausalLM';
  }
}
