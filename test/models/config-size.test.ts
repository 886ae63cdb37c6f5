// A config.json that describes a model far larger than the weights beside it is refused before anything is
// allocated (a mutated or hostile config must not make the process allocate gigabytes).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { models, torch, TorchError } from '../../lib/index.js';
import { checkpointBytes, estimatedParameters } from '../../lib/models/config-size.js';
import { FIXTURES, GOLDEN_SETS, goldenCases } from '../peft/golden.js';

const scratch = mkdtempSync(join(tmpdir(), 'node-peft-config-size-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const LLAMA = join(FIXTURES, 'peft-golden', '03_llama_all_linear_rslora', 'base');

function withConfig(name: string, edit: (config: Record<string, unknown>) => void): string {
  const dir = join(scratch, name);
  cpSync(LLAMA, dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('config.json against its weights', () => {
  test.each([
    ['intermediate_size', 200_000_000],
    ['num_hidden_layers', 1_000_000],
    ['vocab_size', 4_000_000_000],
    ['max_position_embeddings', 2 ** 40],
  ])('%s = %d is refused before the model is built', async (field, value) => {
    const dir = withConfig(field, (c) => { c[field] = value; });
    const error = await models.fromPretrained(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchError);
    expect((error as Error).message).toMatch(/describes a model of about \d+ MiB of parameters, but its weight files hold [\d.]+ MiB/);
  });

  test('every fixture model\'s config is within the estimate of its weights', () => {
    for (const set of GOLDEN_SETS) {
      for (const caseName of goldenCases(set)) {
        const dir = join(FIXTURES, set, caseName, 'base');
        const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        const ratio = (4 * estimatedParameters(config)) / checkpointBytes(dir);
        expect(ratio, `${set}/${caseName}`).toBeGreaterThan(0.25);
        expect(ratio, `${set}/${caseName}`).toBeLessThan(4);
      }
    }
  });

  test('a config that fails while the model is built (a bad hidden_act) leaks no tensor (found by the fuzzer)', async () => {
    const dir = withConfig('bad-act', (c) => { c.hidden_act = '../../etc/passwd'; });
    const live = torch.liveTensors();
    await expect(models.fromPretrained(dir)).rejects.toThrow(TorchError);
    expect(torch.liveTensors()).toBe(live);
  });
});
