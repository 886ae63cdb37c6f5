// Fuzzing every parser of files and requests from strangers (test/fuzz/targets): mutants of a seed corpus must be
// accepted or rejected with the target's typed error; no other error, no leaked tensor, no crash of the process.
// Bounded here (NODE_PEFT_FUZZ_COUNT cases per target, default 400); `npm run fuzz` runs the long one.
import { afterAll, describe, expect, test } from 'vitest';
import { fuzz, fuzzSettings } from './harness.js';
import { stopServer, TARGETS } from './targets/index.js';

const settings = fuzzSettings(400);
afterAll(() => stopServer());

describe('fuzz', () => {
  for (const target of TARGETS.filter((t) => settings.targets === null || settings.targets.includes(t.name))) {
    const count = Math.max(20, Math.round(settings.count * (target.weight ?? 1)));
    test(`${target.name}: ${count} cases, every rejection a typed error`, async () => {
      const report = await fuzz(target, { count, seed: settings.seed });
      console.log(JSON.stringify({ ...report, rejections: Object.keys(report.rejections).length, findings: report.findings.length }));
      if (report.findings.length > 0) console.log(JSON.stringify(report.findings.slice(0, 5), null, 1));
      expect(report.findings).toEqual([]);
      expect(report.cases).toBe(count);
      expect(report.rejected).toBeGreaterThan(0);
      expect(report.leakedTensors).toBeLessThanOrEqual(0);
    }, 0);
  }
});
