// Mistral, Qwen3, Gemma 2, Gemma 3 (text) and Phi-3 against transformers 5.17 / PEFT 0.21 on the tiny models
// scripts/fixtures/model_families.py wrote: base, PEFT adapter and merged logits (≤ 1e-4), greedy ids with the KV
// cache past the sliding window (token for token), bfloat16 logits, the sequence classifiers with modules_to_save
// ["score"], and PEFT's default target_modules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, optim, PeftModel, safetensors, torch, type Tensor } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

const TOLERANCE = 1e-4;
/**
 * bfloat16 against transformers' bfloat16 (eager attention): both round every op to bf16 (8-bit mantissa), not always
 * in the same order (our attention is SDPA's fused kernel except Gemma 2's soft-capped eager path). Measured max
 * |diff| on these logits (|logits| ≤ 2.8): 0.036 Phi-3, 0.035 Qwen3, 0.030 Mistral, 0.018 Gemma 3, 0 Gemma 2;
 * transformers' own bf16 logits differ from its fp32 ones by 0.023–0.059. The bound is ~2x the worst measured.
 */
const BF16_TOLERANCE = 0.08;
const FAMILIES = ['mistral', 'qwen3', 'gemma2', 'gemma3', 'phi3'] as const;
const quiet = { warn: (): void => undefined };

interface Notes {
  architectures: [string, string];
  model_type: string;
  adapter_target_modules: string[];
  peft_default_target_modules: { target_modules?: string[]; error?: string };
}

type Forwardable = { forward(inputs: never): { logits: Tensor } };

type Inputs = { input_ids: Tensor; attention_mask: Tensor };

async function family(name: string): Promise<{ dir: string; notes: Notes; inputs: Inputs; prompts: Inputs; classify: Inputs; expected: Record<string, Tensor> }> {
  const dir = join(FIXTURES, 'models', name);
  const notes = JSON.parse(readFileSync(join(dir, 'notes.json'), 'utf8')) as Notes;
  const load = async (file: string): Promise<Inputs> => (await safetensors.load(join(dir, file))) as unknown as Inputs;
  return {
    dir, notes, inputs: await load('inputs.safetensors'), prompts: await load('generate_inputs.safetensors'), classify: await load('cls_inputs.safetensors'),
    expected: await safetensors.load(join(dir, 'expected.safetensors')),
  };
}

const logitsOf = (model: unknown, inputs: Inputs): Tensor => torch.noGrad(() => (model as Forwardable).forward(inputs as never).logits);

const rows = (t: Tensor): number[][] => t.toList() as number[][];

const greedy = (model: unknown, prompts: Inputs, useCache = true): Tensor =>
  models.generate(model as models.CausalLM, prompts, { maxNewTokens: 12, padTokenId: 0, useCache });

