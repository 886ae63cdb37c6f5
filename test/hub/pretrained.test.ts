// fromPretrained('org/name') for models, tokenizers and adapters, through a loopback Hub.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, models, PeftModel, safetensors, type Tensor } from '../../lib/index.js';
import { startHubServer, type HubServer } from './hub-server.js';

const FIXTURES = resolve(__dirname, '..', 'fixtures');
const CASE = join(FIXTURES, 'peft-golden', '03_llama_all_linear_rslora');
let server: HubServer;
let cache: string;

beforeAll(async () => {
  server = await startHubServer([
    { id: 'tiny/llama', dir: join(CASE, 'base'), commit: '1'.repeat(40) },
    { id: 'tiny/llama-lora', dir: join(CASE, 'adapter'), commit: '2'.repeat(40) },
    { id: 'tiny/llama-sharded', dir: join(FIXTURES, 'models', 'llama_tied_sharded_generate'), commit: '3'.repeat(40) },
    { id: 'tiny/qwen2', dir: join(FIXTURES, 'text', 'qwen2'), commit: '4'.repeat(40) },
  ]);
  cache = mkdtempSync(join(tmpdir(), 'hub-pretrained-'));
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = server.url;
});

afterAll(async () => {
  await server.close();
  rmSync(cache, { recursive: true, force: true });
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_ENDPOINT;
});

const logitsOf = (model: { forward(inputs: object): unknown }, inputIds: Tensor): Tensor =>
  (model.forward({ input_ids: inputIds }) as { logits: Tensor }).logits;

describe("fromPretrained('org/name')", () => {
  it('loads a base model and a PEFT adapter by repo id, with the logits PEFT computed', async () => {
    const base = await models.fromPretrained('tiny/llama');
    const peft = await PeftModel.fromPretrained(base, 'tiny/llama-lora');
    const inputs = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const diff = logitsOf(peft, inputs.input_ids!).sub(expected.logits_peft!).abs().max().item();
    expect(diff).toBeLessThan(1e-4);
  });

  it('loads a sharded model by repo id, the same as from its folder', async () => {
    const fromHub = await models.fromPretrained('tiny/llama-sharded');
    const fromDir = await models.fromPretrained(join(FIXTURES, 'models', 'llama_tied_sharded_generate'));
    const hubWeights = Object.fromEntries(fromHub.namedParameters());
    for (const [name, parameter] of fromDir.namedParameters()) {
      expect(hubWeights[name]!.sub(parameter).abs().max().item(), name).toBe(0);
    }
  });

  it('loads a tokenizer by repo id and revision', async () => {
    const tokenizer = await AutoTokenizer.fromPretrained('tiny/qwen2', { revision: '4'.repeat(40) });
    expect(tokenizer.eosTokenIds).toEqual([442, 440]);
    expect(tokenizer.decode(tokenizer.encode('Café 😀'))).toBe('Café 😀');
  });
});
