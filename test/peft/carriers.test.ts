// The adapter-carrier refactor's promises: one interface for every adapter holder, callers' configs never changed,
// a failed fromPretrained / loadAdapter leaves the model as it was, several adapters active at once sum as PEFT.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, nn, PeftError, PeftModel, safetensors, StateDictError, torch, type Tensor } from '../../lib/index.js';
import { isAdapterCarrier } from '../../lib/peft/carrier.js';

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('fc1', new nn.Linear(6, 5));
    this.registerModule('fc2', new nn.Linear(5, 3));
    this.registerModule('head', new nn.Linear(3, 3));
  }

  forward(inputs: Record<string, unknown>): { logits: Tensor } {
    const x = inputs.x as Tensor;
    const h = this.child<nn.Linear>('fc2').forward(this.child<nn.Linear>('fc1').forward(x));
    return { logits: this.child<nn.Linear>('head').forward(h) };
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const scratch = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'node-peft-carriers-'));
  dirs.push(dir);
  return dir;
};
const values = (t: Tensor): number[] => Array.from(t.toArray(), Number);
const quiet = { warn: (): void => undefined };
const lora = (extra: Partial<LoraConfig> = {}): LoraConfig => new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['fc1', 'fc2'], init_lora_weights: false, ...extra });

/** Names, shapes, values and requires_grad of every parameter: what "untouched" means. */
function snapshot(model: nn.Module): Record<string, { shape: number[]; values: number[]; grad: boolean }> {
  return Object.fromEntries(model.namedParameters().map(([n, p]) => [n, { shape: [...p.shape], values: values(p), grad: p.requiresGrad }]));
}

describe('one adapter-carrier interface', () => {
  it('LoRA layers, module copies and parameter copies are all carriers, found in one pass', () => {
    torch.manualSeed(0);
    const model = new Net();
    const peft = getPeftModel(model, lora({ modules_to_save: ['head', 'fc1.bias'] as string[], target_modules: ['fc2'] }), 'default', quiet);
    const kinds = peft.carriers().map(([path, c]) => [path, isAdapterCarrier(c)]);
    expect(kinds).toEqual([['fc2', true], ['head', true], ['fc1.bias', true]]);
  });
});

describe('configs at the API boundary', () => {
  it('getPeftModel, addAdapter and loadAdapter keep their own copies; the caller\'s config is unchanged', async () => {
    const config = new LoraConfig({ r: 2, lora_alpha: 4, target_modules: 'all-linear', task_type: 'SEQ_CLS', init_lora_weights: false });
    const before = JSON.stringify(config);
    const peft = getPeftModel(new Net(), config, 'default', quiet);
    peft.addAdapter('second', config);
    expect(JSON.stringify(config)).toBe(before);
    expect(peft.peftConfig.get('default')).not.toBe(config);
    const dir = scratch();
    await peft.savePretrained(dir);
    await peft.loadAdapter(dir, 'third', { config });
    expect(JSON.stringify(config)).toBe(before);
    expect(peft.peftConfig.get('third')?.inference_mode).toBe(true);
  });
});

