// Data-parallel training on c10d (Gloo over loopback): the sampler's index math, the equivalence of N ranks with
// batch B to one process with batch N·B, and failures (a rank that dies or hangs) surfacing as errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, launch } from '../../lib/cli/launch.js';
import { models, torch } from '../../lib/index.js';
import { loadSync, saveSync } from '../../lib/serialization/index.js';
import { distributedAvailable } from '../../lib/tensor/distributed.js';
import { shardOf } from '../../lib/train/data-loader.js';

const BIN = resolve('bin/node-peft.js');
const dir = mkdtempSync(join(tmpdir(), 'node-peft-ddp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(argv: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...argv], { env: { ...process.env, NODE_PEFT_THREADS: '1', ...env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<Exit>((done) => child.once('exit', (code, signal) => done({ code, signal, stdout, stderr })));
  return { child, exit };
}

function writeConfig(name: string, fields: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({
    model: 'llama', lora: { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }, data: { train: 'tokens.safetensors' },
    learning_rate: 0.01, seed: 3, log_every: 1, max_grad_norm: 0.5, ...fields,
  }));
  return path;
}

async function untilFile(path: string, predicate: (text: string) => boolean): Promise<void> {
  while (!existsSync(path) || !predicate(readFileSync(path, 'utf8'))) await new Promise((r) => setTimeout(r, 100));
}

describe('the distributed sampler (DistributedSampler index math)', () => {
  const perm = [4, 1, 7, 5, 3, 9, 0, 8, 6, 2];
  test('rank r takes positions r, r+W, … of the padded order', () => {
    expect([0, 1].map((r) => shardOf(perm, r, 2))).toEqual([[4, 7, 3, 0, 6], [1, 5, 9, 8, 2]]);
    expect([0, 1, 2].map((r) => shardOf(perm, r, 3))).toEqual([[4, 5, 0, 2], [1, 3, 8, 4], [7, 9, 6, 1]]);
    expect([0, 1, 2, 3].map((r) => shardOf(perm, r, 4))).toEqual([[4, 3, 6], [1, 9, 2], [7, 0, 4], [5, 8, 1]]);
    expect(shardOf([0, 1, 2, 3, 4, 5, 6], 1, 2)).toEqual([1, 3, 5, 0]);
    expect(shardOf(perm, 0, 1)).toEqual(perm);
  });
});

