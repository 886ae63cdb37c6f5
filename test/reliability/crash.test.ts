// Crash tests: a child process saving an adapter (with a selectedAdapters sub-folder), a training checkpoint, and a
// merged model (one file and shards in turn) is killed at random points; every folder must load as the version
// saved last or the one being saved, and what a kill leaves is removed by the next save.
// Bounded here (NODE_PEFT_CRASH_KILLS kills per kind, default 3); `npm run fuzz -- crash` runs >= 100 per kind.
// The child runs the built package (dist/), which `npm test` builds first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { crashRun, type CrashMode } from './crash.js';

const KILLS = Number(process.env.NODE_PEFT_CRASH_KILLS ?? 3);
const SEED = Number(process.env.NODE_PEFT_FUZZ_SEED ?? 1);
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('killed while saving', () => {
  for (const mode of ['adapter', 'checkpoint', 'model'] as CrashMode[]) {
    test(`${mode}: after ${KILLS} kills every folder loads as the old or the new version`, async () => {
      const report = await crashRun(mode, join(scratch, mode, 'out'), KILLS, SEED);
      console.log(JSON.stringify(report));
      expect(report.kills).toBe(KILLS);
      expect(report.absent).toBe(0);
      expect(report.old + report.new).toBe(KILLS * (mode === 'adapter' ? 2 : 1));
      expect(report.maxLeftovers).toBeLessThanOrEqual(mode === 'adapter' ? 4 : 2);
      expect(report.leftoversAfterRecovery).toBe(0);
    }, 0);
  }
});
