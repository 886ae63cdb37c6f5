// Floating-point work of one W1 step (matmuls only; norms, softmax and elementwise ops are not counted),
// the numerator of W1's fraction of the measured GEMM peak.
export interface DecoderShape {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  seq: number;
}

export interface LoraShape {
  r: number;
  /** How many h→h projections per layer carry LoRA (q, k, v, o = 4). */
  targetsPerLayer: number;
}

/**
 * Forward + backward FLOPs of one LoRA training step on a Llama-style decoder with a frozen base:
 * forward: every Linear (2·T·in·out), attention scores and mixing (4·B·S²·h per layer), the LoRA pairs;
 * backward: input gradients of every Linear except layer 0's q/k/v (their input needs no gradient), attention
 * backward (twice its forward), and LoRA's weight and input gradients (twice its forward). No base weight gradients.
 */
export function loraTrainFlops(m: DecoderShape, lora: LoraShape, batch: number): number {
  const T = batch * m.seq;
  const h = m.hidden;
  const layerLinear = 4 * h * h + 3 * h * m.intermediate;
  const linearForward = 2 * T * (m.layers * layerLinear + h * m.vocab);
  const attentionForward = m.layers * 4 * batch * m.seq * m.seq * h;
  const loraForward = m.layers * lora.targetsPerLayer * 2 * T * lora.r * (2 * h);
  const linearInputGrads = linearForward - 2 * T * 3 * h * h;
  const backward = linearInputGrads + 2 * attentionForward + 2 * loraForward;
  return linearForward + attentionForward + loraForward + backward;
}
