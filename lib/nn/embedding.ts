// Embedding, as torch.nn.Embedding.
import { TorchError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { embedding } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegativeInt } from './check.js';
import { normal_ } from './init.js';
import { Module } from './module.js';
import { emptyParameter, type FactoryOptions, type Parameter } from './parameter.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** Row that gets no gradient and starts at zero; negative counts from the end, as in PyTorch. */
  paddingIdx?: number | null;
}

/** A lookup table: weight [numEmbeddings, embeddingDim] ~ N(0, 1), padding row zeroed. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkNonNegativeInt('Embedding', 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkNonNegativeInt('Embedding', 'embeddingDim', embeddingDim);
    const padding = options.paddingIdx ?? null;
    if (padding !== null && (!Number.isInteger(padding) || padding >= numEmbeddings || padding < -numEmbeddings)) {
      throw new TorchError(`Embedding: paddingIdx must be an integer within [${-numEmbeddings}, ${numEmbeddings - 1}], got ${padding}`);
    }
    this.paddingIdx = padding !== null && padding < 0 ? numEmbeddings + padding : padding;
    this.registerParameter('weight', emptyParameter([numEmbeddings, embeddingDim], options));
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    this.zeroPaddingRow();
  }

  zeroPaddingRow(): void {
    if (this.paddingIdx === null) return;
    noGrad(() => {
      const row = this.weight.select(0, this.paddingIdx as number);
      row.zero_();
      row.dispose();
    });
  }

  get weight(): Parameter {
    return this.param('weight');
  }

  forward(input: Tensor): Tensor {
    // (...) int64 -> (..., embeddingDim)
    return embedding(input, this.value('weight'), this.paddingIdx);
  }
}
