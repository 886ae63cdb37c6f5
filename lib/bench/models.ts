// The benchmark models of WORKLOADS.md: the Llama-style decoder of W1-W4 and the ViT of W5, with LoRA as there.
import { LlamaForCausalLM } from '../models/llama.js';
import { ViTForImageClassification } from '../models/vit.js';
import type { Module } from '../nn/module.js';
import { normal_ } from '../nn/init.js';
import { noGrad } from '../tensor/autograd.js';
import { LoraConfig } from '../peft/config.js';
import type { LoraLinear } from '../peft/layers/lora-linear.js';
import { getPeftModel, type PeftModel } from '../peft/peft-model.js';
import type { DecoderShape } from './flops.js';

export const LLAMA: DecoderShape & { heads: number } = { vocab: 8000, hidden: 512, intermediate: 1376, layers: 4, heads: 8, seq: 128 };
export const LORA = { r: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };
export const VIT = { hidden: 192, layers: 6, heads: 3, intermediate: 768, patch: 16, labels: 10, trainedAt: 224, tunedAt: 384 };

export function buildLlama(): LlamaForCausalLM {
  return new LlamaForCausalLM({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: LLAMA.vocab,
    hidden_size: LLAMA.hidden,
    intermediate_size: LLAMA.intermediate,
    num_hidden_layers: LLAMA.layers,
    num_attention_heads: LLAMA.heads,
    num_key_value_heads: LLAMA.heads,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  });
}

export function llamaLoraConfig(): LoraConfig {
  return new LoraConfig({ r: LORA.r, lora_alpha: LORA.alpha, lora_dropout: LORA.dropout, target_modules: LORA.targets });
}

/** Benchmarks need adapters that change the output: B drawn N(0, std) (and A too when aStd is given). */
export function randomizeAdapter(peft: PeftModel, adapterName: string, bStd = 0.02, aStd: number | null = null): void {
  noGrad(() => {
    for (const [, layer] of peft.loraLayers()) {
      for (const [name, p] of (layer as LoraLinear).adapterParameters(adapterName)) {
        if (name.startsWith('lora_B.')) normal_(p, 0, bStd);
        else if (name.startsWith('lora_A.') && aStd !== null) normal_(p, 0, aStd);
      }
    }
  });
}

/** The W1-W4 decoder with the LoRA of WORKLOADS.md (base frozen, B non-zero). */
export function llamaWithLora(base: Module = buildLlama(), adapterName = 'default'): PeftModel {
  const peft = getPeftModel(base, llamaLoraConfig(), adapterName);
  randomizeAdapter(peft, adapterName);
  return peft;
}

/** W5: a ViT made at 224x224, resized to 384x384, LoRA on q/v, the classifier and position embeddings trained too. */
export function vitSeedModel(): PeftModel {
  const vit = new ViTForImageClassification({
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    hidden_size: VIT.hidden,
    num_hidden_layers: VIT.layers,
    num_attention_heads: VIT.heads,
    intermediate_size: VIT.intermediate,
    patch_size: VIT.patch,
    image_size: VIT.trainedAt,
    num_labels: VIT.labels,
    layer_norm_eps: 1e-12,
  });
  vit.resizeImageSize(VIT.tunedAt);
  const config = new LoraConfig({
    r: LORA.r, lora_alpha: LORA.alpha, lora_dropout: LORA.dropout, target_modules: ['q_proj', 'v_proj'],
    modules_to_save: ['classifier', 'vit.embeddings.position_embeddings'],
  });
  const peft = getPeftModel(vit, config);
  randomizeAdapter(peft, 'default');
  return peft;
}
