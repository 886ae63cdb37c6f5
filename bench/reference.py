#!/usr/bin/env python3
"""Side-by-side reference for the benchmark workloads in WORKLOADS.md.

Runs the same work in Python PyTorch (eager) so the Node package can be timed
against it on the same machine, in the same run.  It needs only torch
(Debian: apt-get install python3-torch libopenblas0-pthread; run it with
/usr/bin/python3).  LoRA here follows PEFT's math: y = base(x) + B(A(drop(x))) * alpha / r.

Usage:  /usr/bin/python3 reference.py [gemm|train|train-bf16|forward|multi|vit|all] [--threads N] [--steps N]
Prints one JSON object per workload on stdout.

This copy (node-peft's bench/) adds `gemm`: the fp32 matmul rate the W1 fraction-of-peak is measured against.
"""
import argparse, json, math, resource, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Workload W1/W2/W3 model: a Llama-style decoder (HF LlamaForCausalLM layout).
LLAMA = dict(vocab=8000, hidden=512, intermediate=1376, layers=4, heads=8, seq=128)
LORA = dict(r=16, alpha=32, dropout=0.0, targets=("q_proj", "k_proj", "v_proj", "o_proj"))


class LoraLinear(nn.Module):
    def __init__(self, base: nn.Linear, r, alpha, dropout):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.normal_(self.lora_B.weight, std=0.02)  # non-zero so the adapter matters
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = alpha / r
        self.merged = False

    def forward(self, x):
        y = self.base(x)
        if self.merged:
            return y
        return y + self.lora_B(self.lora_A(self.drop(x))) * self.scaling

    @torch.no_grad()
    def merge(self):
        self.base.weight += (self.lora_B.weight @ self.lora_A.weight) * self.scaling
        self.merged = True


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + self.eps))


