// PeftModel: in-memory names and trainable tensors as PEFT makes them, modules_to_save wrapper semantics,
// adapter management, trainable-parameter counts.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getPeftModel, LoraConfig, models, ModulesToSaveWrapper, PeftError, torch, type LoraConfigInit, type Tensor } from '../../lib/index.js';
import { FIXTURES, goldenCases, readManifest } from './golden.js';

const LLAMA = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters', 'base');

function maxDiff(a: Tensor, b: Tensor): number {
  return a.sub(b).abs().max().item();
}

describe('getPeftModel makes the same trainable tensors as PEFT', () => {
  for (const caseName of goldenCases('peft-golden')) {
    const manifest = readManifest('peft-golden', caseName);
    const kwargs = Object.entries(manifest.lora_config_kwargs);
    if (kwargs.length !== 1 || 'made_by' in kwargs[0][1]) continue;
    it(caseName, async () => {
      const base = await models.fromPretrained(join(FIXTURES, 'peft-golden', caseName, 'base'));
      const config = new LoraConfig(kwargs[0][1] as LoraConfigInit);
      const peft = getPeftModel(base, config, kwargs[0][0], { warn: () => undefined });
      const trainable = Object.fromEntries(peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => [n, [...p.shape]]));
      const expected = { ...manifest.trainable_parameters };
      // node-peft also trains the bare parameter PEFT ignores (case 02)
      if (caseName.startsWith('02_')) expected['base_model.model.vit.embeddings.position_embeddings'] = [1, 37, 32];
      expect(trainable).toEqual(expected);
    });
  }
});

describe('PeftModel on a tiny Llama', () => {
  const config = (extra: LoraConfigInit = {}): LoraConfig => new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['q_proj'], modules_to_save: ['lm_head'], init_lora_weights: false, ...extra });

  it('modules_to_save: original frozen, copy per adapter, requires_grad follows the active adapter, disable reads the original', async () => {
    torch.manualSeed(0);
    const peft = getPeftModel(await models.fromPretrained(LLAMA), config());
    peft.addAdapter('other', config());
    const wrapper = peft.model.getSubmodule('lm_head') as ModulesToSaveWrapper;
    expect(wrapper).toBeInstanceOf(ModulesToSaveWrapper);
    expect(wrapper.adapterNames()).toEqual(['default', 'other']);
    const names = peft.namedParameters().filter(([n]) => n.includes('lm_head')).map(([n, p]) => `${n}:${p.requiresGrad}`);
    expect(names).toEqual([
      'base_model.model.lm_head.original_module.weight:false',
      'base_model.model.lm_head.modules_to_save.default.weight:true',
      'base_model.model.lm_head.modules_to_save.other.weight:false',
    ]);
    peft.setAdapter('other');
    expect(wrapper.copyOf('other').param('weight').requiresGrad).toBe(true);
    expect(wrapper.copyOf('default').param('weight').requiresGrad).toBe(false);

    torch.noGrad(() => wrapper.copyOf('other').param('weight').add_(0.5));
    const ids = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    const logits = (extra: object = {}): Tensor => (peft.forward({ input_ids: ids, ...extra }) as { logits: Tensor }).logits;
    const withOther = logits();
    const disabled = peft.disableAdapter(() => logits());
    expect(maxDiff(withOther, disabled)).toBeGreaterThan(0.1);
    const base = await models.fromPretrained(LLAMA);
    expect(maxDiff(disabled, (base.forward({ input_ids: ids }) as { logits: Tensor }).logits)).toBeLessThan(1e-5);
    expect(wrapper.copyOf('other').param('weight').requiresGrad).toBe(true);

    peft.eval();
    const mixed = logits({ adapter_names: ['__base__', 'other'] });
    expect(maxDiff(mixed.select(0, 0), disabled.select(0, 0))).toBeLessThan(1e-5);
    expect(maxDiff(mixed.select(0, 1), withOther.select(0, 1))).toBeLessThan(1e-5);
    expect(() => logits({ adapter_names: ['nope', 'other'] })).toThrow(/non-existing adapter\(s\): nope/);
    peft.train();
    expect(() => logits({ adapter_names: ['other', 'other'] })).toThrow(/training mode/);

    const plain = peft.unload();
    expect(plain.getSubmodule('lm_head')).not.toBeInstanceOf(ModulesToSaveWrapper);
    expect(plain.getParameter('lm_head.weight').equal(wrapper.copyOf('other').param('weight'))).toBe(true);
  });

  it('adapter management errors and deletion', async () => {
    const warn = vi.fn();
    const peft = getPeftModel(await models.fromPretrained(LLAMA), config({ modules_to_save: null }), 'default', { warn });
    expect(() => peft.addAdapter('default', config())).toThrow("Adapter with name 'default' already exists.");
    expect(() => peft.setAdapter('missing')).toThrow('Adapter missing not found.');
    expect(() => peft.deleteAdapter('missing')).toThrow(PeftError);
    peft.addAdapter('b', config({ modules_to_save: null }));
    peft.deleteAdapter('default');
    expect(peft.activeAdapter).toBe('b');
    expect(warn).toHaveBeenCalledWith('Adapter default was active which is now deleted. Setting active adapter to b.');
    expect(peft.namedParameters().some(([n]) => n.includes('.default.'))).toBe(false);
  });

  it("printTrainableParameters prints PEFT's line", async () => {
    const peft = getPeftModel(await models.fromPretrained(LLAMA), config({ modules_to_save: null }));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const line = peft.printTrainableParameters();
    log.mockRestore();
    const [trainable, all] = peft.getNbTrainableParameters();
    expect(trainable).toBe(2 * (2 * 32 + 32 * 2));
    expect(line).toBe(`trainable params: ${trainable} || all params: ${all.toLocaleString('en-US')} || trainable%: ${((100 * trainable) / all).toFixed(4)}`);
    expect(line).toMatch(/^trainable params: 256 \|\| all params: \d{1,3}(,\d{3})* \|\| trainable%: \d+\.\d{4}$/);
  });
});
