// The server loads adapters strictly: one that does not fit the model is a 400 naming keys and shapes (never a
// 201 with LoRA weights left at their initial values), and the model keeps answering as before.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { CASE_01, CASE_10, get, nested, post } from './helpers.js';

let server: RunningServer;
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-serve-strict-'));
const FIRST = join(CASE_10, 'adapter', 'first');

beforeAll(async () => {
  server = await serve({ model: join(CASE_10, 'base'), adapters: [['first', FIRST]] });
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

function editedCopy(name: string, edit: (config: Record<string, unknown>) => void): string {
  const dir = join(scratch, name);
  cpSync(FIRST, dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  return dir;
}

const inputs = () => ({ input_ids: nested(join(CASE_10, 'inputs.safetensors')).input_ids });

describe('POST /v1/adapters loads strictly', () => {
  test('a ViT adapter into a Llama server: 400 naming its keys and shapes; answers stay the same', async () => {
    const before = await post(`${server.url}/v1/predict`, { adapter: 'first', inputs: inputs() });
    const reply = await post(`${server.url}/v1/adapters`, { name: 'vit', path: join(CASE_01, 'adapter') });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/does not fit this model.*vit\.layers\.0\.attention\.[qv]_proj\.lora_A\.weight \[\d+, \d+\]/);
    expect((await get(`${server.url}/v1/adapters`)).body).toMatchObject({ adapters: [{ name: 'first' }] });
    const after = await post(`${server.url}/v1/predict`, { adapter: 'first', inputs: inputs() });
    expect(after.body.logits).toEqual(before.body.logits);
  });

  test('target_modules edited to drop q/v: 400', async () => {
    const reply = await post(`${server.url}/v1/adapters`, { name: 'edited', path: editedCopy('edited', (c) => { c.target_modules = ['k_proj', 'nonexistent']; }) });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/q_proj\.lora_A\.weight \[\d+, \d+\].*k_proj\.lora_A\.weight \[\d+, \d+\]/);
  });

  test('a rank mismatch: the size-mismatch lines are in the message', async () => {
    const reply = await post(`${server.url}/v1/adapters`, { name: 'rank', path: editedCopy('rank', (c) => { c.r = Number(c.r) * 2; }) });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/size mismatches.*size mismatch for base_model\.model\.model\.layers\.\d+\.self_attn\.[qv]_proj\.lora_A\.weight: copying a param with shape \[\d+, \d+\]/);
  });
});
