// Serving with lib/serve: a base model loaded once, a LoRA adapter loaded next to it, predict requests over HTTP
// (each names its adapter, or null for the base model), batched when they arrive together.
//
//   node dist/examples/serve.js [--case DIR] [--requests N] [--clients N] [--batch-window-ms N] [--port N]
//
// --case is a folder laid out like test/fixtures/peft-golden/<case>/ (base/, adapter/, inputs.safetensors); the
// default is golden case 01, a small ViT classifier. The example sends itself --requests predict requests
// (default 200) from --clients concurrent clients (default 8), half with the adapter and half on the base model,
// prints the latency percentiles (and the server's request counters from GET /metrics), and exits.
// With --requests 0 it serves until Ctrl-C (SIGINT) or SIGTERM, e.g.
//   curl -s http://127.0.0.1:PORT/v1/predict -d '{"adapter": "digits", "inputs": {"pixel_values": [[[[...]]]]}}'
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { safetensors } from '../lib/index.js';
import { percentile, serve } from '../lib/serve/index.js';

/** The package root: two levels above dist/examples/serve.js (one above examples/serve.ts). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: join(packageRoot(), 'test', 'fixtures', 'peft-golden', '01_vit_lora_classifier') },
    requests: { type: 'string', default: '200' },
    clients: { type: 'string', default: '8' },
    'batch-window-ms': { type: 'string', default: '2' },
    port: { type: 'string', default: '0' },
  },
});
const caseDir = resolve(values.case);
const requests = Number(values.requests);
const clients = Math.max(1, Number(values.clients));

const server = await serve({
  model: join(caseDir, 'base'),
  adapters: [['digits', join(caseDir, 'adapter')]],
  port: Number(values.port),
  batchWindowMs: Number(values['batch-window-ms']),
  log: (line) => console.error(line),
});
console.log(`serving ${server.worker.info.architecture} from ${caseDir} with adapter 'digits' on ${server.url}`);

if (requests === 0) {
  console.log('stop with Ctrl-C');
  await new Promise((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
} else {
  // the case's inputs, one row per request, as JSON nested arrays
  const tensors = await safetensors.load(join(caseDir, 'inputs.safetensors'));
  const [key, batch] = Object.entries(tensors)[0];
  const rows = batch.toList() as unknown[];
  for (const t of Object.values(tensors)) t.dispose();

  const latencies: number[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < requests) {
      const i = next++;
      const body = JSON.stringify({ adapter: i % 2 === 0 ? 'digits' : null, inputs: { [key]: [rows[i % rows.length]] } });
      const started = performance.now();
      const reply = await fetch(`${server.url}/v1/predict`, { method: 'POST', body });
      const json = (await reply.json()) as { logits?: number[][]; error?: string };
      latencies.push(performance.now() - started);
      if (!reply.ok) throw new Error(`request ${i}: ${reply.status} ${json.error}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const ms = (p: number): string => percentile(latencies, p).toFixed(2);
  console.log(`${requests} predict requests from ${clients} clients in ${seconds.toFixed(2)} s (${(requests / seconds).toFixed(0)} requests/s)`);
  console.log(`latency seen by the clients: p50 ${ms(50)} ms, p95 ${ms(95)} ms, max ${ms(100)} ms`);
  console.log(metrics.split('\n').filter((line) => line.startsWith('nodepeft_http_requests_total')).join('\n'));
}
await server.close();
