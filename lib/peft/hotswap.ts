// hotswapAdapter (PEFT's peft.utils.hotswap.hotswap_adapter): replaces a loaded adapter's LoRA weights in place with
// another adapter's, keeping its name and its layers (no re-injection). As PEFT: the configs must agree on
// use_rslora, lora_dropout, alpha_pattern and use_dora; a key the model has no place for is an error; LoRA tensors
// the new file lacks are zero-filled; each layer's scaling is recomputed from the new config; a smaller rank is
// zero-padded into the existing tensors, a larger one replaces them.
import { PeftError } from '../errors.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoraConfig } from './config.js';
import type { AdapterHost } from './host.js';
import { loraLayersOf, savedLoraName } from './layers/lora-layer.js';
import { LoraParamWrapper } from './layers/lora-param-wrapper.js';
import { rankAndAlphaFor } from './patterns.js';
import { readAdapter } from './save-load.js';
import { PREFIX } from './state-dict.js';

const KEYS_TO_CHECK = ['use_rslora', 'lora_dropout', 'alpha_pattern', 'use_dora'] as const;

function checkCompatible(current: LoraConfig, next: LoraConfig): void {
  for (const key of KEYS_TO_CHECK) {
    const [a, b] = [JSON.stringify(current[key]), JSON.stringify(next[key])];
    if (a !== b) throw new PeftError(`Configs are incompatible: for ${key}, ${a} != ${b}`);
  }
}

/** One tensor of the live adapter: where it lives and under which keys PEFT knows it. */
interface Slot {
  layer: ReturnType<typeof loraLayersOf>[number][1];
  local: string;
  live: Parameter;
  /** The PeftModel's in-memory name (what PEFT's rank/alpha patterns are matched against in hotswap). */
  inMemory: string;
}

function copyInto(slot: Slot, value: Tensor, key: string): void {
  const { live } = slot;
  const same = live.shape.join(',') === value.shape.join(',');
  const smaller = !same && live.ndim === value.ndim && live.shape.every((n, i) => n >= value.shape[i]);
  noGrad(() => {
    if (same) {
      live.copy_(value);
    } else if (smaller) {
      live.zero_();
      const dim = live.shape[0] > value.shape[0] ? 0 : 1;
      const region = live.narrow(dim, 0, value.shape[dim]);
      region.copy_(value);
      region.dispose();
    } else {
      if (live.ndim !== value.ndim) throw new PeftError(`hotswapAdapter: ${key} has shape [${value.shape.join(', ')}], the model's is [${live.shape.join(', ')}]`);
      const data = value.to(live.dtype);
      const replacement = new Parameter(data, live.requiresGrad);
      if (data !== value) data.dispose();
      slot.layer.replaceParameter(slot.local, replacement);
      live.dispose();
    }
  });
}

/** Replaces adapter `adapterName`'s LoRA weights by those in dir, in place. */
export async function hotswapAdapter(host: AdapterHost, dir: string, adapterName: string): Promise<void> {
  const current = host.peftConfig.get(adapterName);
  if (!current) throw new PeftError(`hotswapAdapter: adapter '${adapterName}' does not exist (adapters: ${[...host.peftConfig.keys()].join(', ')})`);
  if (host.carriers().some(([, c]) => c.mergedAdapters.includes(adapterName))) {
    throw new PeftError(`Cannot hot-swap adapter '${adapterName}' because it is currently merged into the base weights. Please unmerge the adapter first by calling \`unmergeAdapter()\`.`);
  }
  const { config, tensors } = await readAdapter(host.model, dir, { warn: host.warn, isTrainable: !current.inference_mode });
  try {
    checkCompatible(current, config);
    const slots = new Map<string, Slot>();
    for (const [path, layer] of loraLayersOf(host.carriers())) {
      for (const [local, live] of layer.adapterParameters(adapterName)) {
        slots.set(`${PREFIX}${path}.${savedLoraName(local)}`, { layer, local, live, inMemory: `${PREFIX}${path}.${local}` });
      }
    }
    const unexpected = Object.keys(tensors).filter((key) => !slots.has(key));
    if (unexpected.length > 0) throw new PeftError(`Hot swapping the adapter did not succeed, unexpected keys found: ${unexpected.join(', ')}.`);
    for (const [key, value] of Object.entries(tensors)) {
      const slot = slots.get(key) as Slot;
      if (slot.layer instanceof LoraParamWrapper && slot.layer.numExperts > 1 && slot.live.shape.join() !== value.shape.join()) {
        throw new PeftError(`hotswapAdapter: ${key} has shape [${value.shape.join(', ')}], the model's is [${slot.live.shape.join(', ')}]; ` +
          `a target_parameters layer over ${slot.layer.numExperts} experts interleaves its rank per expert, so only an adapter of the same rank can be swapped in`);
      }
    }
    for (const [key, slot] of slots) if (!(key in tensors)) noGrad(() => slot.live.zero_());
    for (const [key, value] of Object.entries(tensors)) {
      const slot = slots.get(key) as Slot;
      slot.layer.setting(adapterName).scaling = rankAndAlphaFor(config, slot.inMemory).scaling;
      copyInto(slot, value, key);
    }
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
