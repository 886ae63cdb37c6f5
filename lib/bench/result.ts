// One workload's result: the same field names as bench/reference.py prints, plus node-only extras.
export type BenchFields = Record<string, number | string>;

export interface WorkloadContext {
  steps: number;
  /** Untimed calls before the timed ones (reference.py: 3). */
  warmup?: number;
}

export type Workload = (ctx: WorkloadContext) => BenchFields;
