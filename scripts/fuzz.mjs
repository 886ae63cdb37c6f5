#!/usr/bin/env node
// The long fuzz and crash runs (the bounded ones run in `npm test`):
//   npm run fuzz                         every fuzz target (100,000 cases for the safetensors reader, others weighted)
//   npm run fuzz -- safetensors http-predict --count 20000 --seed 7
//   npm run fuzz -- crash --kills 100    kill a saving process 100 times per kind (adapter, checkpoint, model)
//   npm run fuzz -- all                  both
// Targets: test/fuzz/targets/index.ts. Each run prints one JSON report per target; a finding fails the run and
// prints its input (base64) and the seed to replay it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: String(Date.now() % 100000) }, kills: { type: 'string', default: '100' } },
});
for (const [name, value] of Object.entries(values)) {
  if (!/^\d+$/.test(value)) {
    console.error(`fuzz: --${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
}
const crash = positionals.includes('crash') || positionals.includes('all');
const targets = positionals.filter((p) => p !== 'crash' && p !== 'all');
const fuzzing = !crash || positionals.includes('all') || targets.length > 0;

const setup = spawnSync(process.execPath, [join(root, 'scripts', 'setup.mjs')], { stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);

const files = [...(fuzzing ? ['test/fuzz/fuzz.test.ts'] : []), ...(crash ? ['test/reliability/crash.test.ts'] : [])];
const env = {
  ...process.env,
  NODE_PEFT_FUZZ_COUNT: values.count,
  NODE_PEFT_FUZZ_SEED: values.seed,
  NODE_PEFT_CRASH_KILLS: values.kills,
  ...(targets.length > 0 ? { NODE_PEFT_FUZZ_TARGETS: targets.join(',') } : {}),
};
console.error(`fuzz: seed ${values.seed}${fuzzing ? `, ${values.count} cases per target (weighted)` : ''}${crash ? `, ${values.kills} kills per kind` : ''}`);
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', ...files], { cwd: root, env, stdio: 'inherit' });
process.exit(run.status ?? 1);