describe.each(FAMILIES)('%s', (name) => {
  it('loads as the transformers class and reproduces its logits (fp32, left padding, past the sliding window)', async () => {
    const { dir, notes, inputs, expected } = await family(name);
    const model = await models.fromPretrained(join(dir, 'base'));
    expect(model.architecture).toBe(notes.architectures[0]);
    expect(model.config.model_type).toBe(notes.model_type);
    expect(maxAbsDiff(logitsOf(model, inputs), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });

  it("greedy generation with the KV cache gives transformers' ids token for token, beyond the window", async () => {
    const { dir, prompts, expected } = await family(name);
    const model = await models.fromPretrained(join(dir, 'base'));
    const cached = greedy(model, prompts);
    expect(rows(cached)).toEqual(rows(expected.generated));
    expect(rows(greedy(model, prompts, false))).toEqual(rows(cached));
    model.dispose();
  });

  it("PEFT's adapter gives PEFT's logits and generation; merged, the merged logits", async () => {
    const { dir, notes, inputs, prompts, expected } = await family(name);
    const peft = await PeftModel.fromPretrained(await models.fromPretrained(join(dir, 'base')), join(dir, 'adapter'), quiet);
    const adapted = logitsOf(peft, inputs);
    expect(maxAbsDiff(adapted, expected.logits_adapter)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(expected.logits_adapter, expected.logits)).toBeGreaterThan(1e-2); // the adapter matters
    expect(rows(greedy(peft, prompts))).toEqual(rows(expected.generated_adapter));
    expect([...(peft.peftConfig.get('default')?.target_modules as string[])].sort()).toEqual([...notes.adapter_target_modules].sort());
    const merged = peft.mergeAndUnload();
    expect(maxAbsDiff(logitsOf(merged, inputs), expected.logits_merged)).toBeLessThanOrEqual(TOLERANCE);
    merged.dispose();
  });

  it(`loads in bfloat16 and matches transformers' bfloat16 logits within ${BF16_TOLERANCE}`, async () => {
    const { dir, inputs, expected } = await family(name);
    const model = await models.fromPretrained(join(dir, 'base'), { dtype: 'bfloat16' });
    expect(model.dtype).toBe('bfloat16');
    const logits = logitsOf(model, inputs);
    expect(logits.dtype).toBe('bfloat16');
    expect(maxAbsDiff(logits, expected.logits_bf16)).toBeLessThanOrEqual(BF16_TOLERANCE);
    model.dispose();
  });

  it('the sequence classifier pools the last non-pad token; a SEQ_CLS adapter with modules_to_save ["score"] gives PEFT\'s logits', async () => {
    const { dir, notes, classify, expected } = await family(name);
    const classifier = await models.fromPretrained(join(dir, 'seq_cls'));
    expect(classifier.architecture).toBe(notes.architectures[1]);
    expect(maxAbsDiff(logitsOf(classifier, classify), expected.cls_logits)).toBeLessThanOrEqual(TOLERANCE);
    const peft = await PeftModel.fromPretrained(classifier, join(dir, 'seq_cls_adapter'), quiet);
    expect(maxAbsDiff(logitsOf(peft, classify), expected.cls_logits_adapter)).toBeLessThanOrEqual(TOLERANCE);
    expect(peft.namedParameters().map(([key]) => key)).toContain('base_model.model.score.modules_to_save.default.weight');
    peft.dispose();
  });

  it("target_modules left out: PEFT's defaults for the model type (or PEFT's error where it has none)", async () => {
    const { dir, notes } = await family(name);
    const model = await models.fromPretrained(join(dir, 'base'));
    const config = new LoraConfig({ r: 2, task_type: 'CAUSAL_LM' }, quiet);
    const { target_modules: defaults, error } = notes.peft_default_target_modules;
    if (error) {
      expect(() => getPeftModel(model, config, 'default', quiet)).toThrow(error);
      model.dispose();
      return;
    }
    const peft = getPeftModel(model, config, 'default', quiet);
    expect([...(peft.peftConfig.get('default')?.target_modules as string[])].sort()).toEqual(defaults);
    const adapted = new Set(peft.namedModules().filter(([key]) => key.endsWith('.lora_A')).map(([key]) => key.split('.').at(-2)));
    expect([...adapted].sort()).toEqual(defaults);
    peft.dispose();
  });
});

describe.each(FAMILIES)('%s training', (name) => {
  it('LoRA on every projection trains: gradients reach each LoRA tensor and 4 AdamW steps lower the loss', async () => {
    const { dir, notes, inputs } = await family(name);
    torch.manualSeed(17);
    const peft = getPeftModel(await models.fromPretrained(join(dir, 'base')), new LoraConfig({ r: 4, lora_alpha: 8, target_modules: notes.adapter_target_modules, task_type: 'CAUSAL_LM' }, quiet), 'default', quiet);
    peft.train();
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad);
    const optimizer = new optim.AdamW(trainable.map(([, p]) => p), { lr: 1e-2 });
    const labels = torch.scope(() => inputs.input_ids.maskedFill(inputs.attention_mask.eq(0), -100));
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      torch.scope(() => {
        optimizer.zeroGrad();
        const { loss } = (peft as unknown as { forward(x: never): { loss: Tensor } }).forward({ ...inputs, labels } as never);
        loss.backward();
        if (step === 0) expect(trainable.filter(([, p]) => p.grad === null).map(([key]) => key)).toEqual([]);
        optimizer.step();
        losses.push(loss.item());
      });
    }
    expect(trainable.length).toBe(4 * notes.adapter_target_modules.length); // A and B per target, 2 layers
    expect(losses[3]).toBeLessThan(losses[0]);
    optimizer.dispose();
    peft.dispose();
  });
});

