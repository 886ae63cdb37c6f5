// One generation request as the engine tracks it: its prompt, its KV slot, what it has produced, and why it ended.
import { BlockTable } from '../models/paged-kv-cache.js';
import { resolveSampling, seededRandom, type Sampling } from '../models/sampling.js';

export interface GenerationRequest {
  id: string;
  /** null = the base model. */
  adapter: string | null;
  promptIds: number[];
  maxTokens: number;
  /** temperature 0 = greedy; topK 0 and topP 1 = no truncation; seed null = a random one. */
  sampling: { temperature: number; topP: number; topK: number; seed: number | null };
  /** Token ids that end the sequence (included in its output, as transformers does). */
  stopTokenIds: number[];
}

export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

export class Sequence {
  readonly request: GenerationRequest;
  readonly table = new BlockTable();
  readonly sampling: Sampling;
  readonly random: () => number;
  readonly generated: number[] = [];
  /** Prompt tokens already in the KV cache. */
  prefilled = 0;
  finish: FinishReason | null = null;
  /** performance.now() when the engine received it (for aging). */
  readonly arrivedAt: number;

  constructor(request: GenerationRequest, now: number) {
    this.request = request;
    const { temperature, topP, topK, seed } = request.sampling;
    this.sampling = resolveSampling({ temperature, topP, topK, seed: seed ?? undefined, doSample: temperature > 0 }, 'generation');
    this.random = seededRandom(this.sampling.seed);
    this.arrivedAt = now;
  }

  get id(): string {
    return this.request.id;
  }

  get prefillDone(): boolean {
    return this.prefilled >= this.request.promptIds.length;
  }

  /** Positions its KV slot must hold at most: the prompt and every token but the last generated one. */
  get maxPositions(): number {
    return this.request.promptIds.length + Math.max(0, this.request.maxTokens - 1);
  }

  /** Records a new token; sets finish when it is a stop token or the last one allowed. */
  accept(token: number): void {
    this.generated.push(token);
    if (this.request.stopTokenIds.includes(token)) this.finish = 'stop';
    else if (this.generated.length >= this.request.maxTokens) this.finish = 'length';
  }
}
