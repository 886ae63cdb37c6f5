// W7-serve (Node only): `node-peft serve` under load over loopback. The W1 model (random, seed 0) with 8 LoRA
// adapters (r=16 on q/k/v/o, B non-zero) in an adapter root; a bounded client (32 concurrent) where each
// request names one adapter or the base model and streams 32 tokens from a 32-token prompt through
// /v1/completions. The same build with --max-num-seqs 1 (one request at a time) is the sequential baseline.
// /health is polled throughout. A word-level tokenizer (w0..w7999) gives every token a word, so streams carry text.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '../../tensor/runtime.js';
import { buildLlama, LLAMA, llamaWithLora, randomizeAdapter } from '../models.js';
import { packageRoot } from '../paths.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { median } from '../timing.js';

const ADAPTERS = 8;
const CONCURRENCY = 32;
const PROMPT_TOKENS = 32;
const NEW_TOKENS = 32;
const ROUNDS = 2;

async function writeModel(dir: string): Promise<void> {
  manualSeed(0);
  const base = buildLlama();
  await base.savePretrained(join(dir, 'base'));
  const vocab = Object.fromEntries(Array.from({ length: LLAMA.vocab }, (_, i) => [`w${i}`, i]));
  await writeFile(join(dir, 'base', 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null, decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordPiece', unk_token: 'w0', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }));
  await writeFile(join(dir, 'base', 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast' }));
  const peft = llamaWithLora(base);
  for (let i = 0; i < ADAPTERS; i++) {
    if (i > 0) randomizeAdapter(peft, 'default');
    await peft.savePretrained(join(dir, 'adapters', `ad${i}`));
  }
  peft.dispose();
}

interface RunningServe {
  url: string;
  child: ChildProcess;
}

async function startServe(dir: string, threads: number, extra: string[]): Promise<RunningServe> {
  const args = [join(packageRoot(), 'bin', 'node-peft.js'), 'serve', '--model', join(dir, 'base'), '--adapter-root', join(dir, 'adapters'),
    '--port', '0', '--max-loaded-adapters', String(ADAPTERS), '--request-timeout-s', '0', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_PEFT_THREADS: String(threads) } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await Promise.race([
    once(child.stdout!, 'data').then(([line]) => (line as Buffer).toString().trim()),
    once(child, 'exit').then(() => {
      throw new Error(`node-peft serve exited before serving:\n${stderr}`);
    }),
  ]);
  return { url, child };
}

interface RequestTiming {
  latencyMs: number;
  ttftMs: number;
  tokens: number;
}

/** One streamed completion; its latency, time to first token and completion tokens. */
async function complete(url: string, model: string, prompt: string): Promise<RequestTiming> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: NEW_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) throw new Error(`W7: ${response.status} ${await response.text()}`);
  let ttft = -1;
  let tokens = 0;
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += Buffer.from(chunk).toString();
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const event = buffered.slice(6, end); // after 'data: '
      buffered = buffered.slice(end + 2);
      if (event === '[DONE]') continue;
      const parsed = JSON.parse(event) as { choices: { text: string }[]; usage?: { completion_tokens: number } | null };
      if (ttft < 0 && parsed.choices[0]?.text) ttft = performance.now() - started;
      if (parsed.usage) tokens = parsed.usage.completion_tokens;
    }
  }
  return { latencyMs: performance.now() - started, ttftMs: ttft, tokens };
}

/** `requests` requests from CONCURRENCY clients; /health polled every 20 ms meanwhile. */
async function load(url: string, requests: number): Promise<{ seconds: number; timings: RequestTiming[]; healthMs: number[] }> {
  const timings: RequestTiming[] = [];
  const healthMs: number[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      await (await fetch(`${url}/health`)).text();
      healthMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests) {
      const i = next++;
      const model = i % (ADAPTERS + 1) === ADAPTERS ? 'base' : `ad${i % (ADAPTERS + 1)}`;
      const prompt = Array.from({ length: PROMPT_TOKENS }, (_, j) => `w${(i * 131 + j * 17) % LLAMA.vocab}`).join(' ');
      timings.push(await complete(url, model, prompt));
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await poll;
  return { seconds, timings, healthMs };
}

const pct = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
};
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

export async function serveWorkload(ctx: WorkloadContext): Promise<BenchFields> {
  const dir = await mkdtemp(join(tmpdir(), 'node-peft-w7-'));
  const threads = Number(process.env.NODE_PEFT_THREADS ?? 0) || 2;
  try {
    await writeModel(dir);
    const requests = ctx.steps * 20; // --steps 20 = W7's 400
    const sequentialRequests = Math.max(16, Math.ceil(requests / 6));
    // both servers run side by side (an idle one costs nothing) and their loads alternate in ROUNDS, so that a
    // shared machine's drift falls on both sides alike
    const batched = await startServe(dir, threads, ['--max-num-seqs', String(CONCURRENCY)]);
    const sequential = await startServe(dir, threads, ['--max-num-seqs', '1']).catch(async (error: unknown) => {
      batched.child.kill('SIGTERM');
      throw error;
    });
    const w7 = { seconds: 0, timings: [] as RequestTiming[], healthMs: [] as number[] };
    const seq = { seconds: 0, timings: [] as RequestTiming[], healthMs: [] as number[] };
    try {
      await load(batched.url, CONCURRENCY); // warm-up: every adapter loaded once
      await load(sequential.url, ADAPTERS + 1);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [url, total, into] of [[batched.url, requests, w7], [sequential.url, sequentialRequests, seq]] as const) {
          const part = await load(url, Math.ceil(total / ROUNDS));
          into.seconds += part.seconds;
          into.timings.push(...part.timings);
          into.healthMs.push(...part.healthMs);
        }
      }
    } finally {
      for (const server of [batched, sequential]) {
        server.child.kill('SIGTERM');
        await once(server.child, 'exit');
      }
    }
    const tokens = w7.timings.reduce((s, t) => s + t.tokens, 0);
    const seqTokens = seq.timings.reduce((s, t) => s + t.tokens, 0);
    const latencies = w7.timings.map((t) => t.latencyMs);
    const ttfts = w7.timings.map((t) => t.ttftMs);
    return {
      workload: 'W7-serve',
      requests: w7.timings.length, concurrency: CONCURRENCY, adapters: ADAPTERS,
      requests_per_s: round(w7.timings.length / w7.seconds, 2),
      tokens_per_s: round(tokens / w7.seconds),
      p50_ms: round(pct(latencies, 50)), p99_ms: round(pct(latencies, 99)), p99_over_p50: round(pct(latencies, 99) / pct(latencies, 50), 2),
      ttft_p50_ms: round(pct(ttfts, 50)), ttft_p99_ms: round(pct(ttfts, 99)),
      health_p50_ms: round(median(w7.healthMs), 2), health_max_ms: round(Math.max(...w7.healthMs), 2),
      sequential_requests: seq.timings.length, sequential_tokens_per_s: round(seqTokens / seq.seconds),
      sequential_p50_ms: round(pct(seq.timings.map((t) => t.latencyMs), 50)),
      speedup_vs_sequential: round(tokens / w7.seconds / (seqTokens / seq.seconds), 2),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
