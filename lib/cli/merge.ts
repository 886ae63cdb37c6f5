// node-peft merge: fold an adapter into its base model and write the full model as a Hugging Face folder.
import { parseCommandArgs, requireString } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, loadWithAdapters, parseAdapterSpecs } from './load-model.js';

const USAGE = `usage: node-peft merge --model DIR --adapter DIR --out DIR
  Loads the base model and the adapter, merges the adapter into the weights (merge_and_unload) and writes
  config.json + model.safetensors to --out, loadable without node-peft's PEFT layer.`;

export const mergeCommand: Command = {
  name: 'merge',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs('merge', argv, { model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' } });
    const modelDir = requireString('merge', values, 'model');
    const adapters = parseAdapterSpecs('merge', [requireString('merge', values, 'adapter')]);
    const out = requireString('merge', values, 'out');
    const base = await loadBaseModel('merge', modelDir);
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
