// Data-parallel training over a process group, with DDP's semantics for the parameters that train: the same
// start on every rank (rank 0's values broadcast), and after each backward the gradients averaged across ranks, so
// every rank takes the same optimizer step. The frozen base is never sent (LoRA: only A/B and modules_to_save).
import { tensor, zerosLike } from '../tensor/creation.js';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import { scope } from '../tensor/scope.js';
import type { ReduceOp } from '../tensor/distributed.js';
import type { Tensor } from '../tensor/tensor.js';

/** What data parallelism needs of a process group (a ProcessGroup from node-peft's torch, or a test double). */
export interface DataParallelGroup {
  readonly rank: number;
  readonly worldSize: number;
  allReduce(tensors: readonly Tensor[], op?: ReduceOp): void;
  broadcast(tensors: readonly Tensor[], root?: number): void;
}

export class DataParallel {
  readonly group: DataParallelGroup;
  readonly #parameters: readonly Tensor[];

  constructor(group: DataParallelGroup, parameters: readonly Tensor[]) {
    this.group = group;
    this.#parameters = parameters;
  }

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  /** Rank 0 writes files, logs and evaluates; the others only compute. */
  get isMain(): boolean {
    return this.group.rank === 0;
  }

  /** Bytes one gradient all-reduce moves per rank (the trainable parameters, in their dtype). */
  get gradientBytes(): number {
    return this.#parameters.reduce((sum, p) => sum + p.numel() * BYTES_PER_ELEMENT[p.dtype], 0);
  }

  /** Makes every rank start from rank 0's trainable values (LoRA A is random: ranks would otherwise differ). */
  syncParameters(): void {
    this.group.broadcast(this.#parameters, 0);
  }

  /** Averages the accumulated gradients over ranks; a parameter with no gradient on this rank takes part as zeros. */
  averageGradients(): void {
    const grads: Tensor[] = [];
    try {
      for (const p of this.#parameters) {
        let g = p.grad;
        if (g === null) {
          p.grad = zerosLike(p);
          g = p.grad as Tensor;
        }
        grads.push(g);
      }
      this.group.allReduce(grads, 'avg');
    } finally {
      for (const g of grads) g.dispose();
    }
  }

  /** The mean of a per-rank number over all ranks (e.g. a step's loss). */
  mean(value: number): number {
    return scope(() => {
      const t = tensor(Float64Array.of(value));
      this.group.allReduce([t], 'avg');
      return t.item();
    });
  }
}
