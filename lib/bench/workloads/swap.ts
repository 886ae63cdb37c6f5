// W4-adapter-swap (Node only): load an adapter of the W1 model from disk into a loaded model and make it active;
// switch between two loaded adapters.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { manualSeed } from '../../tensor/runtime.js';
import { llamaWithLora } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { median, timed } from '../timing.js';

/** Switches timed per step: one switch is far below the timer's useful resolution. */
const SWITCHES_PER_STEP = 100;

export async function swapWorkload(ctx: WorkloadContext): Promise<BenchFields> {
  manualSeed(0);
  const peft = llamaWithLora();
  peft.eval();
  const dir = await mkdtemp(join(tmpdir(), 'node-peft-bench-'));
  try {
    await peft.savePretrained(dir);
    const loadTimes: number[] = [];
    const warmup = ctx.warmup ?? 3;
    for (let i = 0; i < warmup + ctx.steps; i++) {
      const name = `loaded${i}`;
      const start = performance.now();
      await peft.loadAdapter(dir, name);
      peft.setAdapter(name);
      const ms = performance.now() - start;
      if (i >= warmup) loadTimes.push(ms);
      peft.setAdapter('default');
      peft.deleteAdapter(name);
    }
    await peft.loadAdapter(dir, 'other');
    let flip = false;
    const t = timed(() => {
      for (let i = 0; i < SWITCHES_PER_STEP; i++) {
        peft.setAdapter(flip ? 'default' : 'other');
        flip = !flip;
      }
    }, ctx.steps, ctx.warmup);
    return { workload: 'W4-adapter-swap', load_ms: median(loadTimes), switch_ms: t.median / SWITCHES_PER_STEP };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