def rotary(seq, dim, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
    f = torch.outer(torch.arange(seq).float(), inv)
    emb = torch.cat((f, f), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Attention(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads, self.hd = heads, h // heads
        self.q_proj = nn.Linear(h, h, bias=False)
        self.k_proj = nn.Linear(h, h, bias=False)
        self.v_proj = nn.Linear(h, h, bias=False)
        self.o_proj = nn.Linear(h, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, h = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = att.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, s, h))


class MLP(nn.Module):
    def __init__(self, h, i):
        super().__init__()
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c["hidden"], c["heads"])
        self.mlp = MLP(c["hidden"], c["intermediate"])
        self.input_layernorm = RMSNorm(c["hidden"])
        self.post_attention_layernorm = RMSNorm(c["hidden"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["hidden"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)

    def forward(self, ids):
        s = ids.shape[1]
        cos, sin = rotary(s, self.c["hidden"] // self.c["heads"])
        mask = torch.full((s, s), float("-inf")).triu(1)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def add_lora(model, cfg):
    for p in model.parameters():
        p.requires_grad_(False)
    for name, mod in list(model.named_modules()):
        for child_name, child in list(mod.named_children()):
            if child_name in cfg["targets"] and isinstance(child, nn.Linear):
                setattr(mod, child_name, LoraLinear(child, cfg["r"], cfg["alpha"], cfg["dropout"]))
    return model


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, steps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), min(times), max(times)


def w_train(steps):
    torch.manual_seed(0)
    model = add_lora(Llama(LLAMA), LORA)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = 4
    ids = torch.randint(0, LLAMA["vocab"], (batch, LLAMA["seq"] + 1))

    def step():
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, LLAMA["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    med, lo, hi = timed(step, steps)
    tok = batch * LLAMA["seq"]
    return dict(workload="W1-train-lora", ms_per_step=med, min=lo, max=hi,
                tokens_per_s=tok / med * 1000, peak_rss_mb=peak_rss_mb())


def w_train_bf16(steps):
    """W1b: W1 under CPU autocast to bfloat16 (fp32 master weights and optimizer), as a
    Python user turns on mixed precision: torch.autocast("cpu", dtype=torch.bfloat16)."""
    torch.manual_seed(0)
    model = add_lora(Llama(LLAMA), LORA)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = 4
    ids = torch.randint(0, LLAMA["vocab"], (batch, LLAMA["seq"] + 1))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(ids[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, LLAMA["vocab"]).float(), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    med, lo, hi = timed(step, steps)
    tok = batch * LLAMA["seq"]
    return dict(workload="W1b-train-lora-bf16", ms_per_step=med, min=lo, max=hi,
                tokens_per_s=tok / med * 1000, peak_rss_mb=peak_rss_mb())


def w_forward(steps):
    torch.manual_seed(0)
    base = Llama(LLAMA).eval()
    ids = torch.randint(0, LLAMA["vocab"], (1, LLAMA["seq"]))
    out = {}
    with torch.inference_mode():
        out["base_ms"] = timed(lambda: base(ids), steps)[0]
        model = add_lora(base, LORA)
        out["lora_ms"] = timed(lambda: model(ids), steps)[0]
        for m in model.modules():
            if isinstance(m, LoraLinear):
                m.merge()
        out["merged_ms"] = timed(lambda: model(ids), steps)[0]
    return dict(workload="W2-forward", **out, lora_overhead=out["lora_ms"] / out["base_ms"])


def w_multi(steps):
    """W3: one batch of 8 rows, each row with its own adapter (8 adapters)."""
    torch.manual_seed(0)
    n = 8
    model = Llama(LLAMA).eval()
    # Stacked adapters per target: A[n, r, in], B[n, out, r]; row i uses adapter i.
    adapters = {}
    for name, mod in model.named_modules():
        if name.split(".")[-1] in LORA["targets"]:
            adapters[name] = (torch.randn(n, LORA["r"], mod.in_features) * 0.02,
                              torch.randn(n, mod.out_features, LORA["r"]) * 0.02)

    def hook_for(name):
        A, B = adapters[name]
        scale = LORA["alpha"] / LORA["r"]

        def hook(mod, inp, out):
            x = inp[0]  # [n, s, in]
            return out + torch.bmm(torch.bmm(x, A.transpose(1, 2)), B.transpose(1, 2)) * scale
        return hook

    for name, mod in model.named_modules():
        if name in adapters:
            mod.register_forward_hook(hook_for(name))
    ids = torch.randint(0, LLAMA["vocab"], (n, LLAMA["seq"]))
    with torch.inference_mode():
        med = timed(lambda: model(ids), steps)[0]
    return dict(workload="W3-multi-adapter-batch", ms=med, tokens_per_s=n * LLAMA["seq"] / med * 1000)


# Workload W5 model: a ViT with Hugging Face ViTForImageClassification names.
VIT = dict(hidden=192, layers=6, heads=3, intermediate=768, patch=16, labels=10)


class ViTSelfAttention(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads, self.hd = heads, h // heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = (m(x).view(b, s, self.heads, self.hd).transpose(1, 2) for m in (self.query, self.key, self.value))
        y = ((q @ k.transpose(-1, -2)) / math.sqrt(self.hd)).softmax(-1) @ v
        return y.transpose(1, 2).reshape(b, s, h)


class ViTLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden"]
        self.attention = nn.Module()
        self.attention.attention = ViTSelfAttention(h, c["heads"])
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(h, h)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(h, c["intermediate"])
        self.output = nn.Module()
        self.output.dense = nn.Linear(c["intermediate"], h)
        self.layernorm_before = nn.LayerNorm(h, eps=1e-12)
        self.layernorm_after = nn.LayerNorm(h, eps=1e-12)

    def forward(self, x):
        x = x + self.attention.output.dense(self.attention.attention(self.layernorm_before(x)))
        return x + self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))


class ViTEmbeddings(nn.Module):
    def __init__(self, c, image):
        super().__init__()
        n = (image // c["patch"]) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, c["hidden"]) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, c["hidden"]) * 0.02)
        self.patch_embeddings = nn.Module()
        self.patch_embeddings.projection = nn.Conv2d(3, c["hidden"], c["patch"], c["patch"])

    def resize(self, image, patch):
        """Bicubic-resize the patch grid of the position embeddings for a new image size."""
        old = self.position_embeddings.data
        g0 = int(math.isqrt(old.shape[1] - 1))
        g1 = image // patch
        grid = old[:, 1:].reshape(1, g0, g0, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(g1, g1), mode="bicubic", align_corners=False)
        new = torch.cat([old[:, :1], grid.permute(0, 2, 3, 1).reshape(1, g1 * g1, -1)], dim=1)
        self.position_embeddings = nn.Parameter(new)

    def forward(self, px):
        x = self.patch_embeddings.projection(px).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.position_embeddings


class ViT(nn.Module):
    def __init__(self, c, image):
        super().__init__()
        self.vit = nn.Module()
        self.vit.embeddings = ViTEmbeddings(c, image)
        self.vit.encoder = nn.Module()
        self.vit.encoder.layer = nn.ModuleList(ViTLayer(c) for _ in range(c["layers"]))
        self.vit.layernorm = nn.LayerNorm(c["hidden"], eps=1e-12)
        self.classifier = nn.Linear(c["hidden"], c["labels"])

    def forward(self, px):
        x = self.vit.embeddings(px)
        for layer in self.vit.encoder.layer:
            x = layer(x)
        return self.classifier(self.vit.layernorm(x)[:, 0])


def w_vit(steps):
    torch.manual_seed(0)
    model = ViT(VIT, 224)
    model.vit.embeddings.resize(384, VIT["patch"])
    add_lora(model, dict(LORA, targets=("query", "value")))
    # modules_to_save: the classifier module and the bare position-embedding parameter.
    for p in list(model.classifier.parameters()) + [model.vit.embeddings.position_embeddings]:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = 8
    px = torch.randn(batch, 3, 384, 384)
    labels = torch.randint(0, VIT["labels"], (batch,))

    def step():
        loss = F.cross_entropy(model(px), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    med, lo, hi = timed(step, steps)
    return dict(workload="W5-vit-seed", ms_per_step=med, min=lo, max=hi, peak_rss_mb=peak_rss_mb())


def w_gemm(steps, n=2048):
    """fp32 GEMM n^3: this machine's practical peak for the kernels every workload leans on."""
    torch.manual_seed(0)
    a, b = torch.randn(n, n), torch.randn(n, n)
    med = timed(lambda: a @ b, steps)[0]
    return dict(workload="gemm-fp32", n=n, ms=med, gflops=2 * n ** 3 / med / 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("which", nargs="?", default="all")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    runs = {"gemm": w_gemm, "train": w_train, "train-bf16": w_train_bf16, "forward": w_forward, "multi": w_multi, "vit": w_vit}
    for k, fn in runs.items():
        if a.which in (k, "all"):
            r = fn(a.steps)
            r.update(torch=torch.__version__, threads=torch.get_num_threads())
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())
