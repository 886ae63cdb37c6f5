// Optimizer base: parameter groups (as torch.optim), lazily created per-parameter state owned here, and state
// export/import as tensors + a JSON-able description (easy to write as safetensors + metadata).
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import { Parameter } from '../nn/parameter.js';
import { zeros, zerosLike } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** Hyperparameters every optimizer has; a group may override any of its optimizer's options. */
export interface BaseOptions {
  lr: number;
  weightDecay: number;
}

type Named = readonly [string, Parameter];
export type ParameterSource = Iterable<Parameter> | Iterable<Named>;
export type ParamGroupInput<O> = Partial<O> & { params: ParameterSource };
/** Parameters (plain, or named as module.namedParameters() gives them), or groups of them with their own options. */
export type ParamsInput<O> = ParameterSource | ParamGroupInput<O>[];

export type ParamGroup<O> = O & {
  params: Parameter[];
  /** Names given with the parameters (namedParameters()), checked when state is loaded; null if none. */
  paramNames: string[] | null;
  /** The lr a scheduler scales (set by the scheduler, as PyTorch's 'initial_lr'). */
  initialLr?: number;
};

export type OptionValue = number | boolean | number[] | string[] | null;

/** The JSON half of an optimizer's state: which optimizer, and each group's options and parameter indices. */
export interface OptimizerMeta {
  format: 'node-peft.optimizer.v1';
  optimizer: string;
  param_groups: Record<string, OptionValue>[];
}

/** Per-parameter state tensors under 'state.<param index>.<name>' (PyTorch's names, e.g. exp_avg), plus meta. */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  meta: OptimizerMeta;
}

const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function isNamed(item: unknown): item is Named {
  return Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && item[1] instanceof Parameter;
}

function readParams(source: ParameterSource, where: string): { params: Parameter[]; names: string[] | null } {
  const items = [...(source as Iterable<unknown>)];
  if (items.every((item) => item instanceof Parameter)) return { params: items as Parameter[], names: null };
  if (items.every(isNamed)) return { params: items.map(([, p]) => p), names: items.map(([name]) => name) };
  throw new TorchError(`${where}: expected Parameters or [name, Parameter] pairs (as namedParameters() gives), got ${items.map((i) => (i as object)?.constructor?.name ?? typeof i).slice(0, 3).join(', ')}`);
}

export abstract class Optimizer<O extends BaseOptions> {
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created on a parameter's first step with a gradient. */
  protected readonly state = new Map<Parameter, Record<string, Tensor>>();

