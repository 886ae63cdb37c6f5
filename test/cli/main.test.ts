// The command line's front door: usage, unknown commands and options, one-line errors, exit codes.
import { describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { captureIO } from './io.js';

async function run(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('node-peft', () => {
  test('without a command prints the usage and exits 2; --help exits 0', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/usage: node-peft <command>/);
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const command of ['demo', 'train', 'predict', 'merge', 'inspect', 'doctor']) expect(help.out).toContain(`  ${command}`);
  });

  test('an unknown command is named', async () => {
    const r = await run('fly');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe("node-peft: unknown command 'fly'");
  });

  test('a command with --help prints its usage', async () => {
    const r = await run('predict', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: node-peft predict --model DIR/);
  });

  test('a missing required option is one line naming it, then the usage; exit 2', async () => {
    const r = await run('predict', '--inputs', 'x.safetensors', '--out', 'y.safetensors');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('node-peft: predict: --model is required');
    expect(r.err).toContain('usage: node-peft predict');
  });

  test('an unknown option is named', async () => {
    const r = await run('merge', '--model', 'a', '--adapter', 'b', '--out', 'c', '--fast');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(/^node-peft: merge: Unknown option '--fast'/);
  });

  test('a folder that does not exist is named', async () => {
    const r = await run('inspect', '/nonexistent/adapter');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('node-peft: inspect: ADAPTER_DIR /nonexistent/adapter: no such folder');
  });

  test('train: a config file that does not exist, or a bad field, is one clear line', async () => {
    const missing = await run('train', '--config', '/nonexistent/train.json');
    expect(missing.code).toBe(2);
    expect(missing.err.split('\n')[0]).toBe('node-peft: train: --config /nonexistent/train.json: cannot read the file');
    const { parseTrainConfig } = await import('../../lib/cli/train-config.js');
    expect(() => parseTrainConfig('{"model":"m","output_dir":"o","lora":{},"data":{"train":"t"},"steps":0}', 'train.json'))
      .toThrow("train: train.json: 'steps' must be an integer >= 1, got 0");
    expect(() => parseTrainConfig('{"modle":"m"}', 'train.json')).toThrow("unknown field(s) 'modle'");
  });

  test('train.json "dtype": the base model\'s dtype (default auto); an unknown one names the accepted ones', async () => {
    const { parseTrainConfig } = await import('../../lib/cli/train-config.js');
    const json = (extra: string): string => `{"model":"m","output_dir":"o","lora":{},"data":{"train":"t"},"steps":1${extra}}`;
    expect(parseTrainConfig(json(''), 'train.json').dtype).toBe('auto');
    expect(parseTrainConfig(json(',"dtype":"bfloat16"'), 'train.json').dtype).toBe('bfloat16');
    expect(() => parseTrainConfig(json(',"dtype":"bf16"'), 'train.json'))
      .toThrow(`train: train.json: 'dtype': expected one of auto, float32, bfloat16, float16, float64, got "bf16"`);
    const fixtures = new URL('../fixtures/', import.meta.url).pathname;
    const r = await run('merge', '--model', `${fixtures}peft-golden/07_llama_two_named_adapters/base`, '--adapter', `${fixtures}bf16/lora/adapter`, '--out', '/nonexistent/out', '--dtype', 'half');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('node-peft: merge: --dtype: expected one of auto, float32, bfloat16, float16, float64, got "half"');
  });

  test('serve without --model is a usage error, exit 2', async () => {
    const r = await run('serve');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('node-peft: serve: --model is required');
  });

  test('bench --help prints the bench usage', async () => {
    const r = await run('bench', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: node-peft bench/);
  });

  test('runtime errors are one line, with the stack only under --debug', async () => {
    const plain = await run('demo', '--size', '7');
    expect(plain.code).toBe(2);
    expect(plain.err.split('\n')[0]).toBe('node-peft: demo: --size: expected an even number (the patch size is 2), got 7');
    const bad = await run('predict', '--model', 'test/fixtures', '--inputs', 'package.json', '--out', '/tmp/x.safetensors');
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toBe('node-peft: predict: --model test/fixtures: expected config.json in it');
  });

  test('doctor reports the LibTorch version and a working matmul', async () => {
    const r = await run('doctor', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as {
      libtorch: { version: string; source: string }; binary: { kind: string; path: string };
      devices: string[]; threads: number; cpuCache: boolean; matmulCheck: boolean;
    };
    expect(report.libtorch.version).toMatch(/^2\.\d+/);
    expect(report.libtorch.source).not.toBe('');
    expect(report.binary.path).toMatch(/node_peft\.node$/);
    expect(report.devices[0]).toBe('cpu');
    expect(report.threads).toBeGreaterThan(0);
    expect(report.cpuCache).toBe(process.env.NODE_PEFT_CPU_CACHE !== '0');
    expect(report.matmulCheck).toBe(true);
  });

  test('doctor reports the fp32 GEMM path in use and the GFLOP/s of each path', async () => {
    const r = await run('doctor', '--json');
    const { gemm } = JSON.parse(r.out) as { gemm: { path: string; shape: string; gflops: { mkl: number; onednn: number | null } } };
    expect(['mkl', 'onednn']).toContain(gemm.path);
    expect(gemm.shape).toBe('512x512x1376');
    expect(gemm.gflops.mkl).toBeGreaterThan(0);
    const text = await run('doctor');
    expect(text.out).toMatch(/^gemm {7}(MKL|oneDNN) for frozen fp32 Linear weights \(.+\); at 512x512x1376: MKL \d+ GFLOP\/s, oneDNN/m);
  });
});
