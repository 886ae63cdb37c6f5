// LlamaForCausalLM built from a config: the benchmark W1 size trains (forward + backward), configs are checked.
import { describe, expect, it } from 'vitest';
import { models, torch } from '../../lib/index.js';

/** Benchmark W1's model (bench/WORKLOADS.md): vocab 8000, hidden 512, intermediate 1376, 4 layers, 8 heads. */
export const W1_CONFIG = {
  vocab_size: 8000, hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 4, num_attention_heads: 8,
  num_key_value_heads: 8, rms_norm_eps: 1e-6, max_position_embeddings: 128, rope_theta: 10000, tie_word_embeddings: false,
};

describe('LlamaForCausalLM at the size of benchmark W1', () => {
  it('runs forward and backward: every parameter gets a finite gradient', () => {
    torch.manualSeed(0);
    const model = new models.LlamaForCausalLM(W1_CONFIG);
    model.train();
    expect(model.numParameters()).toBe(2 * 8000 * 512 + 4 * (4 * 512 * 512 + 3 * 512 * 1376 + 2 * 512) + 512);
    const ids = torch.randint(0, 8000, [1, 128]);
    torch.scope(() => {
      const { logits, loss } = model.forward({ input_ids: ids, labels: ids });
      expect(logits.shape).toEqual([1, 128, 8000]);
      // random init: the loss is near ln(vocab)
      expect(Math.abs((loss as torch.Tensor).item() - Math.log(8000))).toBeLessThan(0.5);
      (loss as torch.Tensor).backward();
    });
    for (const [name, p] of model.namedParameters()) {
      const grad = p.grad;
      expect(grad, name).not.toBeNull();
      expect(torch.scope(() => (grad as torch.Tensor).isfinite().all().itemBool()), name).toBe(true);
      expect(grad?.shape, name).toEqual(p.shape);
      grad?.dispose();
    }
    ids.dispose();
    model.dispose();
  });
});

describe('Llama configs', () => {
  const tiny = { vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4 };

  it('fills transformers defaults and keeps unknown fields', () => {
    const config = models.llamaConfig({ ...tiny, my_field: [1, 2] });
    expect(config).toMatchObject({
      num_key_value_heads: 4, head_dim: 4, rms_norm_eps: 1e-6, max_position_embeddings: 2048, tie_word_embeddings: false,
      rope_parameters: { rope_type: 'default', rope_theta: 10000 }, my_field: [1, 2], architectures: ['LlamaForCausalLM'],
    });
    expect(models.qwen2Config({ ...tiny, num_key_value_heads: 2 })).toMatchObject({ max_position_embeddings: 32768, model_type: 'qwen2', bos_token_id: null, architectures: ['Qwen2ForCausalLM'] });
  });

  it('reads rope_parameters (transformers 5) and rope_theta + rope_scaling (transformers 4) alike', () => {
    const v5 = models.llamaConfig({ ...tiny, rope_parameters: { rope_type: 'linear', rope_theta: 5e5, factor: 4 } });
    const v4 = models.llamaConfig({ ...tiny, rope_theta: 5e5, rope_scaling: { type: 'linear', factor: 4 } });
    expect(v4.rope_parameters).toEqual(v5.rope_parameters);
    expect(models.configDtype({ torch_dtype: 'bfloat16' })).toBe('bfloat16');
    expect(models.configDtype({ dtype: 'float16', torch_dtype: 'float32' })).toBe('float16');
  });

  it('names the field, what it expected and what it got', () => {
    expect(() => models.llamaConfig({ ...tiny, hidden_size: 'big' })).toThrow(/llama config: 'hidden_size' must be a number, got "big"/);
    expect(() => models.llamaConfig({ ...tiny, num_key_value_heads: 3 })).toThrow(/'num_key_value_heads' must be a divisor of num_attention_heads \(4\), got 3/);
    expect(() => models.llamaConfig({ ...tiny, rope_scaling: { type: 'yarn', factor: 2 } })).toThrow(/rope_type: expected one of default, linear, dynamic, llama3, got "yarn"/);
    expect(() => models.llamaConfig({ ...tiny, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(/'rope_parameters.low_freq_factor' must be a number/);
    expect(() => models.llamaConfig({ ...tiny, hidden_act: 'mish' })).not.toThrow();
    expect(() => new models.LlamaForCausalLM({ ...tiny, hidden_act: 'mish' })).toThrow(/hidden_act: expected one of .*, got "mish"/);
  });

  it('leaves no tensors behind a forward call in a scope, cached or not', () => {
    const model = new models.LlamaForCausalLM(tiny).eval();
    const ids = torch.tensor([[1, 2, 3, 4]]);
    const before = torch.liveTensors();
    torch.scope(() => void model.forward({ input_ids: ids, attention_mask: torch.tensor([[0, 1, 1, 1]]), labels: ids }));
    const cache = new models.KVCache();
    torch.noGrad(() => torch.scope(() => void model.forward({ input_ids: ids, past_key_values: cache })));
    cache.dispose();
    expect(torch.liveTensors()).toBe(before);
    model.dispose();
  });

  it('computes logits for only the last positions with logits_to_keep', () => {
    const model = new models.LlamaForCausalLM(tiny).eval();
    const ids = torch.tensor([[1, 2, 3, 4]]);
    const [all, last] = torch.noGrad(() => [model.forward({ input_ids: ids }).logits, model.forward({ input_ids: ids, logits_to_keep: 1 }).logits]);
    expect(last.shape).toEqual([1, 1, 50]);
    expect(torch.scope(() => all.slice(1, -1).sub(last).abs().max().item())).toBeLessThan(1e-6);
    model.dispose();
  });
});
