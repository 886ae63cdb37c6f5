// The native caching allocator for CPU tensor memory (native/cpu_cache.cc): its counters, and a way to give its
// cached blocks back to the system (e.g. after a one-off large batch in a long-running server).
import { N } from '../binding.js';

export interface CpuCacheStats {
  /** Bytes in freed blocks kept for reuse. */
  cachedBytes: number;
  /** Bytes in blocks of cached size (128 KiB and up) that tensors hold now. */
  liveBytes: number;
  peakLiveBytes: number;
  /** Requests served from the cache. */
  hits: number;
  /** Requests that mapped a new block. */
  misses: number;
  /** Blocks given back to the system: the cache was full, or they stayed unused for the decay time. */
  released: number;
}

/** The cache's counters, or null when NODE_PEFT_CPU_CACHE=0 left LibTorch's own allocator in place. */
export function cpuCacheStats(): CpuCacheStats | null {
  const raw = N.cpuCacheStats() as number[] | null;
  if (raw === null) return null;
  const [cachedBytes, liveBytes, peakLiveBytes, hits, misses, released] = raw;
  return { cachedBytes, liveBytes, peakLiveBytes, hits, misses, released };
}

/** Gives every cached block back to the system; returns the bytes released. Tensors in use are untouched. */
export function emptyCpuCache(): number {
  return N.emptyCpuCache() as number;
}
