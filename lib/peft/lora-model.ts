// PEFT's LoraModel: PeftModel.base_model, holding the user model as `model` (so names start with base_model.model.).
import { Module } from '../nn/module.js';

export type Forwardable = Module & { forward(inputs: Record<string, unknown>): unknown };

export class LoraModel extends Module {
  constructor(model: Module) {
    super();
    this.registerModule('model', model);
  }

  forward(inputs: Record<string, unknown>): unknown {
    return this.child<Forwardable>('model').forward(inputs);
  }
}
