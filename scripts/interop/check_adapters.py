"""Loads adapters written by node-peft into Hugging Face PEFT and reports, as JSON on stdout, what PEFT made of them.

Usage: python scripts/interop/check_adapters.py SPEC.json

SPEC.json: {"cases": [{
    "name": "...",
    "base": "path/to/hf-model-folder",           # config.json + model.safetensors
    "inputs": "path/to/inputs.safetensors",       # forward() keyword arguments (input_ids, pixel_values, ...)
    "adapters": [{"name": "first", "dir": "path"}, ...],   # the first goes through PeftModel.from_pretrained
    "ours": "path/to/logits.safetensors",         # optional: node-peft's logits to compare with
    "ours_keys": {"first": "logits.first", "__mixed__": "logits_mixed", "__disabled__": "logits_disabled"},
    "mixed_adapter_names": ["first", "__base__", ...],     # optional: one mixed-batch forward
    "labels": "path/to/labels.safetensors"        # optional: key `labels`, for accuracies
}]}

Per case it reports: PEFT's load results (missing / unexpected keys of each load, as PeftModel.load_adapter returns
them), every warning raised while loading, the keys of each adapter file compared with the keys PEFT itself would
save for that adapter (get_peft_model_state_dict), what happened to file keys that are not PEFT adapter tensors
(copied into a base parameter?), and the max |difference| between PEFT's logits and node-peft's. A case that fails to
load reports the error instead. Needs torch, transformers, peft and safetensors.
"""
import json
import logging
import sys
import warnings

import peft
import safetensors
import torch
import transformers
from peft import PeftModel, get_peft_model_state_dict
from safetensors.torch import load_file

BASE_PREFIX = "base_model.model."


class _Collect(logging.Handler):
    def __init__(self, sink):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record):
        self.sink.append(f"{record.name}: {record.getMessage()}")


def _load_base(folder):
    with open(f"{folder}/config.json") as f:
        architecture = json.load(f)["architectures"][0]
    model = getattr(transformers, architecture).from_pretrained(folder, attn_implementation="eager")
    return model.eval()


def _max_diff(a, b):
    if a.shape != b.shape:
        return f"shape {list(a.shape)} vs {list(b.shape)}"
    return float((a - b).abs().max())


def _logits(model, inputs, **extra):
    with torch.no_grad():
        return model(**inputs, **extra).logits.float()


def _extra_keys_report(model, file_tensors, peft_keys):
    """File keys PEFT does not count as adapter tensors: where did their values end up?"""
    report = {}
    named = dict(model.base_model.model.named_parameters())
    for key in sorted(set(file_tensors) - peft_keys):
        name = key[len(BASE_PREFIX):] if key.startswith(BASE_PREFIX) else key
        param = named.get(name)
        report[key] = {
            "base_parameter": name if param is not None else None,
            "loaded_into_base_parameter": bool(param is not None and param.shape == file_tensors[key].shape and torch.equal(param.detach(), file_tensors[key])),
            "requires_grad": bool(param.requires_grad) if param is not None else None,
        }
    return report


def check_case(case):
    result = {"name": case["name"]}
    caught_logs = []
    handler = _Collect(caught_logs)
    for logger_name in ("transformers", "peft"):
        logging.getLogger(logger_name).addHandler(handler)
    load_results = {}
    original_load_adapter = PeftModel.load_adapter

    def recording_load_adapter(self, model_id, adapter_name, *args, **kwargs):
        outcome = original_load_adapter(self, model_id, adapter_name, *args, **kwargs)
        load_results[adapter_name] = {"missing_keys": list(outcome.missing_keys), "unexpected_keys": list(outcome.unexpected_keys)}
        return outcome

    PeftModel.load_adapter = recording_load_adapter
    try:
        base = _load_base(case["base"])
        adapters = case["adapters"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = PeftModel.from_pretrained(base, adapters[0]["dir"], adapter_name=adapters[0]["name"])
                for adapter in adapters[1:]:
                    model.load_adapter(adapter["dir"], adapter_name=adapter["name"])
            except Exception as error:  # a refusal is a result too
                result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        result["warnings"] = [str(w.message) for w in caught] + caught_logs
        result["load_results"] = load_results
        if "error" in result:
            return result
        model.eval()

        result["keys"] = {}
        extra_reports = {}
        for adapter in adapters:
            file_tensors = load_file(f"{adapter['dir']}/adapter_model.safetensors")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peft_keys = set(get_peft_model_state_dict(model, adapter_name=adapter["name"]))
            result["keys"][adapter["name"]] = {
                "in_file": len(file_tensors),
                "in_file_not_in_peft_state_dict": sorted(set(file_tensors) - peft_keys),
                "in_peft_state_dict_not_in_file": sorted(peft_keys - set(file_tensors)),
            }
            extra_reports.update(_extra_keys_report(model, file_tensors, peft_keys))
        result["non_adapter_keys"] = extra_reports

        inputs = load_file(case["inputs"])
        ours = load_file(case["ours"]) if case.get("ours") else {}
        ours_keys = case.get("ours_keys", {})
        labels = load_file(case["labels"])["labels"] if case.get("labels") else None
        result["logits_max_abs_diff"] = {}
        result["accuracy"] = {}

        def record(label, python_logits):
            key = ours_keys.get(label)
            if key is not None:
                result["logits_max_abs_diff"][label] = _max_diff(python_logits, ours[key])
            if labels is not None:
                entry = {"python": float((python_logits.argmax(-1) == labels).float().mean())}
                if key is not None:
                    entry["node_peft"] = float((ours[key].argmax(-1) == labels).float().mean())
                result["accuracy"][label] = entry

        for adapter in adapters:
            model.set_adapter(adapter["name"])
            record(adapter["name"], _logits(model, inputs))
        model.set_adapter(adapters[0]["name"])
        if case.get("mixed_adapter_names"):
            record("__mixed__", _logits(model, inputs, adapter_names=case["mixed_adapter_names"]))
        with model.disable_adapter():
            record("__disabled__", _logits(model, inputs))
        record("__base_model_fresh__", _logits(_load_base(case["base"]), inputs))
        return result
    finally:
        PeftModel.load_adapter = original_load_adapter
        for logger_name in ("transformers", "peft"):
            logging.getLogger(logger_name).removeHandler(handler)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.manual_seed(0)
    report = {
        "versions": {"peft": peft.__version__, "transformers": transformers.__version__, "torch": torch.__version__, "safetensors": safetensors.__version__},
        "cases": {case["name"]: check_case(case) for case in spec["cases"]},
    }
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
