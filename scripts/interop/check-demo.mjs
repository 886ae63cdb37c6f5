#!/usr/bin/env node
// Checks the demo's adapter (node bin/node-peft.js demo -> out/demo/) in Python PEFT: which keys PEFT loads, misses
// or does not expect, and whether Python's logits on the demo's 16px base with that adapter equal node-peft's
// (and the accuracies on the demo's test images). Prints the report as JSON.
//
//   NODE_PEFT_INTEROP_PYTHON=/path/to/python node scripts/interop/check-demo.mjs [DEMO_DIR] [--seed N]
//
// Needs the built package (npm run setup) and a finished demo run; the seed must be the demo's (default 0), as
// it picks the test images whose labels are compared.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { seed: { type: 'string', default: '0' } } });
const demoDir = resolve(positionals[0] ?? join(root, 'out', 'demo'));
const python = process.env.NODE_PEFT_INTEROP_PYTHON;
if (!python) {
  console.error('check-demo: set NODE_PEFT_INTEROP_PYTHON=/path/to/python (with torch, transformers, peft, safetensors)');
  process.exit(2);
}
const side = 16;
const paths = {
  base: join(demoDir, `base-${side}px`),
  adapter: join(demoDir, 'adapter'),
  inputs: join(demoDir, `test-${side}px.safetensors`),
  servingLogits: join(demoDir, 'serving-logits.safetensors'),
};
for (const path of Object.values(paths)) {
  if (!existsSync(path)) {
    console.error(`check-demo: ${path} not found; run "node bin/node-peft.js demo" first`);
    process.exit(2);
  }
}

const { safetensors } = await import(join(root, 'dist', 'lib', 'index.js'));
const { digitsSplit } = await import(join(root, 'dist', 'lib', 'train', 'digits.js'));
const work = mkdtempSync(join(tmpdir(), 'node-peft-check-demo-'));
try {
  // node-peft's logits: the demo's serving process (base + adapter) and, via predict, the base alone.
  const baseLogitsPath = join(work, 'base-logits.safetensors');
  execFileSync(process.execPath, [join(root, 'bin', 'node-peft.js'), 'predict', '--model', paths.base, '--inputs', paths.inputs, '--out', baseLogitsPath]);
  const served = (await safetensors.load(paths.servingLogits)).logits;
  const base = (await safetensors.load(baseLogitsPath)).logits;
  const ours = join(work, 'node-peft-logits.safetensors');
  await safetensors.save(ours, { logits_adapter: served, logits_base: base });
  const { test } = digitsSplit({ seed: Number(values.seed) });
  const labels = join(work, 'labels.safetensors');
  await safetensors.save(labels, { labels: test.labels });

  const spec = join(work, 'spec.json');
  writeFileSync(spec, JSON.stringify({
    cases: [{
      name: 'demo', base: paths.base, inputs: paths.inputs, adapters: [{ name: 'default', dir: paths.adapter }], ours,
      ours_keys: { default: 'logits_adapter', __base_model_fresh__: 'logits_base' }, labels,
    }],
  }));
  const started = performance.now();
  const report = JSON.parse(execFileSync(python, [join(root, 'scripts', 'interop', 'check_adapters.py'), spec], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  report.python_seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  report.demo_dir = demoDir;
  console.log(JSON.stringify(report, null, 1));
} finally {
  rmSync(work, { recursive: true, force: true });
}
