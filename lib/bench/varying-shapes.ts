// Inference over requests of varying batch and length, the load a server sees: how the CPU tensor cache compares with
// LibTorch's own allocator (run once per allocator, each in its own process, since the cache is chosen at load).
import { LlamaForCausalLM } from '../models/llama.js';
import { LoraConfig } from '../peft/config.js';
import { getPeftModel } from '../peft/peft-model.js';
import { noGrad } from '../tensor/autograd.js';
import { randint } from '../tensor/creation.js';
import { manualSeed } from '../tensor/runtime.js';
import { scope } from '../tensor/scope.js';
import type { BenchFields } from './result.js';

export const VARYING = { calls: 250, vocab: 4000, maxBatch: 4, minLength: 8, maxLength: 257 };

/** The (batch, length) of each call: a fixed pseudo-random sequence, the same in every process. */
export function varyingShapes(calls = VARYING.calls): [number, number][] {
  let state = 1;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lengths = VARYING.maxLength - VARYING.minLength + 1;
  return Array.from({ length: calls }, () => [1 + Math.floor(next() * VARYING.maxBatch), VARYING.minLength + Math.floor(next() * lengths)]);
}

/** Runs the calls on a small Llama with LoRA; seconds, CPU seconds, page faults and RSS of this process. */
export function varyingShapeInference(calls = VARYING.calls): BenchFields {
  manualSeed(0);
  const base = new LlamaForCausalLM({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: VARYING.vocab, hidden_size: 256, intermediate_size: 688,
    num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, hidden_act: 'silu', rms_norm_eps: 1e-6,
    rope_theta: 10000, max_position_embeddings: 2048, tie_word_embeddings: false,
  });
  const model = getPeftModel(base, new LoraConfig({ r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }));
  model.eval();
  const shapes = varyingShapes(calls);
  const before = process.resourceUsage();
  const started = performance.now();
  noGrad(() => {
    for (const shape of shapes) scope(() => void model.forward({ input_ids: randint(0, VARYING.vocab, shape) }));
  });
  const seconds = (performance.now() - started) / 1000;
  const after = process.resourceUsage();
  model.dispose();
  return {
    seconds,
    cpu_s: (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1e6,
    minor_faults: after.minorPageFault - before.minorPageFault,
    peak_rss_mb: after.maxRSS / 1024,
  };
}
