// Module: ordered registries of parameters, buffers and children, named exactly as PyTorch names them.
// Layers read their parameters and children through the registries on every forward (never cached),
// so replaceModule() / replaceParameter() take effect at once (PEFT relies on this).
import { StateDictError, TorchError } from '../errors.js';
import { checkDevice, checkFloatDtype, type Device, type DType, isFloating } from '../tensor/dtype.js';
import { noGrad } from '../tensor/autograd.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

function checkName(name: string, kind: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new TorchError(`${kind} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

export abstract class Module {
  readonly #parameters = new Map<string, Parameter | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #children = new Map<string, Module>();
  /** Parameters whose forward value is temporarily another tensor (parametrize()), and whether forward read it. */
  readonly #parametrized = new Map<string, { value: Tensor; read: boolean }>();
  training = true;

  abstract forward(...args: never[]): unknown;

  // ---- registration ---------------------------------------------------------------------------

  #checkFree(name: string, kind: string): void {
    checkName(name, kind);
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TorchError(`attribute '${name}' already exists on ${this.constructor.name}`);
    }
  }

  registerParameter(name: string, value: Parameter | null): Parameter | null {
    this.#checkFree(name, 'parameter');
    if (value !== null && !(value instanceof Parameter)) {
      throw new TorchError(`registerParameter('${name}'): expected a Parameter or null, got ${(value as unknown) instanceof Tensor ? 'a plain Tensor (wrap it in new Parameter(t))' : typeof value}`);
    }
    this.#parameters.set(name, value);
    return value;
  }

  registerBuffer(name: string, value: Tensor | null, persistent = true): Tensor | null {
    this.#checkFree(name, 'buffer');
    if (value !== null && !(value instanceof Tensor)) throw new TorchError(`registerBuffer('${name}'): expected a Tensor or null, got ${typeof value}`);
    if (value) keep(value);
    this.#buffers.set(name, value);
    if (!persistent) this.#nonPersistent.add(name);
    return value;
  }

  registerModule<M extends Module>(name: string, module: M): M {
    this.#checkFree(name, 'module');
    if (!(module instanceof Module)) throw new TorchError(`registerModule('${name}'): expected a Module`);
    this.#children.set(name, module);
    return module;
  }

  // ---- access (what forward uses) ---------------------------------------------------------------

  /** The parameter registered under name (throws if absent or null, or while parametrize() stands in for it). */
  param(name: string): Parameter {
    const p = this.#parameters.get(name);
    if (!p) throw new TorchError(`${this.constructor.name} has no parameter '${name}'`);
    if (this.#parametrized.has(name)) {
      throw new TorchError(`${this.constructor.name} read its parameter '${name}' with param() while a parametrization stands in for it; ` +
        `a forward must read it with value('${name}') (as torch.nn.utils.parametrize, e.g. LoRA target_parameters)`);
    }
    return p;
  }

  /** What forward computes with: the parameter, or the tensor parametrize() put in its place. */
  value(name: string): Tensor {
    const stand = this.#parametrized.get(name);
    if (!stand) return this.param(name);
    stand.read = true;
    return stand.value;
  }

  /**
   * As torch.nn.utils.parametrize for the length of a forward: value(name) returns `value` (e.g. W + ΔW, in the
   * autograd graph) until the returned function is called; that function reports whether value(name) was read.
   * The caller keeps ownership of `value`.
   */
  parametrize(name: string, value: Tensor): () => boolean {
    if (!this.#parameters.get(name)) throw new TorchError(`${this.constructor.name} has no parameter '${name}' to parametrize`);
    if (this.#parametrized.has(name)) throw new TorchError(`${this.constructor.name}: parameter '${name}' is already parametrized`);
    const stand = { value, read: false };
    this.#parametrized.set(name, stand);
    return () => {
      this.#parametrized.delete(name);
      return stand.read;
    };
  }

  /** The parameter registered under name, or null (e.g. a layer without bias); as param() while parametrized. */
  paramOrNull(name: string): Parameter | null {
    return this.#parameters.get(name) ? this.param(name) : null;
  }

  /** value(name), or null where the parameter is absent or null (a layer without bias). */
  valueOrNull(name: string): Tensor | null {
    return this.#parameters.get(name) ? this.value(name) : null;
  }

  buffer(name: string): Tensor {
    const b = this.#buffers.get(name);
    if (!b) throw new TorchError(`${this.constructor.name} has no buffer '${name}'`);
    return b;
  }

  bufferOrNull(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }

  child<M extends Module = Module>(name: string): M {
    const m = this.#children.get(name);
    if (!m) throw new TorchError(`${this.constructor.name} has no submodule '${name}'`);
    return m as M;
  }

  hasChild(name: string): boolean {
    return this.#children.has(name);
  }

  hasParameter(name: string): boolean {
    return this.#parameters.has(name);
  }

  // ---- traversal (names exactly as PyTorch: dotted, list indices included) ------------------------

  *namedChildren(): Generator<[string, Module]> {
    yield* this.#children;
  }

  children(): Module[] {
    return [...this.#children.values()];
  }

  /** Every module in the tree with its dotted name ('' for this one); each module once, like PyTorch. */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name, seen));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with dotted names; a parameter shared by two modules is listed once (its first name). */
  namedParameters(options: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const modules = options.recurse === false ? ([[options.prefix ?? '', this]] as [string, Module][]) : this.namedModules(options.prefix ?? '');
    for (const [path, module] of modules) {
      for (const [name, p] of module.#parameters) {
        if (p === null) continue;
        if (options.removeDuplicate !== false && seen.has(p)) continue;
        seen.add(p);
        out.push([path ? `${path}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(options: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  namedBuffers(options: { prefix?: string; persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, module] of this.namedModules(options.prefix ?? '')) {
      for (const [name, b] of module.#buffers) {
        if (b === null || (options.persistentOnly && module.#nonPersistent.has(name))) continue;
        out.push([path ? `${path}.${name}` : name, b]);
      }
    }
    return out;
  }

  getSubmodule(path: string): Module {
    if (path === '') return this;
    let module: Module = this;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      const next = module.#children.get(parts[i]);
      if (!next) throw new TorchError(`${parts.slice(0, i).join('.') || module.constructor.name} has no submodule '${parts[i]}' (looking up '${path}')`);
      module = next;
    }
    return module;
  }

  getParameter(path: string): Parameter {
    const [owner, name] = this.#split(path);
    const p = owner.#parameters.get(name);
    if (!p) throw new TorchError(`${owner.constructor.name} has no parameter '${name}' (looking up '${path}')`);
    return p;
  }

  getBuffer(path: string): Tensor {
    const [owner, name] = this.#split(path);
    const b = owner.#buffers.get(name);
    if (!b) throw new TorchError(`${owner.constructor.name} has no buffer '${name}' (looking up '${path}')`);
    return b;
  }

  #split(path: string): [Module, string] {
    const dot = path.lastIndexOf('.');
    const owner = dot < 0 ? this : this.getSubmodule(path.slice(0, dot));
    return [owner, path.slice(dot + 1)];
  }

  /** Swaps the submodule at a dotted path; returns the one it replaced. */
  replaceModule(path: string, module: Module): Module {
    const [owner, name] = this.#split(path);
    const old = owner.#children.get(name);
    if (!old) throw new TorchError(`replaceModule: no submodule '${path}'`);
    if (!(module instanceof Module)) throw new TorchError(`replaceModule('${path}'): expected a Module`);
    owner.#children.set(name, module);
    return old;
  }

  /** Swaps the parameter at a dotted path; returns the one it replaced. */
  replaceParameter(path: string, parameter: Parameter): Parameter {
    const [owner, name] = this.#split(path);
    const old = owner.#parameters.get(name);
    if (!old) throw new TorchError(`replaceParameter: no parameter '${path}'`);
    if (!(parameter instanceof Parameter)) throw new TorchError(`replaceParameter('${path}'): expected a Parameter`);
    owner.#parameters.set(name, parameter);
    return old;
  }

  /** Replaces a buffer's tensor (same name); returns the old one. */
  replaceBuffer(path: string, value: Tensor): Tensor | null {
    const [owner, name] = this.#split(path);
    if (!owner.#buffers.has(name)) throw new TorchError(`replaceBuffer: no buffer '${path}'`);
    const old = owner.#buffers.get(name) ?? null;
    owner.#buffers.set(name, keep(value));
    return old;
  }

  // ---- state dict -------------------------------------------------------------------------------

  /** Parameters and persistent buffers by dotted name (shared tensors appear under every name, like PyTorch). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [path, module] of this.#everyPath('')) {
      const at = (name: string): string => (path ? `${path}.${name}` : name);
      for (const [name, p] of module.#parameters) if (p) out[at(name)] = p;
      for (const [name, b] of module.#buffers) if (b && !module.#nonPersistent.has(name)) out[at(name)] = b;
    }
    return out;
  }

  /** Every (path, module) pair, shared modules once per path (as PyTorch's state_dict recursion). */
  *#everyPath(prefix: string): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.#children) yield* child.#everyPath(prefix ? `${prefix}.${name}` : name);
  }

  /**
   * Copies tensors into this module's parameters and buffers (shapes must match). strict (default):
   * missing or unexpected keys are an error listing them; otherwise they are returned.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in stateDict));
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !(k in own));
    const mismatches: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = stateDict[key];
      if (source && source.shape.join(',') !== target.shape.join(',')) {
        mismatches.push(`size mismatch for ${key}: copying a param with shape [${source.shape.join(', ')}] from checkpoint, the shape in current model is [${target.shape.join(', ')}].`);
      }
    }
    const strict = options.strict ?? true;
    const problems = [...mismatches];
    // Same order as PyTorch: missing, unexpected, then size mismatches (which fail even when not strict).
    if (strict && unexpectedKeys.length) problems.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
    if (strict && missingKeys.length) problems.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    if (problems.length) {
      throw new StateDictError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        const source = stateDict[key];
        if (source && source !== target) target.copy_(source);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- mode, conversion, traversal helpers --------------------------------------------------------

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every parameter and buffer (new tensors under the same names; requires_grad kept). A dtype
   * converts floating-point tensors only, as PyTorch; a tensor shared by several modules stays shared.
   * Optimizers built before to() hold the old parameters: build them after.
   */
  to(target: DType | Device): this {
    const isDevice = typeof target === 'string' && (target === 'cpu' || target.startsWith('cuda'));
    if (isDevice) checkDevice(target);
    else checkFloatDtype(target, 'Module.to');
    const converts = (t: Tensor): boolean => isDevice || isFloating(t.dtype);
    const convertedParams = new Map<Parameter, Parameter>();
    const convertedBuffers = new Map<Tensor, Tensor>();
    for (const module of this.modules()) {
      for (const [name, p] of module.#parameters) {
        if (!p || !converts(p)) continue;
        let next = convertedParams.get(p);
        if (!next) {
          const converted = p.to(target);
          next = new Parameter(converted, p.requiresGrad);
          converted.dispose();
          convertedParams.set(p, next);
        }
        module.#parameters.set(name, next);
      }
      for (const [name, b] of module.#buffers) {
        if (!b || !converts(b)) continue;
        let next = convertedBuffers.get(b);
        if (!next) {
          next = keep(b.to(target));
          convertedBuffers.set(b, next);
        }
        module.#buffers.set(name, next);
      }
    }
    for (const [old, next] of convertedParams) if (old !== next) old.dispose();
    for (const [old, next] of convertedBuffers) if (old !== next) old.dispose();
    return this;
  }

  /** Sets requires_grad on every parameter (e.g. false to freeze a base model). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  apply(fn: (module: Module) => void): this {
    for (const child of this.#children.values()) child.apply(fn);
    fn(this);
    return this;
  }

  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !options.trainableOnly || p.requiresGrad)
      .reduce((sum, p) => sum + p.numel(), 0);
  }

  /** Frees every parameter and buffer of the tree now. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
