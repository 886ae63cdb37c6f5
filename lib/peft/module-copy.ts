// ModuleCopy: a trainable copy of a module without re-running its constructor. It mirrors the source's tree
// (same child names, cloned parameters and buffers) and, on forward, runs the source's own forward with the
// copy's tensors swapped in (layers read their parameters on every forward), then swaps the originals back.
import { PeftError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

type Forwardable = Module & { forward(...args: unknown[]): unknown };

export class ModuleCopy extends Module {
  /** The module whose forward this copy borrows (not registered: it is not part of this copy's tree). */
  readonly source: Module;

  constructor(source: Module, options: { requiresGrad?: boolean } = {}) {
    super();
    this.source = source;
    noGrad(() => {
      for (const [name, p] of source.namedParameters({ recurse: false })) {
        const data = p.clone();
        this.registerParameter(name, new Parameter(data, options.requiresGrad ?? false));
        data.dispose();
      }
      for (const [name, b] of ownBuffers(source)) this.registerBuffer(name, b.clone());
    });
    for (const [name, child] of source.namedChildren()) this.registerModule(name, new ModuleCopy(child, options));
  }

  /** Every (path, copy tensor, source tensor) pair, parameters then buffers. */
  #pairs(): { path: string; kind: 'parameter' | 'buffer'; mine: Tensor }[] {
    const out: { path: string; kind: 'parameter' | 'buffer'; mine: Tensor }[] = [];
    for (const [path, p] of this.namedParameters({ removeDuplicate: false })) out.push({ path, kind: 'parameter', mine: p });
    for (const [path, b] of this.namedBuffers()) out.push({ path, kind: 'buffer', mine: b });
    return out;
  }

  /** Puts this copy's tensors into the source module; returns what to put back. */
  swapIn(): () => void {
    const restore: (() => void)[] = [];
    for (const { path, kind, mine } of this.#pairs()) {
      if (kind === 'parameter') {
        const old = this.source.replaceParameter(path, mine as Parameter);
        restore.push(() => this.source.replaceParameter(path, old));
      } else {
        const old = this.source.replaceBuffer(path, mine);
        restore.push(() => {
          if (old) this.source.replaceBuffer(path, old);
        });
      }
    }
    return () => {
      for (const undo of restore.reverse()) undo();
    };
  }

  /** Moves this copy's tensors into the source for good (the source's replaced tensors are freed). */
  transplant(): void {
    for (const { path, kind, mine } of this.#pairs()) {
      const old = kind === 'parameter' ? this.source.replaceParameter(path, mine as Parameter) : this.source.replaceBuffer(path, mine);
      if (old && old !== mine) old.dispose();
    }
  }

  forward(...args: unknown[]): unknown {
    const source = this.source as Forwardable;
    if (typeof source.forward !== 'function') throw new PeftError(`${source.constructor.name} has no forward()`);
    const restore = this.swapIn();
    const wasTraining = source.training;
    source.train(this.training);
    try {
      return source.forward(...args);
    } finally {
      source.train(wasTraining);
      restore();
    }
  }
}

function ownBuffers(module: Module): [string, Tensor][] {
  return module.namedBuffers().filter(([name]) => !name.includes('.'));
}
