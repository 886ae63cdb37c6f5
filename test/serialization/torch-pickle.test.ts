// adapter_model.bin read without running code (lib/serialization/torch-pickle.ts): torch-written files give the
// same tensors as their safetensors twins, PEFT's .bin adapter loads with PEFT's logits, a pickle that would call
// os.system is refused naming the global, and byte-level fuzzing of a .bin and a .safetensors file only ever gives
// tensors or the format's own error (never another exception or a crash).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, SafetensorsError, TorchPickleError, type Tensor } from '../../lib/index.js';
import { parseTorchPickle } from '../../lib/serialization/torch-pickle.js';

const FIXTURES = join(__dirname, '..', 'fixtures');
const BIN = join(FIXTURES, 'torch-bin');

const values = (t: Tensor): number[] => Array.from(t.to('float32').toArray(), Number);

describe('parseTorchPickle', () => {
  it('reads views (transposed, sliced with an offset, one shared storage), dtypes and empty tensors as torch wrote them', () => {
    const ours = parseTorchPickle(readFileSync(join(BIN, 'views.bin')));
    const expected = safetensors.loadSync(join(BIN, 'views_expected.safetensors'));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, t] of Object.entries(expected)) {
      expect(ours[name].dtype, name).toBe(t.dtype);
      expect(ours[name].shape, name).toEqual(t.shape);
      expect(values(ours[name]), name).toEqual(values(t));
    }
  });

  it('refuses a pickle that calls os.system, naming the global, without running it', () => {
    expect(() => parseTorchPickle(readFileSync(join(BIN, 'malicious.bin')))).toThrow(TorchPickleError);
    expect(() => parseTorchPickle(readFileSync(join(BIN, 'malicious.bin')))).toThrow(/global (posix|os)\.system, which is not a tensor record/);
  });

  it('refuses what is not a torch zip archive', () => {
    expect(() => parseTorchPickle(new TextEncoder().encode('not a zip'))).toThrow(/not a zip archive/);
  });
});

describe('adapter_model.bin in an adapter folder', () => {
  it('PEFT\'s .bin adapter (no safetensors file) loads and gives the logits of its safetensors twin', async () => {
    const base = join(FIXTURES, 'peft-golden', '11_qwen2_attention_bias_all_proj', 'base');
    const inputs = await safetensors.load(join(FIXTURES, 'peft-variants', 'lora_bias', 'inputs.safetensors'));
    const expected = await safetensors.load(join(FIXTURES, 'peft-variants', 'lora_bias', 'expected.safetensors'));
    const peft = await PeftModel.fromPretrained(await models.fromPretrained(base), join(BIN, 'lora_bias_bin'), { warn: () => undefined });
    const logits = (peft.forward({ ...inputs }) as { logits: Tensor }).logits;
    expect(logits.sub(expected.logits).abs().max().item()).toBeLessThanOrEqual(1e-4);
  });
});

/** Deterministic PRNG (mulberry32) so a failing mutation can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  const kind = random();
  if (kind < 0.15) return out.subarray(0, Math.floor(random() * out.length)); // truncated
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  return out;
}

describe('fuzzing the .bin and the safetensors readers alike', () => {
  const cases: [string, Uint8Array, (b: Uint8Array) => Record<string, Tensor>, new (...a: never[]) => Error][] = [
    ['adapter_model.bin', readFileSync(join(BIN, 'lora_bias_bin', 'adapter_model.bin')), parseTorchPickle, TorchPickleError],
    ['adapter_model.safetensors', readFileSync(join(FIXTURES, 'peft-variants', 'lora_bias', 'adapter', 'adapter_model.safetensors')),
      (b) => safetensors.deserialize(b).tensors, SafetensorsError],
  ];
  for (const [name, original, read, FormatError] of cases) {
    it(`${name}: 400 seeded mutations give tensors or ${FormatError.name}, nothing else`, () => {
      const random = prng(1234);
      const outcomes = { read: 0, refused: 0 };
      for (let i = 0; i < 400; i++) {
        const bytes = mutate(original, random);
        try {
          const tensors = read(bytes);
          for (const t of Object.values(tensors)) t.dispose();
          outcomes.read++;
        } catch (error) {
          expect(error, `mutation ${i}: ${String(error)}`).toBeInstanceOf(FormatError);
          outcomes.refused++;
        }
      }
      expect(outcomes.refused).toBeGreaterThan(0);
    });
  }
});
