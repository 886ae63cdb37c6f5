// Generation with LoRA adapters per batch row (PEFT's generate(adapter_names=...)): each row of a mixed-adapter
// batch gets the tokens it gets generated alone with its adapter (or with none), through the grouped LoRA path.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, PeftModel, safetensors, torch } from '../../lib/index.js';
import { FIXTURES } from './helpers.js';

const caseDir = join(FIXTURES, 'models/llama_tied_sharded_generate');
let peft: PeftModel<models.LlamaForCausalLM>;
let prompt: { input_ids: torch.Tensor; attention_mask: torch.Tensor };
const ADAPTERS = ['first', 'second'];

beforeAll(async () => {
  const base = await models.fromPretrained<models.LlamaForCausalLM>(caseDir);
  torch.manualSeed(3);
  // init_lora_weights false: B is drawn too, so each adapter changes the output
  const config = () => new LoraConfig({ r: 4, lora_alpha: 16, init_lora_weights: false, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
  peft = getPeftModel(base, config(), ADAPTERS[0]);
  peft.addAdapter(ADAPTERS[1], config());
  const loaded = await safetensors.load(join(caseDir, 'inputs.safetensors'));
  // three rows: the fixture's two (the first left-padded) and the second again
  prompt = {
    input_ids: torch.cat([loaded.input_ids, loaded.input_ids.slice(0, 1)], 0),
    attention_mask: torch.cat([loaded.attention_mask, loaded.attention_mask.slice(0, 1)], 0),
  };
});
afterAll(() => peft.model.dispose());

const rows = (t: torch.Tensor): number[][] => t.toList() as number[][];

/** Row `row` of the prompt generated alone, with adapter `name` active (or the base model for '__base__'). */
function solo(row: number, name: string): number[] {
  const one = { input_ids: prompt.input_ids.slice(0, row, row + 1), attention_mask: prompt.attention_mask.slice(0, row, row + 1) };
  const run = () => models.generate(peft, one, { maxNewTokens: 12 });
  if (name !== '__base__') peft.setAdapter(name);
  const out = name === '__base__' ? peft.disableAdapter(run) : run();
  return rows(out)[0];
}

describe('generate with adapterNames', () => {
  it('gives every row of a mixed batch the tokens it gets alone with its adapter', () => {
    const names = ['second', '__base__', 'first'];
    const mixed = rows(models.generate(peft, prompt, { maxNewTokens: 12, adapterNames: names }));
    const alone = names.map((name, row) => solo(row, name));
    expect(mixed).toEqual(alone);
    // the adapters matter: the same prompt row continues differently under each
    expect(solo(2, 'first')).not.toEqual(solo(2, 'second'));
  });

  it('streams the same tokens as generateIds', () => {
    const names = ['first', 'second', 'first'];
    const stepped: number[][] = [[], [], []];
    for (const { tokens } of models.generateSteps(peft, prompt, { maxNewTokens: 6, adapterNames: names })) tokens.forEach((t, row) => stepped[row].push(t));
    const ids = rows(models.generate(peft, prompt, { maxNewTokens: 6, adapterNames: names }));
    expect(ids.map((r) => r.slice(-6))).toEqual(stepped);
  });

  it('frees every tensor it makes but the result', () => {
    const before = torch.liveTensors();
    const out = models.generate(peft, prompt, { maxNewTokens: 5, adapterNames: ['first', 'second', 'second'] });
    expect(torch.liveTensors()).toBe(before + 1);
    out.dispose();
  });

  it('names what is wrong with adapterNames', () => {
    expect(() => models.generate(peft, prompt, { adapterNames: ['first'] })).toThrow(/adapterNames has 1 names for a batch of 3 rows/);
    expect(() => models.generate(peft, prompt, { adapterNames: 'first' as unknown as string[] })).toThrow(/adapterNames must be a list of adapter names/);
    expect(() => models.generate(peft, prompt, { adapterNames: ['first', 'nope', 'first'] })).toThrow(/non-existing adapter\(s\): nope/);
  });
});
