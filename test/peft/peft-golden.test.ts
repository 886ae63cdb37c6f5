// Every golden case PEFT wrote (both eras): base + PEFT's adapter gives PEFT's logits (≤ 1e-4), merged and
// mixed-batch too, and saving again gives the same keys, shapes, dtypes and config.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, type Tensor } from '../../lib/index.js';
import { FIXTURES, GOLDEN_SETS, goldenCases, maxAbsDiff } from './golden.js';

const TOLERANCE = 1e-4;
const scratch = mkdtempSync(join(tmpdir(), 'peft-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface CaseIndex {
  adapters: Record<string, string>;
  expected: string[];
}

interface Manifest {
  mixed_batch?: { adapter_names: string[] };
}

async function loadPeft(dir: string, adapters: Record<string, string>): Promise<PeftModel> {
  const base = await models.fromPretrained(join(dir, 'base'));
  const [[firstName, firstFolder], ...rest] = Object.entries(adapters);
  const peft = await PeftModel.fromPretrained(base, join(dir, firstFolder), { adapterName: firstName, warn: () => undefined });
  for (const [name, folder] of rest) await peft.loadAdapter(join(dir, folder), name);
  return peft;
}

function logits(model: { forward(inputs: never): unknown }, inputs: Record<string, Tensor>, extra: Record<string, unknown> = {}): Tensor {
  return (model.forward({ ...inputs, ...extra } as never) as { logits: Tensor }).logits;
}

for (const set of GOLDEN_SETS) {
  const index = JSON.parse(readFileSync(join(FIXTURES, set, 'index.json'), 'utf8')) as { cases: Record<string, CaseIndex> };
  describe(set, () => {
    for (const caseName of goldenCases(set)) {
      const dir = join(FIXTURES, set, caseName);
      const entry = index.cases[caseName];
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

      it(`${caseName}: PEFT's adapter reproduces PEFT's logits (unmerged, base, mixed)`, async () => {
        const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
        const expected = await safetensors.load(join(dir, 'expected.safetensors'));
        const base = await models.fromPretrained(join(dir, 'base'));
        const baseLogits = logits(base, inputs);
        expect(maxAbsDiff(baseLogits, expected.logits_base), `${caseName} logits_base`).toBeLessThanOrEqual(TOLERANCE);
        base.dispose();
        const peft = await loadPeft(dir, entry.adapters);
        const names = Object.keys(entry.adapters);
        const trainsBaseWeights = readFileSync(join(dir, Object.values(entry.adapters)[0], 'adapter_config.json'), 'utf8').includes('"bias": "lora_only"')
          || caseName.includes('lora_embedding');
        for (const key of entry.expected.filter((k) => !k.startsWith('logits_merged'))) {
          let got: Tensor;
          if (key === 'logits_base') {
            // Disabled adapters read the base weights; where the adapter itself loaded base biases/embeddings, those stay.
            if (trainsBaseWeights) continue;
            got = peft.disableAdapter(() => logits(peft, inputs));
          } else if (key === 'logits_mixed') got = logits(peft, inputs, { adapter_names: manifest.mixed_batch?.adapter_names });
          else {
            peft.setAdapter(key === 'logits_peft' ? names[0] : key.slice('logits_peft.'.length));
            got = logits(peft, inputs);
          }
          expect(maxAbsDiff(got, expected[key]), `${caseName} ${key}`).toBeLessThanOrEqual(TOLERANCE);
          got.dispose();
        }
      });

      it(`${caseName}: mergeAndUnload gives PEFT's merged logits`, async () => {
        const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
        const expected = await safetensors.load(join(dir, 'expected.safetensors'));
        for (const key of entry.expected.filter((k) => k.startsWith('logits_merged'))) {
          const peft = await loadPeft(dir, entry.adapters);
          const name = key === 'logits_merged' ? Object.keys(entry.adapters)[0] : key.slice('logits_merged.'.length);
          peft.setAdapter(name);
          const merged = peft.mergeAndUnload() as unknown as { forward(inputs: never): unknown };
          const got = logits(merged, inputs);
          expect(maxAbsDiff(got, expected[key]), `${caseName} ${key}`).toBeLessThanOrEqual(TOLERANCE);
          got.dispose();
        }
      });

      it(`${caseName}: saving again writes PEFT's keys, shapes, dtypes and config`, async () => {
        const peft = await loadPeft(dir, entry.adapters);
        const out = join(scratch, set, caseName);
        await peft.savePretrained(out, { keyFormat: set === 'peft-golden' ? 'transformers5' : 'transformers4' });
        for (const [name, folder] of Object.entries(entry.adapters)) {
          const savedDir = name === 'default' ? out : join(out, name);
          const theirs = await safetensors.readHeader(join(dir, folder, 'adapter_model.safetensors'));
          const ours = await safetensors.readHeader(join(savedDir, 'adapter_model.safetensors'));
          expect(ours.metadata).toEqual({ format: 'pt' });
          const describe = (h: typeof ours): string[] => h.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape.join(',')}]`).sort();
          // PEFT 0.20 (the transformers-4 era files) did not save bias='lora_only' biases; 0.21 and node-peft do.
          // Case 02 names a bare parameter in modules_to_save: PEFT ignored it, node-peft wraps and saves it.
          const extra = describe(ours).filter((k) => !describe(theirs).includes(k));
          const allowed = (k: string): boolean =>
            (caseName.startsWith('02_') && k.startsWith('base_model.model.vit.embeddings.position_embeddings ')) ||
            (set !== 'peft-golden' && /\.base_layer\.bias /.test(k));
          expect(extra.filter((k) => !allowed(k))).toEqual([]);
          expect(describe(ours).filter((k) => !extra.includes(k))).toEqual(describe(theirs));
          const theirConfig = readFileSync(join(dir, folder, 'adapter_config.json'), 'utf8');
          const ourConfig = readFileSync(join(savedDir, 'adapter_config.json'), 'utf8');
          if (set === 'peft-golden') {
            expect(ourConfig).toBe(theirConfig);
          } else {
            const mine = JSON.parse(ourConfig) as Record<string, unknown>;
            for (const [field, value] of Object.entries(JSON.parse(theirConfig) as Record<string, unknown>)) {
              expect(mine[field], `${caseName}/${name} ${field}`).toEqual(value);
            }
          }
        }
      });
    }
  });
}
