// savePretrained replaces each adapter folder as a whole: no temporary files left or piled up (those an earlier
// release's crashes left are removed), other files in the folder kept, sub-folders of other adapters kept.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { getPeftModel, LoraConfig, nn, PeftError, PeftModel, type Tensor } from '../../lib/index.js';

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('fc1', new nn.Linear(6, 5));
  }

  forward(inputs: Record<string, unknown>): Tensor {
    return this.child<nn.Linear>('fc1').forward(inputs.x as Tensor);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'node-peft-save-folder-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function model(r: number): PeftModel {
  const peft = getPeftModel(new Net(), new LoraConfig({ r, lora_alpha: 8, target_modules: ['fc1'] }), 'default', { warn: () => undefined });
  peft.addAdapter('other', new LoraConfig({ r: r + 1, lora_alpha: 8, target_modules: ['fc1'] }));
  return peft;
}

const rOf = (dir: string): number => (JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { r: number }).r;

describe('savePretrained', () => {
  test('removes the temporary files earlier crashes piled up, keeps the folder\'s other files', async () => {
    const dir = join(scratch, 'piles');
    mkdirSync(dir);
    const piles = ['.adapter_model.safetensors.4242.0123456789ab.tmp', '.adapter_model.safetensors.4243.ba9876543210.tmp', 'adapter_config.json.tmp-4242'];
    for (const name of [...piles, 'README.md']) writeFileSync(join(dir, name), 'x');
    await model(4).savePretrained(dir, { selectedAdapters: ['default'] });
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
  });

  test('selectedAdapters: each folder replaced on its own; a later save of the parent keeps the sub-folder', async () => {
    const dir = join(scratch, 'selected');
    await model(4).savePretrained(dir);
    expect([rOf(dir), rOf(join(dir, 'other'))]).toEqual([4, 5]);
    await model(8).savePretrained(dir, { selectedAdapters: ['default'] });
    expect([rOf(dir), rOf(join(dir, 'other'))]).toEqual([8, 5]);
    await model(2).savePretrained(dir, { selectedAdapters: ['other'] });
    expect([rOf(dir), rOf(join(dir, 'other'))]).toEqual([8, 3]);
    expect(readdirSync(scratch).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    const loaded = await PeftModel.fromPretrained(new Net(), join(dir, 'other'), { strict: true });
    expect(loaded.peftConfig.get('default')?.r).toBe(3);
    loaded.dispose();
  });

  test('an unknown adapter in selectedAdapters is an error naming it', async () => {
    await expect(model(4).savePretrained(join(scratch, 'unknown'), { selectedAdapters: ['nope'] })).rejects.toThrow(PeftError);
  });
});
