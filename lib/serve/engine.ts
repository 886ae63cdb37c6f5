// Continuous batching for generation (Orca/vLLM style). Each step() first decodes one token for every running
// sequence in one forward (rows may use different adapters: PEFT's adapter_names path), then spends a token
// budget on prefill chunks of admitted prompts, so a long prompt is split over steps instead of stalling the
// decodes. New requests join at step boundaries (FCFS, with a cap on distinct adapters per step that a long
// wait bypasses); finished and cancelled ones leave and free their KV slot. KV slots are reserved for the
// whole request at admission, so no running sequence is ever preempted.
import type { ModelOutput } from '../models/index.js';
import { PagedKVCache, type BatchRow } from '../models/paged-kv-cache.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { chooseTokens, processLogits } from '../models/sampling.js';
import { type FinishReason, type GenerationRequest, Sequence } from './sequence.js';

export interface EngineOptions {
  /** Sequences decoded together at most (default 32). */
  maxNumSeqs?: number;
  /** Prompt tokens prefilled per step at most, over all sequences (default 256). */
  maxPrefillTokens?: number;
  /** Distinct adapters admitted into the running batch at most, unless a request waited agingMs (default 8). */
  maxAdaptersPerStep?: number;
  /** A request waiting this long is admitted past the adapter cap (default 2000 ms). */
  agingMs?: number;
  /** KV pool size in tokens (default maxNumSeqs · the model's context length, at most 2^16). */
  kvCacheTokens?: number;
  blockSize?: number;
}

export interface KVShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** The model's context length. */
  maxPositions: number;
  dtype: DType;
}

/** A forward over one batch, one adapter (or null) per row; synchronous. */
export type BatchForward = (inputs: Record<string, unknown>, rowAdapters: readonly (string | null)[]) => ModelOutput;

export interface StepResult {
  /** [request id, token] for every token made this step, in order. */
  tokens: [string, number][];
  finished: { id: string; reason: FinishReason; promptTokens: number; completionTokens: number; error?: string }[];
  /** Rows in this step's decode forward and prefill forward. */
  decodeRows: number;
  prefillRows: number;
}

export class GenerationEngine implements Disposable {
  readonly options: Required<EngineOptions>;
  readonly kv: PagedKVCache;
  readonly #forward: BatchForward;
  readonly #waiting: Sequence[] = [];
  readonly #running: Sequence[] = [];
  readonly #cancelled = new Set<string>();

  constructor(shape: KVShape, forward: BatchForward, options: EngineOptions = {}) {
    const maxNumSeqs = options.maxNumSeqs ?? 32;
    const blockSize = options.blockSize ?? 16;
    const tokens = options.kvCacheTokens ?? Math.min(maxNumSeqs * shape.maxPositions, 2 ** 16);
    this.options = {
      maxNumSeqs, blockSize, kvCacheTokens: tokens, maxPrefillTokens: options.maxPrefillTokens ?? 256,
      maxAdaptersPerStep: options.maxAdaptersPerStep ?? 8, agingMs: options.agingMs ?? 2000,
    };
    this.kv = new PagedKVCache({ ...shape, blockSize, blocks: Math.ceil(tokens / blockSize) });
    this.#forward = forward;
  }

  /** Queues a request; it joins the batch at a coming step. Throws if its KV slot could never fit. */
  submit(request: GenerationRequest): void {
    const sequence = new Sequence(request, performance.now());
    if (Math.ceil(sequence.maxPositions / this.kv.blockSize) > this.kv.totalBlocks) {
      throw new RangeError(`prompt + max tokens (${sequence.maxPositions + 1}) exceed the KV cache (${this.options.kvCacheTokens} tokens)`);
    }
    this.#waiting.push(sequence);
  }

  /** Stops a request at the next step (its KV slot is freed then); unknown ids are ignored. */
  cancel(id: string): void {
    this.#cancelled.add(id);
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running.length;
  }

  hasWork(): boolean {
    return this.#waiting.length > 0 || this.#running.length > 0;
  }

