// Rotary position embeddings (rotate-half form) with the rope types Llama checkpoints use: default, linear,
// dynamic (NTK) and llama3. Frequencies are float32, computed as transformers computes them.
import { arange, full, tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RopeParameters } from './config.js';

export interface RotarySettings {
  headDim: number;
  maxPositionEmbeddings: number;
  rope: RopeParameters;
}

/** inv_freq[i] = 1 / theta^(2i/dim) in float32, as a JS array (read back from torch for identical rounding). */
function defaultInvFreq(theta: number, dim: number): Float32Array {
  return scope(() => {
    const exponents = arange(0, dim, 2, { dtype: 'float32' }).div(dim);
    return full([exponents.shape[0]], theta, { dtype: 'float32' }).pow(exponents).reciprocal().toArray() as Float32Array;
  });
}

/** Llama 3.1: long wavelengths divided by factor, short kept, the band between smoothly blended. */
function llama3InvFreq(invFreq: Float32Array, rope: RopeParameters): Float32Array {
  const f = Math.fround;
  const factor = rope.factor as number;
  const low = rope.low_freq_factor as number;
  const high = rope.high_freq_factor as number;
  const oldContext = rope.original_max_position_embeddings as number;
  const lowWavelen = oldContext / low;
  const highWavelen = oldContext / high;
  return invFreq.map((freq) => {
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen > lowWavelen) return f(freq / factor);
    if (wavelen < highWavelen) return freq;
    const smooth = f((oldContext / wavelen - low) / (high - low));
    return f(f((1 - smooth) * freq) / factor + f(smooth * freq));
  });
}

export class RotaryEmbedding {
  readonly #settings: RotarySettings;
  readonly #invFreq: Float32Array;

  constructor(settings: RotarySettings) {
    this.#settings = settings;
    const { rope, headDim } = settings;
    const base = defaultInvFreq(rope.rope_theta, headDim);
    if (rope.rope_type === 'linear') this.#invFreq = base.map((x) => x / (rope.factor as number));
    else if (rope.rope_type === 'llama3') this.#invFreq = llama3InvFreq(base, rope);
    else this.#invFreq = base;
  }

  /** Dynamic NTK: a larger base once the sequence outgrows max_position_embeddings. */
  #invFreqFor(seqLength: number): Float32Array {
    const { rope, headDim, maxPositionEmbeddings } = this.#settings;
    if (rope.rope_type !== 'dynamic' || seqLength <= maxPositionEmbeddings) return this.#invFreq;
    const factor = rope.factor as number;
    const theta = rope.rope_theta * ((factor * seqLength) / maxPositionEmbeddings - (factor - 1)) ** (headDim / (headDim - 2));
    return defaultInvFreq(theta, headDim);
  }

  /** cos and sin, each (B, S, headDim) in dtype, for int64 positions (B, S). */
  cosSin(positions: Tensor, dtype: DType): [Tensor, Tensor] {
    return scope(() => {
      const dynamic = this.#settings.rope.rope_type === 'dynamic';
      const frequencies = dynamic ? this.#invFreqFor(positions.max().item() + 1) : this.#invFreq;
      const invFreq = tensor(frequencies, { device: positions.device });
      const freqs = positions.to('float32').unsqueeze(-1).mul(invFreq); // (B, S, hd/2)
      const emb = cat([freqs, freqs], -1);
      return [emb.cos().to(dtype), emb.sin().to(dtype)] as [Tensor, Tensor];
    });
  }
}
