// loadAdapter: saved tensors are copied into adapters created without random init; what the file lacks is
// initialised as a fresh adapter; a file that does not fit leaves no half-loaded adapter behind.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, nn, safetensors, StateDictError, torch, type PeftModel, type Tensor } from '../../lib/index.js';

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('fc1', new nn.Linear(6, 5));
    this.registerModule('fc2', new nn.Linear(5, 3));
  }

  forward(inputs: Record<string, unknown>): { logits: Tensor } {
    const x = inputs.x as Tensor;
    return { logits: this.child<nn.Linear>('fc2').forward(this.child<nn.Linear>('fc1').forward(x)) };
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function savedAdapter(): Promise<{ peft: PeftModel; dir: string; warnings: string[] }> {
  torch.manualSeed(0);
  const warnings: string[] = [];
  const config = new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['fc1', 'fc2'], init_lora_weights: false });
  const peft = getPeftModel(new Net(), config, 'default', { warn: (m) => warnings.push(m) });
  const dir = mkdtempSync(join(tmpdir(), 'node-peft-load-'));
  dirs.push(dir);
  await peft.savePretrained(dir);
  return { peft, dir, warnings };
}

const values = (t: Tensor): number[] => Array.from(t.toArray(), Number);

describe('loadAdapter', () => {
  it('loads every saved tensor exactly', async () => {
    const { peft, dir } = await savedAdapter();
    await peft.loadAdapter(dir, 'copy');
    const saved = peft.getPeftModelStateDict('default');
    const loaded = peft.getPeftModelStateDict('copy');
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(saved).sort());
    for (const key of Object.keys(saved)) expect(loaded[key].equal(saved[key])).toBe(true);
  });

  it('initialises a layer the file has no tensors for as a new adapter (B = 0), warning about the missing keys', async () => {
    const { peft, dir, warnings } = await savedAdapter();
    const tensors = await safetensors.load(join(dir, 'adapter_model.safetensors'));
    const partial = join(dir, 'partial');
    mkdirSync(partial);
    const kept = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.includes('.fc2.')));
    await safetensors.save(join(partial, 'adapter_model.safetensors'), kept, { format: 'pt' });
    const config = new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['fc1', 'fc2'] });
    const result = await peft.loadAdapter(partial, 'partial', { config });
    expect(result.missingKeys.sort()).toEqual(['base_model.model.fc2.lora_A.weight', 'base_model.model.fc2.lora_B.weight']);
    const live = peft.getPeftModelStateDict('partial');
    expect(values(live['base_model.model.fc2.lora_B.weight']).every((v) => v === 0)).toBe(true);
    // A drawn as PEFT's init_lora_weights=true does: kaiming-uniform, bound 1/√in_features
    const fc2A = values(live['base_model.model.fc2.lora_A.weight']).map(Math.abs);
    expect(Math.max(...fc2A)).toBeGreaterThan(0);
    expect(Math.max(...fc2A)).toBeLessThanOrEqual(1 / Math.sqrt(5));
    expect(live['base_model.model.fc1.lora_A.weight'].equal(tensors['base_model.model.fc1.lora_A.weight'])).toBe(true);
    expect(live['base_model.model.fc1.lora_B.weight'].equal(tensors['base_model.model.fc1.lora_B.weight'])).toBe(true);
    expect(warnings.some((m) => m.startsWith('Found missing adapter keys') && m.includes('fc2.lora_A.weight'))).toBe(true);
  });

  it('a file whose shapes do not fit throws and leaves no adapter of that name', async () => {
    const { peft, dir } = await savedAdapter();
    const config = new LoraConfig({ r: 3, lora_alpha: 4, target_modules: ['fc1', 'fc2'] });
    await expect(peft.loadAdapter(dir, 'wrong', { config })).rejects.toThrow(StateDictError);
    expect(peft.peftConfig.has('wrong')).toBe(false);
    expect(peft.loraLayers().every(([, layer]) => !layer.hasAdapter('wrong'))).toBe(true);
  });
});
