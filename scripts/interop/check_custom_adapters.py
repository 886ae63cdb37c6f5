"""Loads adapters node-peft wrote for the custom models of scripts/fixtures/custom_models.py (LoRA on Conv3d,
target_parameters) or for a transformers model folder into Hugging Face PEFT, and reports as JSON on stdout what PEFT
made of them: each load's missing / unexpected keys, the file's keys against PEFT's own state dict, and the max
|difference| between PEFT's outputs and node-peft's.

Usage: python scripts/interop/check_custom_adapters.py SPEC.json

SPEC.json: {"cases": [{
    "name": "...",
    "model": "Conv3dNet" | "TinyMoE" | "hf",       # a custom model (weights: "base", a safetensors file) or a folder
    "base": "path",
    "inputs": "path/to/inputs.safetensors",         # custom models: key x; hf: forward() keyword arguments
    "adapters": [{"name": "default", "dir": "path"}, ...],  # the first through PeftModel.from_pretrained
    "seed": 8,                                      # optional: torch.manual_seed right before loading (PiSSA re-init)
    "runs": {"label": ["default", "second"], ...},  # active adapters per forward
    "ours": "path/to/outputs.safetensors"           # node-peft's outputs, one key per run label
}]}
"""
import json
import os
import sys
import warnings

import torch
import transformers
from peft import PeftModel, get_peft_model_state_dict
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import custom_models  # noqa: E402


def load_base(case):
    if case["model"] == "hf":
        model = transformers.AutoModelForCausalLM.from_pretrained(case["base"], dtype=torch.float32)
    else:
        model = getattr(custom_models, case["model"])()
        model.load_state_dict(load_file(case["base"]))
    return model.eval()


def outputs(model, case, inputs):
    with torch.no_grad():
        out = model(**inputs) if case["model"] == "hf" else model(inputs["x"])
    return out.logits if case["model"] == "hf" else out


def check_case(case):
    result = {"name": case["name"], "load_results": {}}
    original_load_adapter = PeftModel.load_adapter

    def recording_load_adapter(self, model_id, adapter_name, *args, **kwargs):
        outcome = original_load_adapter(self, model_id, adapter_name, *args, **kwargs)
        result["load_results"][adapter_name] = {"missing_keys": list(outcome.missing_keys), "unexpected_keys": list(outcome.unexpected_keys)}
        return outcome

    PeftModel.load_adapter = recording_load_adapter
    try:
        base = load_base(case)
        if "seed" in case:
            torch.manual_seed(case["seed"])
        adapters = case["adapters"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = PeftModel.from_pretrained(base, adapters[0]["dir"], adapter_name=adapters[0]["name"])
                for adapter in adapters[1:]:
                    model.load_adapter(adapter["dir"], adapter_name=adapter["name"])
            except Exception as error:  # a refusal is a result too
                result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        result["warnings"] = [str(w.message) for w in caught]
        if "error" in result:
            return result
        model.eval()
        result["keys"] = {}
        for adapter in adapters:
            in_file = set(load_file(os.path.join(adapter["dir"], "adapter_model.safetensors")))
            peft_keys = set(get_peft_model_state_dict(model, adapter_name=adapter["name"]))
            result["keys"][adapter["name"]] = {"in_file": len(in_file), "in_file_not_in_peft_state_dict": sorted(in_file - peft_keys),
                                               "in_peft_state_dict_not_in_file": sorted(peft_keys - in_file)}
        inputs = load_file(case["inputs"])
        ours = load_file(case["ours"])
        result["max_abs_diff"] = {}
        for label, active in case["runs"].items():
            model.base_model.set_adapter(active if len(active) > 1 else active[0])
            python = outputs(model, case, inputs)
            result["max_abs_diff"][label] = float((python - ours[label]).abs().max()) if python.shape == ours[label].shape else f"shape {list(python.shape)} vs {list(ours[label].shape)}"
        return result
    finally:
        PeftModel.load_adapter = original_load_adapter


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    json.dump({"cases": {case["name"]: check_case(case) for case in spec["cases"]}}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
