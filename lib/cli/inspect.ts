// node-peft inspect: an adapter folder's config and tensors; with --model, what its config targets there.
import { join } from 'node:path';
import { ModulesToSaveWrapper, PeftModel, readAdapterConfig, WEIGHTS_NAME } from '../peft/index.js';
import { readHeader } from '../serialization/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, requireFile, requireFolder } from './load-model.js';

const USAGE = `usage: node-peft inspect ADAPTER_DIR [--model DIR] [--json]
  Prints the adapter's main config fields and every tensor with its dtype and shape. With --model, loads the
  base model and the adapter and lists the modules that get LoRA layers, the modules_to_save copies and the
  parameters saved with the adapter.`;

const CONFIG_FIELDS = ['peft_type', 'task_type', 'r', 'lora_alpha', 'lora_dropout', 'use_rslora', 'use_dora', 'bias', 'target_modules',
  'exclude_modules', 'modules_to_save', 'layers_to_transform', 'rank_pattern', 'alpha_pattern', 'base_model_name_or_path', 'peft_version'] as const;

interface Targets {
  loraModules: string[];
  modulesToSave: string[];
  parametersToSave: string[];
  trainableParameters: number;
  allParameters: number;
}

async function targetsIn(modelDir: string, adapterDir: string): Promise<Targets> {
  const model = await loadBaseModel('inspect', modelDir);
  const peft = await PeftModel.fromPretrained(model, adapterDir, { warn: () => undefined });
  try {
    const [, all] = peft.getNbTrainableParameters();
    const adapterSize = peft.namedParameters()
      .filter(([name]) => /\.lora_|modules_to_save\./.test(name))
      .reduce((sum, [, p]) => sum + p.numel(), 0)
      + [...peft.parameterWrappers.values()].reduce((sum, w) => sum + w.original.numel(), 0);
    return {
      loraModules: peft.targetedModuleNames,
      modulesToSave: peft.model.namedModules().filter(([, m]) => m instanceof ModulesToSaveWrapper).map(([name]) => name),
      parametersToSave: [...peft.parameterWrappers.keys()],
      trainableParameters: adapterSize,
      allParameters: all,
    };
  } finally {
    peft.dispose();
  }
}

export const inspectCommand: Command = {
  name: 'inspect',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('inspect', argv, { model: { type: 'string' }, json: { type: 'boolean' } }, 1);
    const dir = positionals[0];
    if (!dir) throw new (await import('./args.js')).UsageError('inspect: give the adapter folder');
    requireFolder('inspect', 'ADAPTER_DIR', dir, 'adapter_config.json');
    requireFile('inspect', 'ADAPTER_DIR', join(dir, WEIGHTS_NAME));
    const config = await readAdapterConfig(dir, () => undefined);
    const header = await readHeader(join(dir, WEIGHTS_NAME));
    const tensors = header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
    const modelDir = typeof values.model === 'string' ? values.model : null;
    const targets = modelDir ? await targetsIn(modelDir, dir) : null;
    const fields = Object.fromEntries(CONFIG_FIELDS.map((f) => [f, (config as unknown as Record<string, unknown>)[f]]));
    if (values.json) {
      io.out(JSON.stringify({ adapter: dir, config: fields, metadata: header.metadata, tensors, targets }, null, 2));
      return 0;
    }
    io.out(`adapter ${dir}`);
    for (const [key, value] of Object.entries(fields)) io.out(`  ${key.padEnd(24)} ${JSON.stringify(value)}`);
    const elements = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
    io.out(`tensors (${tensors.length}, ${elements.toLocaleString('en-US')} elements):`);
    const width = Math.max(...tensors.map((t) => t.name.length), 0);
    for (const t of tensors) io.out(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)} [${t.shape.join(', ')}]`);
    if (targets && modelDir) {
      io.out(`in ${modelDir}:`);
      io.out(`  LoRA on ${targets.loraModules.length} modules:`);
      for (const name of targets.loraModules) io.out(`    ${name}`);
      io.out(`  modules_to_save copies: ${targets.modulesToSave.length ? targets.modulesToSave.join(', ') : 'none'}`);
      io.out(`  parameters saved with the adapter: ${targets.parametersToSave.length ? targets.parametersToSave.join(', ') : 'none'}`);
      io.out(`  adapter parameters: ${targets.trainableParameters.toLocaleString('en-US')} of ${targets.allParameters.toLocaleString('en-US')} in all`);
    }
    return 0;
  },
};
