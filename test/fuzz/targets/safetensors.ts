// The safetensors reader, in memory (deserialize) and from a file (loadSync: the native reader with its offsets).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError, torch, type Tensor } from '../../../lib/index.js';
import { deserialize, loadSync, serialize } from '../../../lib/serialization/index.js';
import { FIXTURES } from '../../serialization/fixtures.js';
import { jsonMutator, type FuzzTarget, type Mutator } from '../harness.js';

function corpus(): Uint8Array[] {
  const tensors: Record<string, Tensor>[] = [
    { a: torch.randn([3, 4]), b: torch.arange(6).reshape(2, 3) },
    { bf: torch.randn([2, 2]).to('bfloat16'), h: torch.randn([5]).to('float16'), flag: torch.tensor([true, false]) },
    { scalar: torch.tensor(3.5), empty: torch.zeros([0, 4]) },
  ];
  const files = tensors.map((map, k) => serialize(map, k === 0 ? { format: 'pt', note: 'x' } : null));
  for (const map of tensors) for (const t of Object.values(map)) t.dispose();
  const crafted = JSON.parse(readFileSync(join(FIXTURES, 'crafted.json'), 'utf8')) as { base64: string }[];
  return [...files, ...crafted.slice(0, 40).map((c) => Uint8Array.from(Buffer.from(c.base64, 'base64')))];
}

function disposeAll(tensors: Record<string, { dispose(): void }>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** Mutates the JSON header and writes it back with a correct length, so mutants reach the offset and shape checks. */
const headerMutator: Mutator = (input, rng, corpus) => {
  if (input.length < 8) return input;
  const length = Number(new DataView(input.buffer, input.byteOffset, 8).getBigUint64(0, true));
  if (length > input.length - 8) return input;
  const header = jsonMutator(input.subarray(8, 8 + length), rng, corpus);
  const out = new Uint8Array(8 + header.length + input.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(input.subarray(8 + length), 8 + header.length);
  return out;
};

const isRejection = (error: unknown): boolean => error instanceof SafetensorsError && error.message.length > 10;

export const safetensorsBytes: FuzzTarget = {
  name: 'safetensors',
  corpus,
  run: (input) => disposeAll(deserialize(input).tensors),
  isRejection,
  mutators: [headerMutator, headerMutator, headerMutator, headerMutator],
};

const folder = mkdtempSync(join(tmpdir(), 'node-peft-fuzz-st-'));
let written = 0;

export const safetensorsFile: FuzzTarget = {
  name: 'safetensors-file',
  corpus,
  run: (input) => {
    const path = join(folder, `case-${written++ % 4}.safetensors`);
    writeFileSync(path, input);
    disposeAll(loadSync(path));
  },
  isRejection,
  mutators: [headerMutator, headerMutator, headerMutator, headerMutator],
  weight: 0.2,
};
