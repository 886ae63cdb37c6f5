"""Loads an adapter node-peft saved for a bfloat16 base into real PEFT and reports what PEFT saw.

Usage: python3 check_bf16_adapter.py BASE_DIR ADAPTER_DIR INPUTS.safetensors OURS.safetensors
Prints one JSON object: missing_keys / unexpected_keys of PeftModel.from_pretrained on the base loaded with
dtype=torch.bfloat16, the dtype of every adapter parameter after loading, the dtype of every tensor in the file,
and max |PEFT's logits - ours| (ours: the tensor 'logits' in OURS.safetensors).
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main():
    base_dir, adapter_dir, inputs_path, ours_path = sys.argv[1:5]
    torch.set_num_threads(1)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.bfloat16).eval()
    results = {}
    original = PeftModel.load_adapter

    def recording(self, *args, **kwargs):
        outcome = original(self, *args, **kwargs)
        results["missing_keys"] = list(outcome.missing_keys)
        results["unexpected_keys"] = list(outcome.unexpected_keys)
        return outcome

    PeftModel.load_adapter = recording
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    file_tensors = load_file(f"{adapter_dir}/adapter_model.safetensors")
    prefix = "base_model.model."
    adapter_params = {n[len(prefix):]: str(p.dtype).replace("torch.", "") for n, p in model.named_parameters()
                      if "lora_" in n or "modules_to_save" in n}
    inputs = load_file(inputs_path)
    with torch.no_grad():
        logits = model(**inputs).logits.float()
    ours = load_file(ours_path)["logits"].float()
    print(json.dumps({
        **results,
        "base_dtype": str(model.base_model.model.model.layers[0].self_attn.q_proj.base_layer.weight.dtype).replace("torch.", ""),
        "adapter_param_dtypes": adapter_params,
        "file_dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in file_tensors.items()},
        "logits_max_abs_diff": float((logits - ours).abs().max()),
    }))


if __name__ == "__main__":
    sys.exit(main())
