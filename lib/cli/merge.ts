// node-peft merge: fold an adapter into its base model and write the full model as a Hugging Face folder.
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandArgs, requireString, UsageError } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, loadWithAdapters, parseAdapterSpecs, parseModelDtype } from './load-model.js';

const USAGE = `usage: node-peft merge --model DIR --adapter DIR --out DIR [--dtype auto|float32|bfloat16|float16] [--force]
  Loads the base model and the adapter, merges the adapter into the weights (merge_and_unload) and writes
  config.json + model.safetensors to --out, loadable without node-peft's PEFT layer. The model files in --out
  are replaced as a whole (a crash leaves the old model or the new one); other files there stay.
  --dtype  the dtype the base is loaded, merged and written in (default auto: the checkpoint's); the
           delta is computed in float32 and rounded once
  --force  allow --out to be the --model folder (the base model is overwritten by the merged one)`;

function samePath(a: string, b: string): boolean {
  const real = (p: string): string => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

export const mergeCommand: Command = {
  name: 'merge',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs('merge', argv, {
      model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, force: { type: 'boolean' },
    });
    const modelDir = requireString('merge', values, 'model');
    const adapters = parseAdapterSpecs('merge', [requireString('merge', values, 'adapter')]);
    const out = requireString('merge', values, 'out');
    if (samePath(out, modelDir) && values.force !== true) {
      throw new UsageError(`merge: --out ${out} is the --model folder: the base model would be overwritten; give another --out, or --force`);
    }
    const base = await loadBaseModel('merge', modelDir, parseModelDtype('merge: --dtype', values.dtype));
    const peft = await loadWithAdapters(base, adapters);
    try {
      peft?.mergeAndUnload();
      await base.savePretrained(out);
    } finally {
      base.dispose();
    }
    io.out(`merged ${adapters[0][1]} into ${modelDir}; wrote ${out}`);
    return 0;
  },
};
