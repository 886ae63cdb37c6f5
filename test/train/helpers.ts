// A tiny classifier and data set for the training-loop tests.
import { nn, torch, type Tensor } from '../../lib/index.js';

// Tiny ops run fastest on one thread, and test files run side by side.
torch.setNumThreads(1);

/** Two-layer MLP over `features` inputs; forward({ x }) returns { logits }. */
export class TinyClassifier extends nn.Module {
  constructor(features = 4, hidden = 8, classes = 3) {
    super();
    this.registerModule('fc1', new nn.Linear(features, hidden));
    this.registerModule('fc2', new nn.Linear(hidden, classes));
  }

  forward(inputs: Record<string, Tensor>): { logits: Tensor } {
    return torch.scope(() => {
      const hidden = this.child<nn.Linear>('fc1').forward(inputs.x).relu();
      return { logits: this.child<nn.Linear>('fc2').forward(hidden) };
    });
  }
}

/** `rows` points whose class is the index of their largest coordinate among the first three (seeded). */
export function tinyData(rows: number, seed = 0): { x: Tensor; labels: Tensor } {
  torch.manualSeed(seed);
  const x = torch.randn([rows, 4]);
  const labels = torch.scope(() => x.narrow(1, 0, 3).argmax(1));
  return { x, labels };
}