  /** Adapters of the requests queued or running (they must stay loaded). */
  adaptersInUse(): Set<string | null> {
    return new Set([...this.#waiting, ...this.#running].map((s) => s.request.adapter));
  }

  step(): StepResult {
    const result: StepResult = { tokens: [], finished: [], decodeRows: 0, prefillRows: 0 };
    this.#dropCancelled(result);
    this.#admit();
    const decoding = this.#running.filter((s) => s.prefillDone && s.finish === null);
    if (decoding.length > 0) {
      this.#run(decoding.map((s) => ({ sequence: s, ids: [s.generated[s.generated.length - 1]] })), result);
      result.decodeRows = decoding.length;
    }
    const chunks = this.#prefillChunks();
    if (chunks.length > 0) {
      this.#run(chunks, result);
      result.prefillRows = chunks.length;
    }
    this.#retireFinished(result);
    return result;
  }

  #dropCancelled(result: StepResult): void {
    if (this.#cancelled.size === 0) return;
    for (const list of [this.#waiting, this.#running]) {
      for (const s of list) if (this.#cancelled.has(s.id)) s.finish = 'abort';
    }
    this.#cancelled.clear();
    this.#retireFinished(result);
  }

  /** FCFS into free KV; a request whose adapter would exceed the per-step adapter cap waits unless it aged. */
  #admit(): void {
    const adapters = new Set(this.#running.map((s) => s.request.adapter));
    const now = performance.now();
    for (let i = 0; i < this.#waiting.length && this.#running.length < this.options.maxNumSeqs; ) {
      const s = this.#waiting[i];
      const newAdapter = !adapters.has(s.request.adapter);
      const aged = now - s.arrivedAt >= this.options.agingMs;
      if (newAdapter && adapters.size >= this.options.maxAdaptersPerStep && !aged) {
        i++;
        continue;
      }
      if (!this.kv.reserve(s.table, s.maxPositions)) break; // FCFS: nobody overtakes a request waiting for KV
      this.#waiting.splice(i, 1);
      this.#running.push(s);
      adapters.add(s.request.adapter);
    }
  }

  /** Prompt chunks for this step, oldest first, within the prefill token budget. */
  #prefillChunks(): { sequence: Sequence; ids: number[] }[] {
    let budget = this.options.maxPrefillTokens;
    const chunks: { sequence: Sequence; ids: number[] }[] = [];
    for (const s of this.#running) {
      if (s.prefillDone || budget <= 0) continue;
      const take = Math.min(budget, s.request.promptIds.length - s.prefilled);
      chunks.push({ sequence: s, ids: s.request.promptIds.slice(s.prefilled, s.prefilled + take) });
      budget -= take;
    }
    return chunks;
  }

  /** One forward over these rows (left-padded to the longest chunk); a row that finished its prompt gets a token. */
  #run(rows: { sequence: Sequence; ids: number[] }[], result: StepResult): void {
    const chunk = Math.max(...rows.map((r) => r.ids.length));
    const batchRows: BatchRow[] = rows.map((r) => ({ table: r.sequence.table, newTokens: r.ids.length }));
    const emitting = rows.map((r) => r.sequence.prefillDone || r.sequence.prefilled + r.ids.length >= r.sequence.request.promptIds.length);
    let picked: number[];
    try {
      picked = noGrad(() => scope(() => {
        const view = this.kv.view(batchRows, chunk);
        try {
          const ids = rows.flatMap((r) => [...new Array<number>(chunk - r.ids.length).fill(0), ...r.ids]);
          const { logits } = this.#forward({
            input_ids: tensor(ids, { dtype: 'int64' }).view(rows.length, chunk),
            attention_mask: view.attentionMask(),
            position_ids: view.positionIds(),
            past_key_values: view,
            logits_to_keep: 1,
          }, rows.map((r) => r.sequence.request.adapter));
          const tokens = this.#pick(logits.select(1, logits.shape[1] - 1), rows.map((r) => r.sequence), emitting);
          view.commit();
          return tokens;
        } finally {
          view.dispose();
        }
      }));
    } catch (error) {
      for (const r of rows) r.sequence.finish = 'error';
      this.#failed = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return;
    }
    rows.forEach((r, i) => {
      const s = r.sequence;
      if (!s.prefillDone) s.prefilled += r.ids.length;
      if (!emitting[i]) return;
      s.accept(picked[i]);
      result.tokens.push([s.id, picked[i]]);
    });
  }

  #failed = '';

  /** Next tokens: argmax for greedy rows (on the batch), a seeded draw for sampling rows; -1 where none is due. */
  #pick(last: Tensor, sequences: Sequence[], emitting: boolean[]): number[] {
    const greedy = Array.from(last.argmax(-1).toArray(), Number);
    return sequences.map((s, i) => {
      if (!emitting[i]) return -1;
      if (!s.sampling.doSample) return greedy[i];
      return scope(() => chooseTokens(processLogits(last.narrow(0, i, 1), null, s.sampling), s.sampling, s.random)[0]);
    });
  }

  #retireFinished(result: StepResult): void {
    for (const list of [this.#waiting, this.#running]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const s = list[i];
        if (s.finish === null) continue;
        list.splice(i, 1);
        this.kv.release(s.table);
        result.finished.push({
          id: s.id, reason: s.finish, promptTokens: s.request.promptIds.length, completionTokens: s.generated.length,
          ...(s.finish === 'error' ? { error: this.#failed } : {}),
        });
      }
    }
    result.finished.sort((a, b) => a.id.localeCompare(b.id));
  }

  dispose(): void {
    this.kv.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
