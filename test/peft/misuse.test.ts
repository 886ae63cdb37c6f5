// API misuse at the public entry points: each mistake is a clear error naming the argument, and the model gives
// the same answers afterwards.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { models, nn, optim, PeftError, PeftModel, torch, TorchError, type Tensor } from '../../lib/index.js';
import { FIXTURES } from './golden.js';

const LLAMA = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters');
const VIT = join(FIXTURES, 'peft-golden', '01_vit_lora_classifier');
let llama: PeftModel;
let vit: PeftModel;
let ids: Tensor;
let reference: number[];

const logits = (inputs: Record<string, unknown>): number[] => {
  const out = (llama.forward(inputs) as { logits: Tensor }).logits;
  const values = Array.from(out.toArray(), Number);
  out.dispose();
  return values;
};

beforeAll(async () => {
  llama = await PeftModel.fromPretrained(await models.fromPretrained(join(LLAMA, 'base')), join(LLAMA, 'adapter', 'first'), { adapterName: 'first' });
  await llama.loadAdapter(join(LLAMA, 'adapter', 'second'), 'second');
  vit = await PeftModel.fromPretrained(await models.fromPretrained(join(VIT, 'base')), join(VIT, 'adapter'));
  ids = torch.tensor([[1, 2, 3]], { dtype: 'int64' });
  reference = logits({ input_ids: ids });
});
afterAll(() => {
  llama.dispose();
  vit.dispose();
  ids.dispose();
});

/** The call fails with this error, and the model still answers as before. */
async function refused(call: () => unknown, type: new (...args: never[]) => Error, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
  expect(logits({ input_ids: ids })).toEqual(reference);
}

