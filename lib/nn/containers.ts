// Containers, as torch.nn.Sequential / ModuleList / ModuleDict / ParameterDict. Members are read from the
// registries on every access, so replaceModule() / replaceParameter() take effect.
import { TorchError } from '../errors.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

type AnyForward = { forward(input: unknown): unknown };

function indexOf(container: string, index: number, length: number): number {
  if (!Number.isInteger(index) || index < -length || index >= length) {
    throw new TorchError(`${container}: index ${index} is out of range for length ${length}`);
  }
  return index < 0 ? index + length : index;
}

/** Members named '0', '1', ... (or by the keys of a record); forward feeds each output into the next. */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      for (const [name, module] of Object.entries(first)) this.registerModule(name, module);
    } else {
      (modules as Module[]).forEach((module, i) => this.registerModule(String(i), module));
    }
  }

  get length(): number {
    return this.children().length;
  }

  /** The member at a position (negative counts from the end). */
  get<M extends Module = Module>(index: number): M {
    const members = [...this.namedChildren()];
    return members[indexOf('Sequential', index, members.length)][1] as M;
  }

  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  forward<T = unknown>(input: unknown): T {
    let x = input;
    for (const module of this.children()) x = (module as unknown as AnyForward).forward(x);
    return x as T;
  }
}

/** An indexable list of modules named '0', '1', ...; it has no forward of its own. */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const module of modules) this.append(module);
  }

  get length(): number {
    return this.children().length;
  }

  get<M extends Module = Module>(index: number): M {
    return this.child<M>(String(indexOf('ModuleList', index, this.length)));
  }

  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const module of modules) this.append(module);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  forward(): never {
    throw new TorchError('ModuleList has no forward(); call its members');
  }
}

/** Modules by name, in insertion order; it has no forward of its own. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [name, module] of Object.entries(modules)) this.set(name, module);
  }

  get size(): number {
    return this.children().length;
  }

  get<M extends Module = Module>(key: string): M {
    return this.child<M>(key);
  }

  has(key: string): boolean {
    return this.hasChild(key);
  }

  /** Adds a module, or replaces the one under key (keeping its position). */
  set(key: string, module: Module): this {
    if (this.hasChild(key)) this.replaceModule(key, module);
    else this.registerModule(key, module);
    return this;
  }

  keys(): string[] {
    return [...this.namedChildren()].map(([name]) => name);
  }

  values(): Module[] {
    return this.children();
  }

  entries(): [string, Module][] {
    return [...this.namedChildren()];
  }

  forward(): never {
    throw new TorchError('ModuleDict has no forward(); call its members');
  }
}

/** Parameters by name, in insertion order (PEFT keeps per-adapter tensors this way). */
export class ParameterDict extends Module {
  readonly #keys: string[] = [];

  constructor(parameters: Record<string, Parameter> = {}) {
    super();
    for (const [name, parameter] of Object.entries(parameters)) this.set(name, parameter);
  }

  get size(): number {
    return this.#keys.length;
  }

  get(key: string): Parameter {
    return this.param(key);
  }

  has(key: string): boolean {
    return this.hasParameter(key);
  }

  /** Adds a parameter, or replaces the one under key (keeping its position). */
  set(key: string, parameter: Parameter): this {
    if (!(parameter instanceof Parameter)) throw new TorchError(`ParameterDict.set('${key}'): expected a Parameter`);
    if (this.hasParameter(key)) {
      this.replaceParameter(key, parameter);
    } else {
      this.registerParameter(key, parameter);
      this.#keys.push(key);
    }
    return this;
  }

  keys(): string[] {
    return [...this.#keys];
  }

  values(): Parameter[] {
    return this.#keys.map((key) => this.param(key));
  }

  entries(): [string, Parameter][] {
    return this.#keys.map((key) => [key, this.param(key)]);
  }

  forward(): never {
    throw new TorchError('ParameterDict has no forward(); read its parameters');
  }
}
