// Packing and collation as TRL 1.13: best-fit-decreasing bins of maxLength tokens ('bfd', overlong examples
// truncated), and DataCollatorForLanguageModeling (right padding; padding-free rows with per-document
// position_ids and no loss on each document's first token).
import type { SftExample } from './sft.js';

/** Best-fit decreasing: longest first, each into the fullest bin it fits (oldest such bin first). */
export function packBestFit(examples: readonly SftExample[], maxLength: number): SftExample[] {
  const items = examples
    .filter((e) => e.input_ids.length > 0)
    .map((e, index) => ({ index, ids: e.input_ids.slice(0, maxLength), labels: e.labels.slice(0, maxLength) }));
  const order = [...items].sort((a, b) => b.ids.length - a.ids.length || a.index - b.index);
  const bins: { items: typeof items; length: number }[] = [];
  const bySpace = new Map<number, (typeof bins)[number][]>();
  for (const item of order) {
    const spaces = [...bySpace.entries()].filter(([space, queue]) => space >= item.ids.length && queue.length > 0).map(([s]) => s);
    const best = spaces.length > 0 ? Math.min(...spaces) : undefined;
    let bin: (typeof bins)[number];
    if (best === undefined || best >= maxLength) {
      bin = { items: [], length: 0 };
      bins.push(bin);
    } else {
      bin = bySpace.get(best)!.shift()!;
    }
    bin.items.push(item);
    bin.length += item.ids.length;
    const space = maxLength - bin.length;
    if (!bySpace.has(space)) bySpace.set(space, []);
    bySpace.get(space)!.push(bin);
  }
  return bins.map((bin) => ({
    input_ids: bin.items.flatMap((i) => i.ids),
    labels: bin.items.flatMap((i) => i.labels),
    seq_lengths: bin.items.map((i) => i.ids.length),
  }));
}

export interface CollatedBatch {
  input_ids: number[][];
  labels: number[][];
  /** Absent for padding-free batches (packed rows), which carry position_ids instead. */
  attention_mask?: number[][];
  position_ids?: number[][];
}

/**
 * One batch as TRL's collator makes it. Unpacked: right-padded rows with attention masks. Packed (seq_lengths):
 * padding-free, every example of the batch concatenated into one row, position_ids restarting per document.
 */
export function collateSft(examples: readonly SftExample[], padTokenId: number): CollatedBatch {
  const packed = examples.some((e) => e.seq_lengths !== undefined);
  if (packed) {
    const positions = examples.flatMap((e) => (e.seq_lengths ?? [e.input_ids.length]).flatMap((n) => Array.from({ length: n }, (_, i) => i)));
    const labels = examples.flatMap((e) => e.labels).map((label, i) => (positions[i] === 0 ? -100 : label));
    return { input_ids: [examples.flatMap((e) => e.input_ids)], labels: [labels], position_ids: [positions] };
  }
  const width = Math.max(...examples.map((e) => e.input_ids.length));
  const pad = (row: number[], value: number): number[] => [...row, ...new Array<number>(width - row.length).fill(value)];
  return {
    input_ids: examples.map((e) => pad(e.input_ids, padTokenId)),
    labels: examples.map((e) => pad(e.labels, -100)),
    attention_mask: examples.map((e) => pad(e.input_ids.map(() => 1), 0)),
  };
}