  protected constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = Object.freeze({ ...defaults });
    this.validate(defaults, 'options');
    const items = [...(params as Iterable<unknown>)];
    if (items.length === 0) throw new TorchError(`${this.constructor.name}: got an empty parameter list`);
    const isGroup = (item: unknown): item is ParamGroupInput<O> =>
      typeof item === 'object' && item !== null && !(item instanceof Parameter) && !Array.isArray(item) && 'params' in item;
    const groups = items.every(isGroup) ? items : [{ params: items as ParameterSource } as ParamGroupInput<O>];
    for (const group of groups) this.addParamGroup(group);
  }

  /** Adds a group; options it leaves out come from the optimizer's defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = `${this.constructor.name} param group ${this.paramGroups.length}`;
    const { params: source, ...overrides } = group;
    const { params, names } = readParams(source, where);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (seen.has(p)) throw new TorchError(`${where}: some parameters appear in more than one parameter group`);
      seen.add(p);
    }
    const options = { ...this.defaults, ...(overrides as unknown as Partial<O>) } as O;
    this.validate(options, where);
    this.paramGroups.push({ ...options, params, paramNames: names });
  }

  /** Throws a TorchError naming the option when a value is out of range. */
  protected validate(options: O, where: string): void {
    if (typeof options.lr !== 'number' || !(options.lr >= 0)) throw new TorchError(`${where}: invalid learning rate lr=${options.lr} (expected a number >= 0)`);
    if (typeof options.weightDecay !== 'number' || !(options.weightDecay >= 0)) {
      throw new TorchError(`${where}: invalid weightDecay=${options.weightDecay} (expected a number >= 0)`);
    }
  }

  /** Updates every parameter that has a gradient (one native call per group). */
  abstract step(): void;

  /** A new parameter's state tensors (PyTorch's names). */
  protected abstract initState(p: Parameter): Record<string, Tensor>;

  /** Drops every gradient (set to null, PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    N.zeroGrads(this.paramGroups.flatMap((g) => g.params.map((p) => p.handle)));
  }

  /** Creates state for the group's parameters that have a gradient for the first time; returns them. */
  protected ensureState(group: ParamGroup<O>): Parameter[] {
    const missing = group.params.filter((p) => !this.state.has(p));
    if (missing.length === 0) return [];
    const fresh = (N.gradIndices(missing.map((p) => p.handle)) as number[]).map((i) => missing[i]);
    for (const p of fresh) this.state.set(p, this.initState(p));
    return fresh;
  }

  /** Zeros shaped like p that outlive any scope (state is owned by the optimizer). */
  protected static zerosLike(p: Tensor): Tensor {
    return keep(zerosLike(p));
  }

  /** A float32 scalar step counter on p's device, starting at 0. */
  protected static stepCounter(p: Tensor): Tensor {
    return keep(zeros([], { dtype: 'float32', device: p.device }));
  }

  /** The state tensors of one parameter (empty before its first step). */
  stateOf(p: Parameter): Readonly<Record<string, Tensor>> {
    return this.state.get(p) ?? {};
  }

  #allParams(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * The state to resume from: the live state tensors (not copies; don't dispose them) and a JSON-able meta.
   * Save with safetensors as `save(path, sd.tensors, { optimizer: JSON.stringify(sd.meta) })`.
   */
  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    this.#allParams().forEach((p, index) => {
      for (const [name, t] of Object.entries(this.state.get(p) ?? {})) tensors[`state.${index}.${name}`] = t;
    });
    let next = 0;
    const groups = this.paramGroups.map((group) => {
      const { params, paramNames, ...options } = group;
      const entry: Record<string, OptionValue> = {};
      for (const [key, value] of Object.entries(options)) entry[toSnake(key)] = value as OptionValue;
      entry.params = params.map(() => next++);
      if (paramNames) entry.param_names = paramNames;
      return entry;
    });
    return { tensors, meta: { format: 'node-peft.optimizer.v1', optimizer: this.constructor.name, param_groups: groups } };
  }

  /** Restores options and state written by stateDict() for the same parameters (tensors are copied). */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const { meta, tensors } = stateDict;
    const name = this.constructor.name;
    if (meta?.optimizer !== name) throw new TorchError(`${name}.loadStateDict: the state is from ${JSON.stringify(meta?.optimizer)}, not ${name}`);
    if (meta.param_groups.length !== this.paramGroups.length) {
      throw new TorchError(`${name}.loadStateDict: the state has ${meta.param_groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    this.paramGroups.forEach((group, g) => {
      const saved = meta.param_groups[g];
      const count = (saved.params as number[] | undefined)?.length;
      if (count !== group.params.length) {
        throw new TorchError(`${name}.loadStateDict: parameter group ${g} has ${count} parameters in the state, ${group.params.length} here`);
      }
      const savedNames = saved.param_names as string[] | undefined;
      const mismatch = savedNames && group.paramNames ? savedNames.findIndex((n, i) => n !== group.paramNames?.[i]) : -1;
      if (mismatch >= 0) {
        throw new TorchError(`${name}.loadStateDict: group ${g} parameter ${mismatch} is '${savedNames?.[mismatch]}' in the state but '${group.paramNames?.[mismatch]}' here`);
      }
    });
    const params = this.#allParams();
    const restored = new Map<Parameter, Record<string, Tensor>>();
    for (const [key, source] of Object.entries(tensors)) {
      const match = /^state\.(\d+)\.(\w+)$/.exec(key);
      const p = match ? params[Number(match[1])] : undefined;
      if (!match || !p) throw new TorchError(`${name}.loadStateDict: unexpected state tensor '${key}' (expected state.<index < ${params.length}>.<name>)`);
      const entry = restored.get(p) ?? {};
      const dtype = match[2] === 'step' ? 'float32' : p.dtype;
      entry[match[2]] = keep(source.to({ dtype, device: p.device, copy: true }));
      restored.set(p, entry);
    }
    this.paramGroups.forEach((group, g) => {
      for (const [key, value] of Object.entries(meta.param_groups[g])) {
        if (key === 'params' || key === 'param_names') continue;
        (group as unknown as Record<string, unknown>)[toCamel(key)] = value;
      }
    });
    this.#disposeState();
    for (const [p, entry] of restored) this.state.set(p, entry);
  }

  #disposeState(): void {
    for (const entry of this.state.values()) for (const t of Object.values(entry)) t.dispose();
    this.state.clear();
  }

  /** Frees the state tensors now (the parameters stay the model's). */
  dispose(): void {
    this.#disposeState();
  }
}
