// The CPU tensor cache against LibTorch's own allocator on inference of varying shapes: each allocator in its own
// process (the cache is installed at load), alternated over rounds, best round of each; slowdown = cache / malloc.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../../tensor/runtime.js';
import { VARYING } from '../varying-shapes.js';
import type { BenchFields, WorkloadContext } from '../result.js';

function runChild(cacheOn: boolean, calls: number): BenchFields {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../varying-shapes-child.${fromSources ? 'ts' : 'js'}`, import.meta.url));
  const loader = fromSources ? ['--import', 'tsx'] : [];
  const env = { ...process.env, NODE_PEFT_CPU_CACHE: cacheOn ? '1' : '0', NODE_PEFT_THREADS: String(getNumThreads()) };
  const child = spawnSync(process.execPath, [...loader, entry, String(calls)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`bench cache: the ${cacheOn ? 'cache' : 'malloc'} run failed (exit ${child.status ?? child.signal})`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as BenchFields;
}

export function cacheWorkload(ctx: WorkloadContext): BenchFields {
  const rounds = Math.max(1, Math.min(3, Math.round(ctx.steps / 5)));
  const calls = ctx.steps >= 10 ? VARYING.calls : 25;
  let cache: BenchFields | null = null;
  let malloc: BenchFields | null = null;
  for (let round = 0; round < rounds; round++) {
    const m = runChild(false, calls);
    const c = runChild(true, calls);
    if (malloc === null || Number(m.seconds) < Number(malloc.seconds)) malloc = m;
    if (cache === null || Number(c.seconds) < Number(cache.seconds)) cache = c;
  }
  const [c, m] = [cache as BenchFields, malloc as BenchFields];
  return {
    workload: 'cpu-cache-varying-shapes', calls, cache_s: c.seconds, malloc_s: m.seconds,
    slowdown: Number(c.seconds) / Number(m.seconds), cache_cpu_s: c.cpu_s, malloc_cpu_s: m.cpu_s,
    cache_faults: c.minor_faults, malloc_faults: m.minor_faults, cache_peak_rss_mb: c.peak_rss_mb, malloc_peak_rss_mb: m.peak_rss_mb,
  };
}
