// The decoder families built on the Llama-style decoder (llama.ts) by their config and DecoderSpec: Mistral,
// Qwen3, Gemma 2, Gemma 3 (text) and Phi-3, under transformers' class names.
import { gemma2Config, gemma3TextConfig, mistralConfig, phi3Config, qwen3Config } from './decoder-configs.js';
import { gemma2Spec, gemma3Spec, mistralSpec, phi3Spec, qwen3Spec } from './decoder-spec.js';
import { type DecoderFamily, LlamaForCausalLM } from './llama.js';

/** Sliding-window attention in every layer (config.sliding_window). */
export class MistralForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'MistralForCausalLM', parseConfig: mistralConfig, decoderSpec: mistralSpec };
}

/** RMSNorm on each head of q and k; sliding layers from layer_types when use_sliding_window. */
export class Qwen3ForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'Qwen3ForCausalLM', parseConfig: qwen3Config, decoderSpec: qwen3Spec };
}

/** (1 + w) norms around attention and MLP, scaled embeddings, local/global layers, soft-capped scores and logits. */
export class Gemma2ForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'Gemma2ForCausalLM', parseConfig: gemma2Config, decoderSpec: gemma2Spec };
}

/** Gemma 2's layout plus q/k norms and a rotary theta per layer type (model_type gemma3_text). */
export class Gemma3ForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'Gemma3ForCausalLM', parseConfig: gemma3TextConfig, decoderSpec: gemma3Spec };
}

/** Fused qkv_proj and gate_up_proj, partial rotary embeddings, optional sliding window. */
export class Phi3ForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'Phi3ForCausalLM', parseConfig: phi3Config, decoderSpec: phi3Spec };
}
