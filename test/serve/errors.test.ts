// Every mistake a client can make is answered with a 4xx and {"error": message} saying what was wrong.
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { CASE_10, metric, post, request } from './helpers.js';

let server: RunningServer;
const ids = [[1, 2, 3]];

beforeAll(async () => {
  server = await serve({ model: join(CASE_10, 'base'), adapters: [['first', join(CASE_10, 'adapter', 'first')]], maxBodyBytes: 4096, threads: 1 });
});
afterAll(() => server.close());

async function expectError(reply: Promise<{ status: number; body: Record<string, unknown> }>, status: number, message: RegExp): Promise<void> {
  const { status: got, body } = await reply;
  expect({ status: got, keys: Object.keys(body) }).toEqual({ status, keys: ['error'] });
  expect(body.error).toMatch(message);
}

const predictUrl = () => `${server.url}/v1/predict`;

describe('error responses', () => {
  test('a body that is not JSON, or not an object, or empty', async () => {
    await expectError(post(predictUrl(), '{"adapter": '), 400, /^the request body is not valid JSON/);
    await expectError(post(predictUrl(), '[1, 2]'), 400, /^request body: expected a JSON object, got an array of length 2$/);
    await expectError(post(predictUrl(), ''), 400, /^the request body is empty/);
  });

  test('a body over the size limit is refused with 413', async () => {
    const big = { adapter: null, inputs: { input_ids: [new Array(3000).fill(1)] } };
    await expectError(post(predictUrl(), big), 413, /^the request body is larger than the limit of 4096 bytes/);
    // without a Content-Length (chunked), the cap applies while reading
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(predictUrl(), { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const text = JSON.stringify(big);
      req.write(text.slice(0, 3000)); // a write before end(): Node sends the body chunked
      req.end(text.slice(3000));
    });
    expect(chunked).toBe(413);
    // the server still answers afterwards
    expect((await post(predictUrl(), { adapter: null, inputs: { input_ids: ids } })).status).toBe(200);
  });

  test('an unknown adapter is a 404', async () => {
    await expectError(post(predictUrl(), { adapter: 'nope', inputs: { input_ids: ids } }), 404, /^The model 'nope' does not exist: no adapter of that name is loaded$/);
    await expectError(post(`${server.url}/v1/generate`, { adapter: 'nope', input_ids: [1] }), 404, /^The model 'nope' does not exist/);
    await expectError(request(`${server.url}/v1/adapters/nope`, 'DELETE'), 404, /^The lora adapter 'nope' cannot be found/);
  });

  test('unknown or missing keys, wrong fields', async () => {
    await expectError(post(predictUrl(), { adapter: null, inputs: { pixel_values: [[[[0]]]] } }), 400,
      /^inputs: unknown key\(s\) 'pixel_values'; this model takes input_ids, attention_mask$/);
    await expectError(post(predictUrl(), { adapter: null, inputs: { attention_mask: [[1]] } }), 400, /^inputs.input_ids is required$/);
    await expectError(post(predictUrl(), { adapter: null }), 400, /^inputs is required/);
    await expectError(post(predictUrl(), { adaptor: null, inputs: { input_ids: ids } }), 400, /^unknown field\(s\) 'adaptor'; expected adapter, inputs, images, top_k$/);
    await expectError(post(predictUrl(), { adapter: 3, inputs: { input_ids: ids } }), 400, /^adapter name: expected 1-64 letters/);
  });

  test('wrong shapes and values', async () => {
    await expectError(post(predictUrl(), { inputs: { input_ids: [1, 2, 3] } }), 400, /^inputs.input_ids: expected a nested array of rank 2, got number 1 at depth 1$/);
    await expectError(post(predictUrl(), { inputs: { input_ids: [[1, 2], [3]] } }), 400, /^inputs.input_ids\[1\]: expected an array of length 2 \(the array is ragged\)/);
    await expectError(post(predictUrl(), { inputs: { input_ids: [[1, 2]], attention_mask: [[1, 1, 1]] } }), 400,
      /^inputs.attention_mask: expected the shape of input_ids \[1, 2\], got \[1, 3\]$/);
    await expectError(post(predictUrl(), { inputs: { input_ids: [[1, 100]] } }), 400, /^inputs.input_ids: element 1 must be an integer in \[0, 100\), got number 100$/);
    await expectError(post(predictUrl(), { inputs: { input_ids: [[1, 2]], attention_mask: [[1, 2]] } }), 400, /element 1 must be 0 or 1/);
    await expectError(post(predictUrl(), { inputs: { input_ids: [[]] } }), 400, /dimension 1 is empty/);
  });

  test('generate checks its fields', async () => {
    const url = `${server.url}/v1/generate`;
    await expectError(post(url, { input_ids: [] }), 400, /^input_ids: expected a non-empty array of token ids/);
    await expectError(post(url, { input_ids: [1], max_new_tokens: -1 }), 400, /^max_new_tokens: expected an integer in \[0, 4096\], got number -1$/);
    await expectError(post(url, { input_ids: [1], max_new_tokens: 80 }), 400, /exceed the model's 64 positions$/);
    await expectError(post(url, { input_ids: [1], top_p: 0 }), 400, /^top_p: expected a number in \(0, 1\]/);
    await expectError(post(url, { input_ids: [1], temperature: -1 }), 400, /^temperature: expected a finite number >= 0/);
    await expectError(post(url, { input_ids: [1], stop: [1000] }), 400, /^stop\[0\]: expected a token id in \[0, 100\)/);
    await expectError(post(url, { input_ids: [1], stops: [1] }), 400, /^unknown field\(s\) 'stops'/);
  });

  test('adapter management mistakes', async () => {
    const url = `${server.url}/v1/adapters`;
    await expectError(post(url, { name: 'has.dot', path: join(CASE_10, 'adapter', 'first') }), 400, /^adapter name: expected 1-64 letters/);
    await expectError(post(url, { name: '__base__', path: join(CASE_10, 'adapter', 'first') }), 400, /^adapter name/);
    await expectError(post(url, { name: 'x', path: join(CASE_10, 'base') }), 404, /^No adapter found at .* \(no adapter_config.json\)$/);
    await expectError(post(url, { name: 'x' }), 400, /^path: expected an adapter folder, got undefined$/);
    await expectError(post(url, { name: 'x', path: join(CASE_10, 'adapter', 'first'), replace: 'yes' }), 400, /^replace: expected true or false/);
  });

  test('unknown endpoints are 404, wrong methods 405', async () => {
    await expectError(request(`${server.url}/v2/predict`, 'POST', {}), 404, /^no such endpoint: POST \/v2\/predict$/);
    await expectError(request(`${server.url}/v1/predict`, 'GET'), 405, /^GET is not allowed on \/v1\/predict$/);
  });

  test('/metrics counts the answers by route and status', async () => {
    expect(await metric(server, 'nodepeft_http_requests_total{route="POST /v1/predict",status="400"}')).toBeGreaterThan(10);
    expect(await metric(server, 'nodepeft_http_requests_total{route="POST /v1/predict",status="404"}')).toBe(1);
    expect(await metric(server, 'nodepeft_http_requests_total{route="POST /v1/predict",status="413"}')).toBe(2);
  });
});