describe('a failed load leaves the model as it was', () => {
  async function brokenAdapter(): Promise<string> {
    torch.manualSeed(1);
    const dir = scratch();
    await getPeftModel(new Net(), lora({ modules_to_save: ['head'] }), 'default', quiet).savePretrained(dir);
    const file = join(dir, 'adapter_model.safetensors');
    const tensors = await safetensors.load(file);
    const key = 'base_model.model.fc2.lora_B.weight';
    tensors[key].dispose();
    tensors[key] = torch.zeros([4, 2]); // the model's lora_B of fc2 is [3, 2]
    await safetensors.save(file, tensors, { format: 'pt' });
    return dir;
  }

  it('PeftModel.fromPretrained: same modules, parameters, values and requires_grad after a shape error', async () => {
    const dir = await brokenAdapter();
    torch.manualSeed(2);
    const model = new Net();
    model.child<nn.Linear>('fc1').weight.requiresGrad = true;
    model.child<nn.Linear>('head').bias!.requiresGrad = false;
    const modulesBefore = model.namedModules().map(([n, m]) => [n, m.constructor.name]);
    const before = snapshot(model);
    await expect(PeftModel.fromPretrained(model, dir, quiet)).rejects.toThrow(StateDictError);
    expect(model.namedModules().map(([n, m]) => [n, m.constructor.name])).toEqual(modulesBefore);
    expect(snapshot(model)).toEqual(before);
    // and the model still takes a good adapter afterwards
    const good = scratch();
    await getPeftModel(new Net(), lora(), 'default', quiet).savePretrained(good);
    const peft = await PeftModel.fromPretrained(model, good, quiet);
    expect(peft.targetedModuleNames).toEqual(['fc1', 'fc2']);
  });

  it('getPeftModel: a config that fails to inject leaves the model as it was', () => {
    const model = new Net();
    const before = snapshot(model);
    const modulesBefore = model.namedModules().map(([n]) => n);
    expect(() => getPeftModel(model, lora({ target_modules: ['fc1'], modules_to_save: ['nothing_like_this'] }), 'default', quiet)).toThrow(PeftError);
    expect(model.namedModules().map(([n]) => n)).toEqual(modulesBefore);
    expect(snapshot(model)).toEqual(before);
  });

  it('loadAdapter: the carriers the failed adapter created are gone, the existing adapter is intact', async () => {
    const dir = await brokenAdapter();
    torch.manualSeed(3);
    const peft = getPeftModel(new Net(), lora({ target_modules: ['fc1'] }), 'default', quiet);
    const modulesBefore = peft.namedModules().map(([n]) => n);
    const before = snapshot(peft);
    await expect(peft.loadAdapter(dir, 'broken')).rejects.toThrow(StateDictError);
    expect(peft.namedModules().map(([n]) => n)).toEqual(modulesBefore);
    expect(snapshot(peft)).toEqual(before);
    expect([...peft.peftConfig.keys()]).toEqual(['default']);
  });
});

describe('several active adapters', () => {
  it('setAdapter([a, b]) sums both adapters\' terms, as PEFT: out(a,b) - base = (out(a) - base) + (out(b) - base)', () => {
    torch.manualSeed(4);
    // both on fc2 only: the model is linear there, so the summed terms add exactly
    const peft = getPeftModel(new Net(), lora({ target_modules: ['fc2'] }), 'a', quiet);
    peft.addAdapter('b', lora({ target_modules: ['fc2'], r: 3 }));
    peft.eval();
    const x = torch.randn([4, 6]);
    const out = (): number[] => values(peft.forward({ x }).logits);
    const base = peft.disableAdapter(out);
    peft.setAdapter('a');
    const a = out();
    peft.setAdapter('b');
    const b = out();
    peft.setAdapter(['a', 'b']);
    expect(peft.activeAdapters).toEqual(['a', 'b']);
    const both = out();
    both.forEach((v, i) => expect(v).toBeCloseTo(a[i] + b[i] - base[i], 5));
    expect(peft.trainableParameters().length).toBe(4); // A and B of each
    peft.mergeAdapter();
    out().forEach((v, i) => expect(v).toBeCloseTo(both[i], 5));
    peft.unmergeAdapter();
  });

  it('module copies allow one active adapter, as PEFT', () => {
    const peft = getPeftModel(new Net(), lora({ modules_to_save: ['head'] }), 'a', quiet);
    peft.addAdapter('b', lora({ modules_to_save: ['head'] }));
    expect(() => peft.setAdapter(['a', 'b'])).toThrow(/multiple \(a, b\) adapters at once for modules_to_save/);
  });

  it('trainable tokens allow one active adapter, as PEFT (check_set_adapter)', () => {
    class WithEmbedding extends Net {
      constructor() {
        super();
        this.registerModule('embed_tokens', new nn.Embedding(10, 6));
      }
    }
    const peft = getPeftModel(new WithEmbedding(), lora({ trainable_token_indices: [1, 2] }), 'a', quiet);
    peft.addAdapter('b', lora({ trainable_token_indices: [3] }));
    expect(() => peft.setAdapter(['a', 'b'])).toThrow(/Only one adapter can be set at a time for TrainableTokensWrapper, got 2/);
  });

  it('deleting one of the active adapters keeps the others active', () => {
    const peft = getPeftModel(new Net(), lora(), 'a', quiet);
    peft.addAdapter('b', lora());
    peft.setAdapter(['a', 'b']);
    peft.deleteAdapter('a');
    expect(peft.activeAdapters).toEqual(['b']);
  });
});
