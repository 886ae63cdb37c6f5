// The CLI keeps an error's substance: adapters that do not fit are refused with their keys and shapes, a rank
// mismatch lists its size mismatches without --debug, paths named are the ones given, and merge will not
// overwrite its own base model unless told to.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { torch } from '../../lib/index.js';
import { saveSync } from '../../lib/serialization/index.js';
import { captureIO } from './io.js';

const GOLDEN = join('test', 'fixtures', 'peft-golden');
const LLAMA = join(GOLDEN, '07_llama_two_named_adapters');
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-cli-rel-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

function editedCopy(name: string, edit: (config: Record<string, unknown>) => void): string {
  const dir = join(scratch, name);
  cpSync(join(LLAMA, 'adapter', 'first'), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2));
  return dir;
}

const predictArgs = (adapter: string, out = join(scratch, 'out.safetensors')) =>
  ['predict', '--model', join(LLAMA, 'base'), '--adapter', adapter, '--inputs', join(LLAMA, 'inputs.safetensors'), '--out', out];

describe('adapters that do not fit the model', () => {
  test('edited target_modules: predict refuses, naming keys and shapes', async () => {
    const r = await run(...predictArgs(editedCopy('edited', (c) => { c.target_modules = ['k_proj', 'nonexistent']; })));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/StateDictError: adapter 'default' does not fit this model/);
    expect(r.err).toMatch(/q_proj\.lora_A\.weight \[\d+, \d+\]/);
    expect(r.err).toMatch(/k_proj\.lora_A\.weight \[\d+, \d+\]/);
  });

  test('a ViT adapter on a Llama: predict refuses', async () => {
    const r = await run(...predictArgs(join(GOLDEN, '01_vit_lora_classifier', 'adapter')));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/vit\.layers\.0\.attention\.[qv]_proj\.lora_A\.weight \[\d+, \d+\]/);
  });

  test('a rank mismatch prints its size-mismatch lines without --debug', async () => {
    const r = await run(...predictArgs(editedCopy('rank', (c) => { c.r = Number(c.r) * 2; })));
    expect(r.code).toBe(1);
    const lines = r.err.split('\n');
    expect(lines[0]).toMatch(/^node-peft predict: StateDictError: Error\(s\) in loading adapter 'default' \(\d+ size mismatches/);
    expect(lines[1]).toMatch(/^\tsize mismatch for base_model\.model\.model\.layers\.\d+\.self_attn\.[qv]_proj\.lora_A\.weight: copying a param with shape/);
    expect(r.err).not.toMatch(/    at /);
  });
});

describe('paths', () => {
  test('predict --out in a folder that does not exist names the path given, not a temporary file', async () => {
    const r = await run(...predictArgs(join(LLAMA, 'adapter', 'first'), '/nonexistent/x.safetensors'));
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe('node-peft predict: cannot write /nonexistent/x.safetensors: the folder /nonexistent does not exist');
  });

  test('merge --out equal to --model is refused unless --force', async () => {
    const model = join(scratch, 'base-copy');
    cpSync(join(LLAMA, 'base'), model, { recursive: true });
    const before = readFileSync(join(model, 'model.safetensors'));
    const refused = await run('merge', '--model', model, '--adapter', join(LLAMA, 'adapter', 'first'), '--out', `${model}/`);
    expect(refused.code).toBe(2);
    expect(refused.err.split('\n')[0]).toMatch(/^node-peft: merge: --out .* is the --model folder: the base model would be overwritten; give another --out, or --force$/);
    expect(readFileSync(join(model, 'model.safetensors')).equals(before)).toBe(true);
    const forced = await run('merge', '--model', model, '--adapter', join(LLAMA, 'adapter', 'first'), '--out', model, '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(join(model, 'model.safetensors')).equals(before)).toBe(false);
    expect(readdirSync(scratch).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('train into the output_dir of an earlier run', () => {
  test('is refused without resume or overwrite_output_dir, before anything is loaded', async () => {
    const out = join(scratch, 'run');
    cpSync(join(LLAMA, 'adapter', 'first'), join(out, 'adapter'), { recursive: true });
    const config = { model: resolve(LLAMA, 'base'), output_dir: out, lora: { r: 2 }, data: { train: resolve(LLAMA, 'inputs.safetensors') }, steps: 1 };
    writeFileSync(join(scratch, 'train.json'), JSON.stringify(config));
    const r = await run('train', '--config', join(scratch, 'train.json'), '--no-progress');
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toMatch(/output folder .*run is not empty \(adapter\); resume the run there \(resume: true\), choose another folder, or pass .*"overwrite_output_dir": true/);
    writeFileSync(join(scratch, 'train.json'), JSON.stringify({ ...config, overwrite_output_dir: 'yes' }));
    expect((await run('train', '--config', join(scratch, 'train.json'))).err.split('\n')[0]).toMatch(/'overwrite_output_dir' must be true or false, got "yes"/);
  });
});

describe('output piped into a reader that stops early', () => {
  test('inspect … | head ends quietly, without an EPIPE stack trace', async () => {
    // Enough tensors that the listing outgrows the pipe's buffer, so the writer is still writing when head exits.
    const adapter = join(scratch, 'many');
    cpSync(join(LLAMA, 'adapter', 'first'), adapter, { recursive: true });
    const tensors = Object.fromEntries(Array.from({ length: 4000 }, (_, k) => [`base_model.model.layer_${k}.lora_A.weight`, torch.zeros([1, 1])]));
    saveSync(join(adapter, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    for (const t of Object.values(tensors)) t.dispose();
    const { stdout, stderr } = await promisify(execFile)('/bin/sh', ['-c', `"${process.execPath}" bin/node-peft.js inspect "${adapter}" | head -n 2`]);
    expect(stdout.split('\n')[0]).toBe(`adapter ${adapter}`);
    expect(stderr).toBe('');
  });
});
