#!/usr/bin/env python3
"""Makes what examples/text ships: the task data (data/*.jsonl) and a tiny Llama base model + tokenizer (base/).

The base model is pretrained here (full training, a few minutes on CPU) on chat tasks *around* dates -- repeat a
date, name a month's number, pick out the year or the day -- but never on the example's task: rewriting a
day/month/year date as YYYY-MM-DD. The LoRA adapter that examples/text/run.ts trains in Node has to learn that task.

    /work/main/.torch/venv/bin/python3 examples/text/make_base.py [--data-only]
Not needed to run the example: its outputs are committed.
"""
import json
import time
import random
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# ChatML; the assistant turn is inside {% generation %} so trainers can mask the loss to it (TRL's convention).
CHAT_TEMPLATE = (
    "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{%- if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{%- else %}{{ message['content'] + '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{%- endif %}")
TASK = "Rewrite the date as YYYY-MM-DD: "
# the example's task: numeric dates, day first (European), written in three ways
NUMERIC_TASK = "Rewrite the day/month/year date as YYYY-MM-DD: "


def random_date(rng):
    month = rng.randrange(12)
    return rng.randrange(1950, 2050), month, rng.randrange(1, DAYS[month] + 1)


def spelled(rng, year, month, day):
    name = MONTHS[month]
    return rng.choice([f"{name} {day}, {year}", f"{day} {name} {year}", f"{name[:3]} {day} {year}"])


def iso(year, month, day):
    return f"{year:04d}-{month + 1:02d}-{day:02d}"


def chat(user, assistant):
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def task_rows(rng, n):
    rows = []
    for _ in range(n):
        y, m, d = random_date(rng)
        rows.append(chat(TASK + spelled(rng, y, m, d), iso(y, m, d)))
    return rows


def numeric_task_rows(rng, n):
    rows = []
    for _ in range(n):
        y, m, d = random_date(rng)
        written = rng.choice([f"{d}/{m + 1}/{y}", f"{d}.{m + 1}.{y}", f"{d:02d}/{m + 1:02d}/{y}"])
        rows.append(chat(NUMERIC_TASK + written, iso(y, m, d)))
    return rows


def pretraining_rows(rng, n):
    rows = []
    for _ in range(n):
        y, m, d = random_date(rng)
        text = spelled(rng, y, m, d)
        kind = rng.randrange(5)
        if kind == 0:
            rows.append(chat("Repeat: " + text, text))
        elif kind == 1:
            rows.append(chat("Repeat: " + iso(y, m, d), iso(y, m, d)))
        elif kind == 2:
            rows.append(chat(f"Month number of {rng.choice([MONTHS[m], MONTHS[m][:3]])}?", f"{m + 1:02d}"))
        elif kind == 3:
            rows.append(chat("Year in: " + text, f"{y:04d}"))
        else:
            rows.append(chat("Day in: " + text, f"{d:02d}"))
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def tokenizer(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def pretrain(tok, rows, steps=300, batch=32):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                         tie_word_embeddings=True, bos_token_id=None, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(config)
    torch.set_num_threads(2)
    encoded = [tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
               for r in rows]
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, total_steps=steps, pct_start=0.05)
    rng = random.Random(1)
    model.train()
    start = time.time()
    for step in range(steps):
        picked = [encoded[rng.randrange(len(encoded))] for _ in range(batch)]
        width = max(len(e["input_ids"]) for e in picked)
        ids = torch.tensor([e["input_ids"] + [tok.pad_token_id] * (width - len(e["input_ids"])) for e in picked])
        mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"])) for e in picked])
        labels = torch.tensor([[t if a else -100 for t, a in zip(e["input_ids"], e["assistant_masks"])] +
                               [-100] * (width - len(e["input_ids"])) for e in picked])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.4f} ({time.time() - start:.0f}s)", flush=True)
    return model.eval()


def main(data_only=False):
    rng = random.Random(2024)
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    # spelled-out dates feed the tokenizer's corpus only (the shipped base and tokenizer were made with them)
    train, evaluation = task_rows(rng, 800), task_rows(rng, 64)
    task = random.Random(7)
    write_jsonl(data / "train.jsonl", numeric_task_rows(task, 800))
    write_jsonl(data / "eval.jsonl", numeric_task_rows(task, 64))
    if data_only:
        return
    pretraining = pretraining_rows(rng, 3000)
    texts = [m["content"] for r in pretraining + train for m in r["messages"]] + [TASK]
    tok = tokenizer(texts * 2)
    model = pretrain(tok, pretraining)
    out = HERE / "base"
    model.generation_config = GenerationConfig(eos_token_id=[tok.eos_token_id], pad_token_id=tok.pad_token_id,
                                               max_new_tokens=16)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    # a quick look at what the base model does with the task (the Node example measures it properly)
    prompts = [tok.apply_chat_template(r["messages"][:1], add_generation_prompt=True, tokenize=True, return_dict=False)
               for r in evaluation[:4]]
    for p, r in zip(prompts, evaluation):
        out_ids = model.generate(torch.tensor([p]), max_new_tokens=12, do_sample=False)
        print(r["messages"][0]["content"], "->", repr(tok.decode(out_ids[0, len(p):], skip_special_tokens=True)))


if __name__ == "__main__":
    import sys
    main(data_only="--data-only" in sys.argv)
