// Load a base model and an adapter once, then answer HTTP requests with it.
//   node dist/examples/serve.js [BASE_DIR] [ADAPTER_DIR] [PORT]
//   curl -s localhost:8080/predict -d '{"pixels": [64 numbers 0..16, an 8x8 digit row by row]}'
// With PORT 0 it answers one request to itself and exits (a self-check).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromPretrained } from '../lib/models/index.js';
import { PeftModel } from '../lib/peft/index.js';
import { torch } from '../lib/index.js';
import { DIGIT_SIDE, loadDigits } from '../lib/train/index.js';

const [baseDir = 'out/demo/base-16px', adapterDir = 'out/demo/adapter', portText = '8080'] = process.argv.slice(2);
torch.setNumThreads(1);
const base = await fromPretrained(baseDir);
const model = await PeftModel.fromPretrained(base, adapterDir); // frozen, eval mode
const side = (base.config as unknown as { image_size: number }).image_size;

/** One 8x8 digit (values 0..16) → class probabilities. */
function predict(pixels: number[]): number[] {
  if (!Array.isArray(pixels) || pixels.length !== DIGIT_SIDE * DIGIT_SIDE) throw new Error(`pixels: expected ${DIGIT_SIDE * DIGIT_SIDE} numbers`);
  return torch.noGrad(() => torch.scope(() => {
    const image = torch.tensor(pixels.map((v) => (v / 16) * 2 - 1), { dtype: 'float32', shape: [1, 1, DIGIT_SIDE, DIGIT_SIDE] });
    const resized = torch.F.interpolate(image, { size: [side, side], mode: 'bilinear' });
    const { logits } = model.forward({ pixel_values: resized }) as { logits: torch.Tensor };
    return Array.from(torch.F.softmax(logits, -1).toArray(), Number);
  }));
}

const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    try {
      if (request.method !== 'POST' || request.url !== '/predict') throw new Error('POST /predict {"pixels": [...]}');
      const probabilities = predict((JSON.parse(body) as { pixels: number[] }).pixels);
      response.end(JSON.stringify({ digit: probabilities.indexOf(Math.max(...probabilities)), probabilities }));
    } catch (error) {
      response.statusCode = 400;
      response.end(JSON.stringify({ error: (error as Error).message }));
    }
  });
});

server.listen(Number(portText), async () => {
  const { port } = server.address() as AddressInfo;
  console.log(`serving ${baseDir} + ${adapterDir} on http://localhost:${port}/predict`);
  if (portText !== '0') return;
  const digits = loadDigits();
  const pixels = Array.from(digits.pixel_values.select(0, 0).toArray() as Float32Array, (v) => Math.round(((Number(v) + 1) / 2) * 16));
  const reply = await fetch(`http://localhost:${port}/predict`, { method: 'POST', body: JSON.stringify({ pixels }) });
  console.log(`image 0 (label ${digits.labels.select(0, 0).item()}):`, await reply.text());
  server.close();
});