describe('PeftModel.forward', () => {
  test('a tensor used after dispose', async () => {
    const disposed = torch.tensor([[1, 2]], { dtype: 'int64' });
    disposed.dispose();
    await refused(() => llama.forward({ input_ids: disposed }), PeftError, /^forward: input_ids: the tensor was used after dispose\(\)$/);
    expect(() => disposed.add(1)).toThrow(/Tensor was used after dispose\(\)/);
  });

  test('ids of a floating dtype are refused, not silently truncated', async () => {
    await refused(() => llama.forward({ input_ids: torch.tensor([[1.7, 2, 3]]) }), PeftError, /^forward: input_ids: expected an integer tensor \(int64\), got float32/);
  });

  test('ids outside the vocabulary, negative ids', async () => {
    await refused(() => llama.forward({ input_ids: torch.tensor([[1, 2, 99999]], { dtype: 'int64' }) }), PeftError, /ids must be in \[0, \d+\) \(the model's vocab_size\), got 99999/);
    await refused(() => llama.forward({ input_ids: torch.tensor([[-1]], { dtype: 'int64' }) }), PeftError, /got -1$/);
  });

  test('an input that is not a tensor, or inputs that are not an object', async () => {
    await refused(() => llama.forward({ input_ids: [[1, 2]] as never }), PeftError, /^forward: input_ids: expected a Tensor, got an array of length 1$/);
    await refused(() => llama.forward(null as never), PeftError, /^forward: expected an object of named inputs/);
  });

  test('wrong shapes: 1-D ids, a mask of another length, images that are not 4-D or of another size', async () => {
    await refused(() => llama.forward({ input_ids: torch.tensor([1, 2, 3], { dtype: 'int64' }) }), TorchError, /input_ids must be an int64 tensor \[batch, sequence\], got shape \[3\]/);
    await refused(() => llama.forward({ input_ids: ids, attention_mask: torch.ones([1, 5], { dtype: 'int64' }) }), TorchError, /attention_mask: expected shape \[1, 3\], got \[1, 5\]/);
    await refused(() => vit.forward({ pixel_values: torch.randn([3, 32, 32]) }), PeftError, /pixel_values: expected \[batch, channels, height, width\], got shape \[3, 32, 32\]/);
    await refused(() => vit.forward({ pixel_values: torch.randn([1, 3, 16, 16]) }), TorchError, /input image size \(16\*16\) doesn't match model \(32\*32\)/);
  });

  test('adapter_names: not an array, or not one name per row', async () => {
    llama.eval();
    await refused(() => llama.forward({ input_ids: ids, adapter_names: 'first' as never }), PeftError, /adapter_names: expected an array of adapter names \(one per batch row\), got string "first"/);
    await refused(() => llama.forward({ input_ids: ids, adapter_names: ['first', 'second'] }), PeftError, /adapter_names has 2 names for a batch of 1 rows/);
    await refused(() => llama.forward({ input_ids: ids, adapter_names: ['third'] }), PeftError, /non-existing adapter\(s\): third/);
  });

  test('a device the build does not have', () => {
    expect(() => torch.randn([2]).to('tpu' as never)).toThrow(/^to: expected a dtype \(.*\) or a device \(cpu, cuda, cuda:N\), got "tpu"$/);
  });
});

describe('adapters', () => {
  test('setAdapter / deleteAdapter: unknown names and names that are not strings', async () => {
    await refused(() => llama.setAdapter('nope'), PeftError, /Adapter nope not found/);
    await refused(() => llama.setAdapter(3 as never), PeftError, /^setAdapter: adapter name: expected a non-empty string, got number 3$/);
    await refused(() => llama.deleteAdapter('nope'), PeftError, /Adapter nope does not exist/);
    expect(llama.activeAdapter).toBe('first');
  });

  test('loadAdapter: a duplicate name, a bad name, a folder that is not a path, options of the wrong type', async () => {
    await refused(() => llama.loadAdapter(join(LLAMA, 'adapter', 'second'), 'first'), PeftError, /Adapter with name 'first' already exists/);
    await refused(() => llama.loadAdapter(join(LLAMA, 'adapter', 'second'), 'a.b'), PeftError, /adapter name: expected a non-empty string without '\.'/);
    await refused(() => llama.loadAdapter(5 as never, 'x'), PeftError, /^loadAdapter: dir: expected an adapter folder path, got number 5$/);
    await refused(() => llama.loadAdapter('/nonexistent', 'x'), PeftError, /Can't find 'adapter_config\.json' at '\/nonexistent'/);
    await refused(() => llama.loadAdapter(join(LLAMA, 'adapter', 'second'), 'x', { isTrainable: 'yes' as never }), PeftError, /options\.isTrainable: expected true or false, got string "yes"/);
    expect([...llama.peftConfig.keys()].sort()).toEqual(['first', 'second']);
  });

  test('addAdapter with a name in use', async () => {
    await refused(() => llama.addAdapter('second', llama.peftConfig.get('first') as never), PeftError, /Adapter with name 'second' already exists/);
  });

  test('deleting the active adapter switches to another (PEFT\'s behaviour) with a warning; deleting a merged one is refused', async () => {
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const warnings: string[] = [];
    const peft = await PeftModel.fromPretrained(base, join(LLAMA, 'adapter', 'first'), { adapterName: 'first', warn: (m) => warnings.push(m) });
    await peft.loadAdapter(join(LLAMA, 'adapter', 'second'), 'second');
    peft.mergeAdapter();
    expect(() => peft.deleteAdapter('first')).toThrow(/Cannot delete adapter 'first' while it is merged; call unmergeAdapter\(\) first/);
    peft.unmergeAdapter();
    peft.deleteAdapter('first');
    expect(peft.activeAdapter).toBe('second');
    expect(warnings).toContain('Adapter first was active which is now deleted. Setting active adapter to second.');
    peft.setAdapter('second');
    const out = (peft.forward({ input_ids: ids }) as { logits: Tensor }).logits;
    expect(out.shape).toEqual([1, 3, expect.any(Number)]);
    out.dispose();
    peft.dispose();
  });
});

describe('optimizers', () => {
  test('bad hyper-parameters and parameter lists are named', () => {
    const p = new nn.Parameter(torch.randn([3]));
    expect(() => new optim.AdamW([], { lr: 1 })).toThrow(/AdamW: got an empty parameter list/);
    expect(() => new optim.AdamW([p], { lr: -1 })).toThrow(/invalid learning rate lr=-1/);
    expect(() => new optim.AdamW([p], { lr: Number.NaN })).toThrow(/invalid learning rate lr=NaN/);
    expect(() => new optim.AdamW([1 as never], { lr: 1 })).toThrow(/expected Parameters or \[name, Parameter\] pairs .* got Number/);
    expect(() => new optim.AdamW([p], { lr: 1, betas: [2, 0.9] })).toThrow(/invalid betas \[2,0\.9\]/);
    expect(() => new optim.SGD([p], { lr: 0.1, momentum: -1 })).toThrow(/invalid momentum=-1/);
    p.dispose();
  });

  test('a step over a disposed parameter is an error, not a crash', () => {
    const q = new nn.Parameter(torch.randn([3]));
    const opt = new optim.AdamW([q], { lr: 0.1 });
    q.dispose();
    expect(() => opt.step()).toThrow(/Tensor was used after dispose\(\)/);
    opt.dispose();
  });
});
