// node-peft predict: forward a model (+ adapters) on named inputs from a safetensors file; write `logits`.
import { TorchError } from '../errors.js';
import type { ModelInputs } from '../models/index.js';
import { load, save } from '../serialization/index.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { parseCommandArgs, requireString, stringList, UsageError } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, loadWithAdapters, parseAdapterSpecs, requireFile } from './load-model.js';

const USAGE = `usage: node-peft predict --model DIR [--adapter [NAME=]DIR ...] [--adapter-names a,b,...]
                        --inputs in.safetensors --out out.safetensors
  Runs the model's forward on the tensors of in.safetensors (keys are Hugging Face input names:
  pixel_values, input_ids, attention_mask, ...) and writes {logits} to out.safetensors.
  --adapter        an adapter folder; NAME=DIR names it (default: 'default'); repeat for several,
                   the first is active
  --adapter-names  one adapter name per batch row ('__base__' = no adapter), for a mixed batch`;

export interface PredictRequest {
  model: string;
  adapters: [string, string][];
  adapterNames: string[] | null;
  inputs: string;
  out: string;
}

export function parsePredictArgs(argv: string[]): PredictRequest {
  const { values } = parseCommandArgs('predict', argv, {
    model: { type: 'string' },
    adapter: { type: 'string', multiple: true },
    'adapter-names': { type: 'string' },
    inputs: { type: 'string' },
    out: { type: 'string' },
  });
  const model = requireString('predict', values, 'model');
  const inputs = requireString('predict', values, 'inputs');
  const out = requireString('predict', values, 'out');
  requireFile('predict', '--inputs', inputs);
  const adapters = parseAdapterSpecs('predict', stringList(values, 'adapter'));
  const namesOption = values['adapter-names'];
  const adapterNames = typeof namesOption === 'string' ? namesOption.split(',').map((n) => n.trim()) : null;
  if (adapterNames && adapters.length === 0) throw new UsageError('predict: --adapter-names needs at least one --adapter');
  return { model, adapters, adapterNames, inputs, out };
}

/** Loads, runs and writes; returns the logits' shape. */
export async function runPredict(request: PredictRequest): Promise<readonly number[]> {
  const base = await loadBaseModel('predict', request.model);
  const peft = await loadWithAdapters(base, request.adapters);
  base.eval();
  const inputs = await load(request.inputs);
  try {
    const batch = Object.values(inputs)[0]?.shape[0];
    if (batch === undefined) throw new TorchError(`predict: ${request.inputs} holds no tensors`);
    if (request.adapterNames && request.adapterNames.length !== batch) {
      throw new UsageError(`predict: --adapter-names gives ${request.adapterNames.length} names for a batch of ${batch} rows`);
    }
    const logits = noGrad(() =>
      scope(() => {
        if (peft) {
          const args = request.adapterNames ? { ...inputs, adapter_names: request.adapterNames } : { ...inputs };
          return (peft.forward(args) as { logits: Tensor }).logits.contiguous();
        }
        return base.forward(inputs as ModelInputs).logits.contiguous();
      }),
    );
    try {
      await save(request.out, { logits });
      return logits.shape;
    } finally {
      logits.dispose();
    }
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    (peft ?? base).dispose();
  }
}

export const predictCommand: Command = {
  name: 'predict',
  usage: USAGE,
  async run(argv, io) {
    const request = parsePredictArgs(argv);
    const shape = await runPredict(request);
    io.out(`wrote logits [${shape.join(', ')}] to ${request.out}`);
    return 0;
  },
};
