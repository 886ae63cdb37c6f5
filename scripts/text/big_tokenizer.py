"""A full-size byte-level BPE (Llama 3 pipeline, 64k vocabulary) trained on Python's standard library sources,
plus transformers' ids for 300 snippets, written to /tmp/node-peft-big-tokenizer/ for big-tokenizer.mjs.
Run: /work/main/.torch/venv/bin/python3 scripts/text/big_tokenizer.py && node scripts/text/big-tokenizer.mjs
"""
import json
import random
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "text"))
from families import LLAMA3_REGEX  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

OUT = Path("/tmp/node-peft-big-tokenizer")
OUT.mkdir(exist_ok=True)
files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
texts = [f.read_text(encoding="utf-8", errors="replace") for f in files[:1500]]
tok = Tokenizer(models.BPE(ignore_merges=True))
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
                                             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=64000, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(texts, trainer)
tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)])
tok.save(str(OUT / "tokenizer.json"))
(OUT / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast",
                                                        "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}))
hf = AutoTokenizer.from_pretrained(str(OUT))
random.seed(0)
snippets = []
for _ in range(300):
    text = random.choice(texts)
    start = random.randrange(max(1, len(text) - 2000))
    snippets.append(text[start:start + random.randrange(50, 2000)])
started = time.perf_counter()
ids = [hf.encode(s) for s in snippets]
seconds = time.perf_counter() - started
(OUT / "expected.json").write_text(json.dumps({"snippets": snippets, "ids": ids}))
print(f"vocab {len(hf)}, tokenizer.json {(OUT / 'tokenizer.json').stat().st_size / 1e6:.1f} MB, "
      f"transformers encodes {sum(map(len, snippets)) / 1024 / seconds:.0f} KB/s")
