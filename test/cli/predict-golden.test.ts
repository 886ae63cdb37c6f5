// `node-peft predict` on every golden case Python PEFT wrote (both eras): the logits file it writes equals PEFT's
// logits (≤ 1e-4) for the base model alone, for each adapter, and for the mixed batch. Runs in-process through
// main(argv); one case also goes through the real executable (bin/node-peft.js, needs `npm run setup`).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { loadSync } from '../../lib/serialization/index.js';
import { FIXTURES, GOLDEN_SETS, goldenCases } from '../peft/golden.js';
import { captureIO } from './io.js';

const TOLERANCE = 1e-4;
const outDir = mkdtempSync(join(tmpdir(), 'node-peft-predict-golden-'));
// NODE_PEFT_PREDICT_GOLDEN_REPORT=FILE keeps every measured difference as JSON (figures for docs/interop.md).
const measured: Record<string, number> = {};
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  const reportPath = process.env.NODE_PEFT_PREDICT_GOLDEN_REPORT;
  if (reportPath) writeFileSync(reportPath, JSON.stringify(measured, null, 1));
});

interface CaseEntry {
  adapters: Record<string, string>;
  expected: string[];
}

interface PredictRun {
  expectedKey: string;
  adapterArgs: string[];
}

/** `--adapter` arguments with `first` active: unnamed for a lone `default` adapter, NAME=DIR otherwise. */
function adapterArgs(caseDir: string, adapters: Record<string, string>, first: string): string[] {
  const names = [first, ...Object.keys(adapters).filter((n) => n !== first)];
  if (names.length === 1 && first === 'default') return ['--adapter', join(caseDir, adapters.default)];
  return names.flatMap((name) => ['--adapter', `${name}=${join(caseDir, adapters[name])}`]);
}

/** One predict call per expected tensor (merged logits belong to `merge`, not `predict`). */
function predictRuns(caseDir: string, entry: CaseEntry): PredictRun[] {
  const manifest = JSON.parse(readFileSync(join(caseDir, 'manifest.json'), 'utf8')) as { mixed_batch?: { adapter_names: string[] } };
  const firstAdapter = Object.keys(entry.adapters)[0];
  const runs: PredictRun[] = [];
  for (const key of entry.expected) {
    if (key === 'logits_base') runs.push({ expectedKey: key, adapterArgs: [] });
    else if (key === 'logits_peft') runs.push({ expectedKey: key, adapterArgs: adapterArgs(caseDir, entry.adapters, firstAdapter) });
    else if (key.startsWith('logits_peft.')) {
      runs.push({ expectedKey: key, adapterArgs: adapterArgs(caseDir, entry.adapters, key.slice('logits_peft.'.length)) });
    } else if (key === 'logits_mixed') {
      const rowNames = manifest.mixed_batch?.adapter_names;
      if (!rowNames) throw new Error(`${caseDir}: logits_mixed without manifest.mixed_batch.adapter_names`);
      runs.push({ expectedKey: key, adapterArgs: [...adapterArgs(caseDir, entry.adapters, firstAdapter), '--adapter-names', rowNames.join(',')] });
    } else if (!key.startsWith('logits_merged')) throw new Error(`${caseDir}: unknown expected tensor ${key}`);
  }
  return runs;
}

function maxDiffToExpected(outFile: string, caseDir: string, expectedKey: string): number {
  const got = loadSync(outFile).logits;
  const expected = loadSync(join(caseDir, 'expected.safetensors'))[expectedKey];
  expect(got.shape, expectedKey).toEqual(expected.shape);
  const diff = got.sub(expected).abs().max();
  const value = diff.item();
  for (const t of [got, expected, diff]) t.dispose();
  return value;
}

for (const set of GOLDEN_SETS) {
  const index = JSON.parse(readFileSync(join(FIXTURES, set, 'index.json'), 'utf8')) as { cases: Record<string, CaseEntry> };
  describe(`predict on every ${set} case`, () => {
    for (const caseName of goldenCases(set)) {
      const caseDir = join(FIXTURES, set, caseName);
      const runs = predictRuns(caseDir, index.cases[caseName]);
      test(`${caseName}: ${runs.map((r) => r.expectedKey).join(', ')} within ${TOLERANCE}`, async () => {
        expect(runs.map((r) => r.expectedKey)).toContain('logits_base');
        expect(runs.some((r) => r.expectedKey.startsWith('logits_peft'))).toBe(true);
        for (const run of runs) {
          const out = join(outDir, `${set}-${caseName}-${run.expectedKey}.safetensors`);
          const io = captureIO();
          const argv = ['predict', '--model', join(caseDir, 'base'), '--inputs', join(caseDir, 'inputs.safetensors'), '--out', out, ...run.adapterArgs];
          const code = await main(argv, io);
          expect(io.stderr, `${run.expectedKey}: ${argv.join(' ')}`).toEqual([]);
          expect(code).toBe(0);
          expect(io.stdout).toEqual([expect.stringMatching(/^wrote logits \[[\d, ]+\] to /)]);
          const diff = maxDiffToExpected(out, caseDir, run.expectedKey);
          measured[`${set}/${caseName}/${run.expectedKey}`] = diff;
          expect(diff, `${caseName} ${run.expectedKey}`).toBeLessThanOrEqual(TOLERANCE);
        }
      });
    }
  });
}

test('the mixed batches of cases 07 and 10 are covered in the current set', () => {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'peft-golden', 'index.json'), 'utf8')) as { cases: Record<string, CaseEntry> };
  const withMixed = Object.entries(index.cases).filter(([, e]) => e.expected.includes('logits_mixed')).map(([name]) => name);
  expect(withMixed).toEqual(['07_llama_two_named_adapters', '10_llama_mixed_batch_base_row']);
});

describe('predict through the real executable', () => {
  test('bin/node-peft.js predict writes case 10\'s mixed-batch logits (two named adapters, a __base__ row)', async () => {
    const caseDir = join(FIXTURES, 'peft-golden', '10_llama_mixed_batch_base_row');
    const out = join(outDir, 'spawned-10-mixed.safetensors');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      join('bin', 'node-peft.js'), 'predict', '--model', join(caseDir, 'base'), '--inputs', join(caseDir, 'inputs.safetensors'), '--out', out,
      '--adapter', `first=${join(caseDir, 'adapter', 'first')}`, '--adapter', `second=${join(caseDir, 'adapter', 'second')}`,
      '--adapter-names', 'first,__base__,second,first',
    ]);
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe(`wrote logits [4, 7, 100] to ${out}`);
    const diff = maxDiffToExpected(out, caseDir, 'logits_mixed');
    measured['spawned bin/node-peft.js: peft-golden/10_llama_mixed_batch_base_row/logits_mixed'] = diff;
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });
});
