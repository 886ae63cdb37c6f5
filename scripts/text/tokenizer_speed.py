"""Encode throughput of Python tokenizers (Rust) and transformers on the same fixtures as tokenizer-speed.ts."""
import time
from pathlib import Path

import tokenizers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
lines = [l for l in (ROOT / "scripts/fixtures/text/corpus.txt").read_text(encoding="utf-8").split("\n") if l]
texts = lines * 40
size = sum(len(t.encode()) for t in texts)
for family in ["qwen2", "llama3", "llama2", "bert", "unigram"]:
    folder = ROOT / "test/fixtures/text" / family
    for label, tok in [("tokenizers (Rust)", tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))),
                       ("transformers", AutoTokenizer.from_pretrained(str(folder)))]:
        encode = tok.encode
        [encode(t) for t in texts]
        start = time.perf_counter()
        for _ in range(5):
            [encode(t) for t in texts]
        seconds = (time.perf_counter() - start) / 5
        print(f"{family}: {label:<20} {size / 1024 / seconds:8.0f} KB/s ({len(texts)} lines, {seconds * 1000:.1f} ms)")
