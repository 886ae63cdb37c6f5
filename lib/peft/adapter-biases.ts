// The one rule for which base biases belong to an adapter (its config's `bias`, PEFT §2.4): they are saved with it
// and train with it. 'lora_only': the bias of each LoRA layer's base layer; 'all': every bias of the model except
// those inside module copies / trainable-token wrappers and the adapters' own tensors (lora_B biases of lora_bias).
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { type AdapterCarrier, carrierKind } from './carrier.js';
import type { LoraBias } from './config.js';

export function adapterBiases(model: Module, carriers: readonly [string, AdapterCarrier][], adapterName: string, bias: LoraBias): [string, Parameter][] {
  if (bias === 'none') return [];
  const parameters = model.namedParameters();
  if (bias === 'lora_only') {
    const wanted = new Set(carriers.filter(([, c]) => carrierKind(c) === 'lora' && c.hasAdapter(adapterName)).map(([path]) => `${path}.base_layer.bias`));
    return parameters.filter(([name]) => wanted.has(name));
  }
  const wrapped = carriers.filter(([, c]) => carrierKind(c) === 'module_copy' || carrierKind(c) === 'trainable_tokens').map(([path]) => `${path}.`);
  return parameters.filter(([name]) => (name === 'bias' || name.endsWith('.bias')) && !name.includes('.lora_') && !wrapped.some((w) => name.startsWith(w)));
}