describe.runIf(distributedAvailable())('data-parallel training over Gloo', () => {
  beforeAll(async () => {
    torch.manualSeed(0);
    const base = new models.LlamaForCausalLM({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 64, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', tie_word_embeddings: false,
    });
    await base.savePretrained(join(dir, 'llama'));
    base.dispose();
    const ids = torch.randint(0, 64, [16, 12]);
    saveSync(join(dir, 'tokens.safetensors'), { input_ids: ids, labels: ids.clone() });
    ids.dispose();
  });

  test('process-group collectives across 2 processes, and clear errors for misuse', async () => {
    const port = await freePort();
    const script = resolve('test/fixtures/distributed/collectives.mjs');
    const ranks = [0, 1].map((rank) => {
      const env = { ...process.env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), NODE_PEFT_THREADS: '1' };
      const child = spawn(process.execPath, [script], { env, stdio: 'pipe' });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      return new Promise<Record<string, unknown>>((done) => child.once('exit', () => done(JSON.parse(stdout) as Record<string, unknown>)));
    });
    const results = await Promise.all(ranks);
    for (const out of results) {
      expect(out.sum).toEqual([[3, 30], [11]]); // float32 and int64 in separate buckets
      expect(out.avg).toEqual([3, -0.5]);
      expect(out.avgOfIntegers).toBe("allReduce: 'avg' needs floating-point tensors; tensor 0 is int64");
      expect(out.max).toEqual([1, 0]);
      expect(out.broadcast).toEqual([[8, 8, 8], [8, 8, 8]]);
      expect(out.gather).toEqual([[0, 0], [1, 1]]);
      expect(out.afterDestroy).toBe('ProcessGroup was used after destroy()');
    }
    expect(() => torch.distributed.ProcessGroup.init({ rank: 2, worldSize: 2 })).toThrow('ProcessGroup: rank: expected an integer in 0..1, got 2');
    expect(() => torch.distributed.ProcessGroup.fromEnv({})).toThrow(/RANK is not set/);
  });

  test('2 ranks with batch_size B end with the adapter of 1 process with batch_size 2B', async () => {
    const single = start(['train', '--config', writeConfig('single.json', { output_dir: 'single', steps: 6, batch_size: 4 }), '--no-progress']);
    const one = await single.exit;
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const parallel = start(['train', '--config', writeConfig('ddp.json', { output_dir: 'ddp', steps: 6, batch_size: 2 }), '--no-progress', '--nproc', '2']);
    const two = await parallel.exit;
    expect(two.stderr).toBe('');
    expect(two.code).toBe(0);
    expect(two.stdout).toMatch(/on 2 ranks \(global batch 4; 0\.\d+ MiB of gradients all-reduced per step\)/);

    const a = loadSync(join(dir, 'single', 'adapter', 'adapter_model.safetensors'));
    const b = loadSync(join(dir, 'ddp', 'adapter', 'adapter_model.safetensors'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    let worst = 0;
    for (const key of Object.keys(a)) worst = Math.max(worst, a[key].sub(b[key]).abs().max().item());
    expect(worst).toBeLessThanOrEqual(1e-5);
    // Training moved the adapter (B starts at zero), so the comparison is not of two untouched adapters.
    expect(a['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight'].abs().max().item()).toBeGreaterThan(1e-3);
    const losses = (name: string) => readFileSync(join(dir, name, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
    const [l1, l2] = [losses('single'), losses('ddp')];
    expect(l2).toHaveLength(6); // only rank 0 writes metrics: one line per step, not two
    l1.forEach((loss, i) => expect(Math.abs(loss - l2[i])).toBeLessThan(1e-5));
  });

  async function twoRanks(name: string, timeoutMs: number) {
    const port = await freePort();
    const config = writeConfig(`${name}.json`, { output_dir: name, steps: 100_000, batch_size: 2, checkpoint_every: 100_000 });
    const env = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), NODE_PEFT_DIST_TIMEOUT_MS: String(timeoutMs) });
    const ranks = [0, 1].map((rank) => start(['train', '--config', config, '--no-progress'], env(rank)));
    await untilFile(join(dir, name, 'metrics.jsonl'), (text) => text.split('\n').length > 3);
    return ranks;
  }

  test('a rank that dies makes the other exit with an error', async () => {
    const [rank0, rank1] = await twoRanks('killed', 600_000);
    rank1.child.kill('SIGKILL');
    const survivor = await rank0.exit;
    expect(survivor.code).not.toBe(0);
    expect(survivor.stderr).toMatch(/rank 0 of 2: (allReduce|broadcast) failed: .*another rank has exited or stopped answering/);
    expect(survivor.stderr).not.toMatch(/\n\s+at /); // one clear line, no stack trace
  });

  test('a rank that hangs makes the other exit with a timeout error', async () => {
    const [rank0, rank1] = await twoRanks('hung', 3000);
    rank1.child.kill('SIGSTOP');
    const survivor = await rank0.exit;
    rank1.child.kill('SIGKILL');
    expect(survivor.code).not.toBe(0);
    expect(survivor.stderr).toMatch(/rank 0 of 2: allReduce failed: no answer from the other ranks within 3000 ms/);
  });

  test('the launcher stops the other ranks when one fails, and names it', async () => {
    const script = join(dir, 'rank.mjs');
    writeFileSync(script, "if (process.env.RANK === '1') { console.error('rank 1 cannot go on'); process.exit(3); } setInterval(() => {}, 1000);");
    const lines: string[] = [];
    const code = await launch({ nproc: 2, argv: [], entry: script, err: (line) => lines.push(line), killAfterMs: 2000 });
    expect(code).toBe(3);
    expect(lines.join('\n')).toContain('rank 1 of 2 exited with code 3');
  });
});
