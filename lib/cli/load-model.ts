// Loading what the commands work on: a Hugging Face model folder, adapters on top of it, input tensors.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fromPretrained as modelFromPretrained, type PreTrainedModel } from '../models/index.js';
import { PeftModel } from '../peft/index.js';
import { type DType, FLOAT_DTYPES } from '../tensor/dtype.js';
import { UsageError } from './args.js';

/** A model dtype given on the command line or in train.json: 'auto' (the checkpoint's) or a floating dtype. */
export type ModelDtype = DType | 'auto';

export function parseModelDtype(what: string, value: unknown): ModelDtype {
  if (value === undefined || value === 'auto') return 'auto';
  if (typeof value === 'string' && (FLOAT_DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new UsageError(`${what}: expected one of auto, ${FLOAT_DTYPES.join(', ')}, got ${JSON.stringify(value)}`);
}

export function requireFolder(command: string, option: string, dir: string, mustHold?: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${command}: ${option} ${dir}: no such folder`);
  if (mustHold && !existsSync(join(dir, mustHold))) throw new UsageError(`${command}: ${option} ${dir}: expected ${mustHold} in it`);
}

export function requireFile(command: string, option: string, path: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`${command}: ${option} ${path}: no such file`);
}

/** `--adapter [NAME=]DIR` entries as [name, dir]; one without a name is 'default'. */
export function parseAdapterSpecs(command: string, specs: readonly string[]): [string, string][] {
  const named = specs.map((spec): [string, string] => {
    const eq = spec.indexOf('=');
    // A path may itself contain '='; a name never contains '/'.
    if (eq > 0 && !spec.slice(0, eq).includes('/')) return [spec.slice(0, eq), spec.slice(eq + 1)];
    return ['default', spec];
  });
  const seen = new Set<string>();
  for (const [name, dir] of named) {
    if (seen.has(name)) throw new UsageError(`${command}: --adapter: the name '${name}' is given twice${name === 'default' ? ' (name adapters as NAME=DIR when there are several)' : ''}`);
    seen.add(name);
    requireFolder(command, '--adapter', dir, 'adapter_config.json');
  }
  return named;
}

/** The base model in `dtype` ('auto': as its config.json / checkpoint says). */
export async function loadBaseModel(command: string, dir: string, dtype: ModelDtype = 'auto'): Promise<PreTrainedModel> {
  requireFolder(command, '--model', dir, 'config.json');
  return modelFromPretrained(dir, { dtype });
}

/** The base model with the adapters loaded strictly (an adapter that does not fit is an error); the first is active. Frozen, eval mode. */
export async function loadWithAdapters(model: PreTrainedModel, adapters: readonly [string, string][]): Promise<PeftModel<PreTrainedModel> | null> {
  if (adapters.length === 0) return null;
  const [[firstName, firstDir], ...others] = adapters;
  const peft = await PeftModel.fromPretrained(model, firstDir, { adapterName: firstName, strict: true });
  for (const [name, dir] of others) await peft.loadAdapter(dir, name, { strict: true });
  peft.setAdapter(firstName);
  peft.eval();
  return peft;
}
