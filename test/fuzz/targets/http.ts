// The request-body parsers of the server: predict inputs at the function level (fast, many mutants), and whole
// requests to /v1/predict and /v1/generate over HTTP, where anything but 200 or a 4xx {"error"} is a finding.
import { join } from 'node:path';
import { models } from '../../../lib/index.js';
import { HttpError, inputSpecsFor, parseInputs, serve, type InputSpec, type RunningServer } from '../../../lib/serve/index.js';
import { toTensors } from '../../../lib/serve/inputs.js';
import { FIXTURES } from '../../peft/golden.js';
import { JSON_MUTATORS, type FuzzTarget } from '../harness.js';

const LLAMA = join(FIXTURES, 'peft-golden', '10_llama_mixed_batch_base_row');
const VIT = join(FIXTURES, 'peft-golden', '01_vit_lora_classifier');
const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
const image = (side: number) => [Array.from({ length: 3 }, () => Array.from({ length: side }, () => Array.from({ length: side }, () => 0.5)))];

/** A 4xx answer with {"error": message}: what a client mistake must get. */
class Rejected extends Error {}

let specs: { llama: InputSpec[]; vit: InputSpec[] } | null = null;

export const predictInputs: FuzzTarget = {
  name: 'predict-inputs',
  corpus: async () => {
    const [llama, vit] = await Promise.all([models.fromPretrained(join(LLAMA, 'base')), models.fromPretrained(join(VIT, 'base'))]);
    specs = { llama: inputSpecsFor(llama), vit: inputSpecsFor(vit) };
    const side = (vit.config as unknown as { image_size: number }).image_size;
    llama.dispose();
    vit.dispose();
    return [
      bytes({ input_ids: [[1, 2, 3], [4, 5, 6]], attention_mask: [[1, 1, 1], [0, 1, 1]] }),
      bytes({ input_ids: [[7]] }),
      bytes({ pixel_values: image(side) }),
    ];
  },
  run: (input) => {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(input).toString('utf8'));
    } catch {
      throw new HttpError(400, 'the request body is not valid JSON');
    }
    const { llama, vit } = specs as { llama: InputSpec[]; vit: InputSpec[] };
    const parsed = parseInputs(json, json !== null && typeof json === 'object' && 'pixel_values' in json ? vit : llama);
    for (const t of Object.values(toTensors(parsed, { floatDtype: 'float32', device: 'cpu' }))) t.dispose();
  },
  isRejection: (error) => error instanceof HttpError && error.status >= 400 && error.status < 500 && error.message.length > 5,
  mutators: JSON_MUTATORS,
};

let server: RunningServer | null = null;

async function post(path: string, input: Uint8Array): Promise<void> {
  const response = await fetch(`${(server as RunningServer).url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: input });
  const text = await response.text();
  if (response.status === 200) return;
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a finding below
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (response.status >= 400 && response.status < 500 && typeof error === 'string' && error.length > 5) throw new Rejected(error);
  throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
}

async function startServer(): Promise<void> {
  server ??= await serve({ model: join(LLAMA, 'base'), adapters: [['first', join(LLAMA, 'adapter', 'first')]], log: () => undefined, maxBodyBytes: 1 << 20 });
}

export async function stopServer(): Promise<void> {
  await server?.close();
  server = null;
}

export const httpPredict: FuzzTarget = {
  name: 'http-predict',
  corpus: async () => {
    await startServer();
    return [bytes({ adapter: 'first', inputs: { input_ids: [[1, 2, 3]], attention_mask: [[1, 1, 1]] } }), bytes({ adapter: null, inputs: { input_ids: [[5, 6]] } })];
  },
  run: (input) => post('/v1/predict', input),
  isRejection: (error) => error instanceof Rejected,
  mutators: JSON_MUTATORS,
  weight: 0.03,
};

export const httpGenerate: FuzzTarget = {
  name: 'http-generate',
  corpus: async () => {
    await startServer();
    return [
      bytes({ adapter: 'first', input_ids: [1, 2, 3], max_new_tokens: 3, temperature: 0 }),
      bytes({ adapter: null, input_ids: [4], max_new_tokens: 2, temperature: 0.7, top_k: 5, top_p: 0.9, stop: [3] }),
    ];
  },
  run: (input) => post('/v1/generate', input),
  isRejection: (error) => error instanceof Rejected,
  mutators: JSON_MUTATORS,
  weight: 0.03,
};
