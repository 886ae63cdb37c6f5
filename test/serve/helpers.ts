// Shared by the serve tests: the golden fixtures' paths, their tensors as nested arrays, and JSON over HTTP.
import { join } from 'node:path';
import { loadSync } from '../../lib/serialization/index.js';
import type { RunningServer } from '../../lib/serve/index.js';
import type { NestedNumbers } from '../../lib/tensor/tensor.js';
import { FIXTURES } from '../peft/golden.js';

export const CASE_01 = join(FIXTURES, 'peft-golden', '01_vit_lora_classifier');
export const CASE_10 = join(FIXTURES, 'peft-golden', '10_llama_mixed_batch_base_row');
export const CASE_01_T4 = join(FIXTURES, 'peft-golden-transformers4', '01_vit_lora_classifier');

/** Every tensor of a safetensors file as nested arrays (the file's tensors are freed). */
export function nested(path: string): Record<string, NestedNumbers[]> {
  const tensors = loadSync(path);
  const out: Record<string, NestedNumbers[]> = {};
  for (const [name, t] of Object.entries(tensors)) {
    out[name] = t.toList() as NestedNumbers[];
    t.dispose();
  }
  return out;
}

export interface JsonReply {
  status: number;
  body: Record<string, unknown>;
}

export async function request(url: string, method: string, body?: unknown): Promise<JsonReply> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export const post = (url: string, body: unknown): Promise<JsonReply> => request(url, 'POST', body);
export const get = (url: string): Promise<JsonReply> => request(url, 'GET');

/** The largest absolute difference between two nested arrays of equal shape (Infinity if the shapes differ). */
export function maxAbsDiff(a: NestedNumbers, b: NestedNumbers): number {
  if (Array.isArray(a) !== Array.isArray(b)) return Infinity;
  if (!Array.isArray(a) || !Array.isArray(b)) return Math.abs(Number(a) - Number(b));
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, maxAbsDiff(a[i], b[i]));
  return max;
}

/** The predict batcher's counters, from the model worker. */
export const batching = (server: RunningServer): Promise<Record<string, number>> => server.worker.call('batching');

/** Live tensors in the model worker. */
export const workerLiveTensors = (server: RunningServer): Promise<number> => server.worker.call('liveTensors');

/** A counter's value in GET /metrics (Prometheus text), e.g. metric('nodepeft_http_requests_total{route="GET /health",status="200"}'). */
export async function metric(server: RunningServer, series: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
