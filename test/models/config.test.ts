// config.json parsing: transformers' field names and defaults, both eras' spellings, unknown fields kept.
import { describe, expect, it } from 'vitest';
import { models } from '../../lib/index.js';

describe('model configs', () => {
  it('derive num_labels from id2label, as transformers does', () => {
    expect(models.vitConfig({ id2label: { 0: 'cat', 1: 'dog', 2: 'fox' } }).num_labels).toBe(3);
    expect(models.bertConfig({ num_labels: 4 }).num_labels).toBe(4);
    expect(models.bertConfig({}).num_labels).toBe(2);
  });

  it('fill the defaults of transformers 5.17', () => {
    expect(models.vitConfig({})).toMatchObject({ hidden_size: 768, image_size: 224, patch_size: 16, qkv_bias: true, layer_norm_eps: 1e-12, tie_word_embeddings: true });
    expect(models.gpt2Config({})).toMatchObject({ n_embd: 768, n_positions: 1024, activation_function: 'gelu_new', n_inner: null, tie_word_embeddings: true, layer_norm_epsilon: 1e-5 });
    expect(models.bertConfig({})).toMatchObject({ hidden_size: 768, type_vocab_size: 2, pad_token_id: 0, classifier_dropout: null, hidden_act: 'gelu' });
  });

  it('keep fields they do not know, and read the dtype from either spelling', () => {
    const config = models.gpt2Config({ summary_type: 'cls_index', torch_dtype: 'float16', task_specific_params: { a: 1 } });
    expect(config).toMatchObject({ summary_type: 'cls_index', task_specific_params: { a: 1 }, dtype: 'float16' });
    expect(models.configDtype({ dtype: 'torch.bfloat16' })).toBe('bfloat16');
    expect(models.configDtype({ dtype: 'auto' })).toBeNull();
    expect(models.configDtype({})).toBeNull();
  });

  it('reject what the models cannot run, naming the field', () => {
    expect(() => models.configDtype({ dtype: 'int4' })).toThrow(/'dtype' must be one of .*, got "int4"/);
    expect(() => models.bertConfig({ position_embedding_type: 'relative_key' })).toThrow(/bert config: 'position_embedding_type' must be 'absolute', got "relative_key"/);
    expect(() => models.vitConfig({ hidden_size: 30, num_attention_heads: 4 })).toThrow(/'num_attention_heads' must be a divisor of hidden_size \(30\), got 4/);
    expect(() => models.qwen2Config({ use_sliding_window: true })).toThrow(/use_sliding_window=true is not supported/);
    expect(() => models.gpt2Config({ n_layer: 0 })).toThrow(/gpt2 config: 'n_layer' must be a positive integer, got 0/);
  });
});
