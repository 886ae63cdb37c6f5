// LoRA training and serving keep RSS flat. Their tensors are blocks of hundreds of KiB to MiBs: with LibTorch's
// plain malloc allocator glibc's heap fragmented under a training loop and grew by ~1 MB a step (+110 MB over 70
// steps of the model below; W1 grew to 1.6 GB), and a cache that churned blocks through malloc grew the same way
// under requests of varying shapes. native/cpu_cache.cc maps such blocks itself and reuses them.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getPeftModel, LoraConfig, models, optim, torch, type PeftModel } from '../../lib/index.js';

const VOCAB = 4000;
const MiB = 2 ** 20;
let peft: PeftModel<models.LlamaForCausalLM>;

beforeAll(() => {
  torch.manualSeed(0);
  const base = new models.LlamaForCausalLM({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: VOCAB, hidden_size: 256, intermediate_size: 512,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, hidden_act: 'silu', tie_word_embeddings: false,
  });
  peft = getPeftModel(base, new LoraConfig({ r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }));
});

afterAll(() => peft.dispose());

/** RSS growth in MiB over `measured` calls of fn after `warmUp` calls, with the live tensor count checked. */
function rssGrowth(warmUp: number, measured: number, fn: (i: number) => void): number {
  for (let i = 0; i < warmUp; i++) fn(i);
  const rss = process.memoryUsage().rss;
  const tensors = torch.liveTensors();
  for (let i = warmUp; i < warmUp + measured; i++) fn(i);
  expect(torch.liveTensors()).toBe(tensors);
  return (process.memoryUsage().rss - rss) / MiB;
}

test('70 LoRA training steps after a warm-up grow RSS by under 16 MB', () => {
  peft.train();
  const optimizer = new optim.AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 1e-4 });
  const ids = torch.randint(0, VOCAB, [4, 129]);
  const inputs = ids.slice(1, 0, 128).contiguous();
  const targets = ids.slice(1, 1).reshape(-1);
  const growth = rssGrowth(10, 70, () =>
    torch.scope(() => {
      const { logits } = peft.forward({ input_ids: inputs });
      const loss = torch.F.crossEntropy(logits.reshape(-1, VOCAB), targets);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
    }),
  );
  expect(growth).toBeLessThan(16);
  for (const t of [ids, inputs, targets]) t.dispose();
  optimizer.dispose();
});

test('200 inference requests of varying batch and length after a warm-up grow RSS by under 16 MB', () => {
  peft.eval();
  const shapes = Array.from({ length: 250 }, (_, i) => [1 + (i % 4), 8 + ((i * 37) % 250)]);
  const growth = torch.noGrad(() =>
    rssGrowth(50, 200, (i) =>
      torch.scope(() => {
        peft.forward({ input_ids: torch.randint(0, VOCAB, shapes[i]) });
      }),
    ),
  );
  expect(growth).toBeLessThan(16);
});
