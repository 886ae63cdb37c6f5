// node-peft predict: forward a model (+ adapters) on named inputs from a safetensors file; write `logits`.
import { TorchError } from '../errors.js';
import type { ModelInputs } from '../models/index.js';
import { load, save } from '../serialization/index.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { integerOption, optionalString, parseCommandArgs, requireString, stringList, UsageError } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, loadWithAdapters, parseAdapterSpecs, requireFile } from './load-model.js';
import { formatPredictions, predictImages, resolveProcessor } from './predict-images.js';

const USAGE = `usage: node-peft predict --model DIR [--adapter [NAME=]DIR ...] [--adapter-names a,b,...]
                        (--inputs in.safetensors --out out.safetensors | --images a.jpg b.png ... [--top-k 5] [--out F])
  Runs the model's forward on the tensors of in.safetensors (keys are Hugging Face input names:
  pixel_values, input_ids, attention_mask, ...) and writes {logits} to out.safetensors; or on image files
  (through the adapter's preprocessor_config.json, else the model's, else --processor DIR) and prints each
  image's top-k labels with probabilities (--out also writes the logits).
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

export interface ImagePredictRequest {
  model: string;
  adapters: [string, string][];
  adapterNames: string[] | null;
  images: string[];
  topK: number;
  processor: string | null;
  out: string | null;
}

export function parsePredictArgs(argv: string[]): PredictRequest | ImagePredictRequest {
  const { values, positionals } = parseCommandArgs('predict', argv, {
    model: { type: 'string' },
    adapter: { type: 'string', multiple: true },
    'adapter-names': { type: 'string' },
    inputs: { type: 'string' },
    out: { type: 'string' },
    images: { type: 'string', multiple: true },
    'top-k': { type: 'string' },
    processor: { type: 'string' },
  }, Infinity);
  const model = requireString('predict', values, 'model');
  const adapters = parseAdapterSpecs('predict', stringList(values, 'adapter'));
  const namesOption = values['adapter-names'];
  const adapterNames = typeof namesOption === 'string' ? namesOption.split(',').map((n) => n.trim()) : null;
  if (adapterNames && adapters.length === 0) throw new UsageError('predict: --adapter-names needs at least one --adapter');
  const images = stringList(values, 'images');
  if (images.length > 0) {
    if (values.inputs !== undefined) throw new UsageError('predict: give --inputs or --images, not both');
    return { model, adapters, adapterNames, images: [...images, ...positionals], topK: integerOption('predict', values, 'top-k', 5), processor: optionalString(values, 'processor') ?? null, out: optionalString(values, 'out') ?? null };
  }
  if (positionals.length > 0) throw new UsageError(`predict: unexpected argument '${positionals[0]}'`);
  const inputs = requireString('predict', values, 'inputs');
  const out = requireString('predict', values, 'out');
  requireFile('predict', '--inputs', inputs);
  return { model, adapters, adapterNames, inputs, out };
}

/** Loads, preprocesses the images, runs; prints the top labels (and writes the logits with --out). */
export async function runPredictImages(request: ImagePredictRequest, log: (line: string) => void): Promise<string[]> {
  const base = await loadBaseModel('predict', request.model);
  const peft = await loadWithAdapters(base, request.adapters);
  base.eval();
  try {
    const processor = await resolveProcessor(request.processor, request.adapters.map(([, dir]) => dir), request.model, base, log);
    const { logits, top } = await predictImages(base, peft, processor, request.images, request.topK, request.adapterNames);
    try {
      if (request.out) await save(request.out, { logits });
    } finally {
      logits.dispose();
    }
    return formatPredictions(request.images, top);
  } finally {
    (peft ?? base).dispose();
  }
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
    if ('images' in request) {
      for (const line of await runPredictImages(request, io.out)) io.out(line);
      if (request.out) io.out(`wrote logits to ${request.out}`);
      return 0;
    }
    const shape = await runPredict(request);
    io.out(`wrote logits [${shape.join(', ')}] to ${request.out}`);
    return 0;
  },
};