describe('Llama and Qwen2 sequence classifiers', () => {
  it.each(['llama_seq_cls', 'qwen2_seq_cls'])("%s: transformers' logits at the last non-pad token (right padding)", async (name) => {
    const dir = join(FIXTURES, 'models', name);
    const classifier = await models.fromPretrained(dir);
    const inputs = (await safetensors.load(join(dir, 'cls_inputs.safetensors'))) as unknown as Inputs;
    const { cls_logits } = await safetensors.load(join(dir, 'expected.safetensors'));
    expect(maxAbsDiff(logitsOf(classifier, inputs), cls_logits)).toBeLessThanOrEqual(TOLERANCE);
    const labels = torch.tensor([0, 2, 1], { dtype: 'int64' });
    const { loss } = torch.noGrad(() => classifier.forward({ ...inputs, labels }));
    expect(loss?.item()).toBeGreaterThan(0);
    classifier.dispose();
  });

  it('without pad_token_id, a batch of more than one row is an error (transformers refuses it too)', () => {
    const tiny = { vocab_size: 16, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, num_labels: 2 };
    const classifier = new models.MistralForSequenceClassification(tiny);
    const ids = torch.tensor([[3, 4], [5, 6]], { dtype: 'int64' });
    expect(() => classifier.forward({ input_ids: ids })).toThrow(/MistralForSequenceClassification: cannot handle batch sizes > 1 if no padding token is defined/);
    expect(torch.noGrad(() => classifier.forward({ input_ids: ids.slice(0, 0, 1) })).logits.shape).toEqual([1, 2]);
    classifier.dispose();
  });
});

describe('sliding-window attention', () => {
  it('a query sees only the last sliding_window keys: tokens before the window do not change a late position', async () => {
    const { dir, inputs } = await family('mistral');
    const model = await models.fromPretrained(join(dir, 'base')); // window 4, 2 layers: position 11 sees back to 11 - 2·3 = 5
    const ids = inputs.input_ids.slice(0, 0, 1);
    const edited = torch.scope(() => torch.cat([torch.tensor([[7, 8, 9]], { dtype: 'int64' }), ids.slice(1, 3)], 1));
    const mask = torch.ones([1, 12], { dtype: 'int64' });
    const [a, b] = [logitsOf(model, { input_ids: ids, attention_mask: mask }), logitsOf(model, { input_ids: edited, attention_mask: mask })];
    expect(maxAbsDiff(a.slice(1, 11), b.slice(1, 11))).toBeLessThan(1e-6);
    expect(maxAbsDiff(a.slice(1, 3, 4), b.slice(1, 3, 4))).toBeGreaterThan(1e-3);
    model.dispose();
  });
});

describe('architecture errors', () => {
  it('an unsupported architecture is named, with the supported ones listed', async () => {
    const { dir } = await family('mistral');
    const { mkdtempSync, cpSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const scratch = mkdtempSync(join(tmpdir(), 'families-'));
    cpSync(join(dir, 'base'), scratch, { recursive: true });
    const config = JSON.parse(readFileSync(join(scratch, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(scratch, 'config.json'), JSON.stringify({ ...config, architectures: ['Gemma3ForConditionalGeneration'] }));
    await expect(models.fromPretrained(scratch)).rejects.toThrow(
      /unsupported architecture Gemma3ForConditionalGeneration .*supported architectures: .*MistralForCausalLM, Qwen3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM/);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('config values transformers would refuse are named', () => {
    expect(() => new models.Phi3ForCausalLM({ rope_parameters: { rope_type: 'longrope', rope_theta: 1e4, short_factor: [1], long_factor: [1] } }))
      .toThrow(/rope_type: expected one of default, linear, dynamic, llama3, got "longrope"/);
    expect(() => new models.Gemma2ForCausalLM({ num_hidden_layers: 2, layer_types: ['sliding_attention'] }))
      .toThrow(/gemma2 config: 'layer_types' must be 2 entries/);
    expect(() => new models.Gemma3ForCausalLM({ use_bidirectional_attention: true })).toThrow(/use_bidirectional_attention=true/);
  });
});
