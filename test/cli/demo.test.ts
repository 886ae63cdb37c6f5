// A short demo run (tiny step counts): every stage runs, the files are written, and the separate serving
// process gives exactly the trainer's logits. Needs the built CLI (npm run setup), as the demo spawns it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { readAdapterConfig } from '../../lib/peft/index.js';
import { loadSync } from '../../lib/serialization/index.js';
import { captureIO } from './io.js';

const out = mkdtempSync(join(tmpdir(), 'node-peft-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('demo', () => {
  test('a smoke run writes every stage and the serving process agrees exactly', async () => {
    const io = captureIO();
    const code = await main(['demo', '--out', out, '--pretrain-steps', '6', '--finetune-steps', '4', '--no-progress'], io);
    expect(io.stderr.filter((line) => !line.startsWith('eval at step'))).toEqual([]);
    expect(code).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/accuracy at 16x16 after LoRA: +\d+\.\d\d%/);
    expect(text).toMatch(/accuracy in the serving process: +\d+\.\d\d% \(logits identical: max diff 0\)/);
    const after = /after LoRA: +([\d.]+)%/.exec(text)?.[1];
    const serving = /serving process: +([\d.]+)%/.exec(text)?.[1];
    expect(serving).toBe(after);
    for (const path of ['base-8px/config.json', 'base-8px/model.safetensors', 'base-16px/model.safetensors', 'adapter/adapter_model.safetensors', 'plots.html']) {
      expect(existsSync(join(out, path)), path).toBe(true);
    }
    const config = await readAdapterConfig(join(out, 'adapter'));
    expect(config.modules_to_save).toEqual(['classifier', 'position_embeddings']);
    expect(loadSync(join(out, 'adapter', 'adapter_model.safetensors'))['base_model.model.vit.embeddings.position_embeddings'].shape).toEqual([1, 65, 64]);
    expect(JSON.parse(readFileSync(join(out, 'base-16px', 'config.json'), 'utf8')).image_size).toBe(16);
    expect(readFileSync(join(out, 'plots.html'), 'utf8').match(/<svg/g)?.length).toBe(4);
  });
});
