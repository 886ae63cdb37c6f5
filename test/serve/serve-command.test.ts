// `node-peft serve`: argument errors in-process; the real executable (bin/node-peft.js, needs `npm run setup`)
// prints its URL, serves, and on SIGTERM answers the request in flight before it exits 0.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { parseServeArgs } from '../../lib/cli/serve-command.js';
import { captureIO } from '../cli/io.js';
import { CASE_10, get, post } from './helpers.js';

const BIN = join(__dirname, '..', '..', 'bin', 'node-peft.js');
const FIRST = join(CASE_10, 'adapter', 'first');

describe('node-peft serve arguments', () => {
  test('defaults: loopback, port 8080, a 2 ms batch window', () => {
    expect(parseServeArgs(['--model', join(CASE_10, 'base'), '--adapter', `first=${FIRST}`])).toEqual({
      model: join(CASE_10, 'base'), adapters: [['first', FIRST]], port: 8080, host: '127.0.0.1',
      batchWindowMs: 2, maxBatchRows: 64, maxBodyBytes: 16 * 1024 * 1024, adapterRoot: undefined, maxLoadedAdapters: undefined,
      apiKey: undefined, servedModelName: undefined, maxNumSeqs: 32, maxPrefillTokens: 256, kvCacheTokens: undefined,
      maxQueuedRequests: 256, requestTimeoutMs: 600_000,
    });
  });

  test.each([
    [['--model', '/nonexistent'], 'node-peft: serve: --model /nonexistent: no such folder'],
    [['--model', join(CASE_10, 'base'), '--port', 'http'], "node-peft: serve: --port: expected an integer >= 0, got 'http'"],
    [['--model', join(CASE_10, 'base'), '--adapter', join(CASE_10, 'base')], `node-peft: serve: --adapter ${join(CASE_10, 'base')}: expected adapter_config.json in it`],
  ])('%j is a usage error', async (argv, message) => {
    const io = captureIO();
    expect(await main(['serve', ...argv], io)).toBe(2);
    expect(io.stderr[0]).toBe(message);
  });
});

describe('bin/node-peft.js serve', () => {
  test('prints its URL, serves, and stops gracefully on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--model', join(CASE_10, 'base'), '--adapter', `first=${FIRST}`, '--port', '0'], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const url = await Promise.race([
        once(child.stdout, 'data').then(([line]) => (line as Buffer).toString().trim()),
        once(child, 'exit').then(([code]) => {
          throw new Error(`node-peft serve exited with code ${String(code)} before printing its URL:\n${stderr}`);
        }),
      ]);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await get(`${url}/health`)).body).toEqual({ status: 'ok', model: 'LlamaForCausalLM', adapters: 1, generating: 0 });

      const inFlight = post(`${url}/v1/generate`, { adapter: 'first', input_ids: [3, 4, 5], max_new_tokens: 40, stop: [] });
      await new Promise((resolve) => setTimeout(resolve, 20));
      child.kill('SIGTERM');
      const [reply, [code]] = await Promise.all([inFlight, once(child, 'exit')]);
      expect(reply.status).toBe(200);
      expect(reply.body.tokens).toHaveLength(40);
      expect(code).toBe(0);
      expect(stderr).toMatch(/adapters: first\n/);
      expect(stderr).toMatch(/SIGTERM: stopping[^\n]*\nnode-peft serve: stopped\n$/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
