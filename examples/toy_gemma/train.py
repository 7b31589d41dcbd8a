#!/usr/bin/python3
"""Trains the toy Gemma and writes it as a llama.cpp gemma3 GGUF file (all tensors F32).

    toy_gemma corpus --out corpus.txt          # the toy LM's training documents, as token ids
    /usr/bin/python3 train.py corpus.txt toy_gemma.gguf [--steps N]

The model is llama.cpp's gemma3 graph at toy size (see model.hpp for the maths): RMSNorm before and
after each sublayer, per-head q/k RMSNorm, NeoX RoPE, GeGLU (tanh gelu), embeddings scaled by
sqrt(d_model), tied output, no sliding window, no soft-capping. Its tokenizer is llama.cpp's unigram
("t5") over the toy vocabulary with every word a whole piece ("\u2581word"), so llama.cpp splits text
into the toy tokenizer's ids. Seeded; one thread; a few minutes on one core.
"""
import argparse
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

D_MODEL, N_LAYERS, N_HEADS, HEAD_DIM, D_FF, CONTEXT = 64, 4, 4, 16, 256, 48
RMS_EPS, ROPE_BASE = 1e-6, 10000.0


def linear(x, w):
    """x [B, T, in] times w [out, in]^T. A 1x1 convolution: PyTorch runs it through oneDNN, many times faster
    than the reference BLAS Debian's python3-torch calls for matmul."""
    return F.conv1d(x.transpose(1, 2), w[:, :, None]).transpose(1, 2)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * w


class ToyGemma(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        P = torch.nn.Parameter

        def normal(*shape, fan_in):
            return P(torch.randn(*shape, generator=g) / math.sqrt(fan_in))

        hd = N_HEADS * HEAD_DIM
        self.token_embd = normal(vocab, D_MODEL, fan_in=D_MODEL)
        self.output_norm = P(torch.ones(D_MODEL))
        self.blocks = torch.nn.ModuleList()
        for _ in range(N_LAYERS):
            b = torch.nn.Module()
            for name in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"):
                setattr(b, name, P(torch.ones(D_MODEL)))
            b.attn_q_norm, b.attn_k_norm = P(torch.ones(HEAD_DIM)), P(torch.ones(HEAD_DIM))
            b.attn_q, b.attn_k, b.attn_v = (normal(hd, D_MODEL, fan_in=D_MODEL) for _ in range(3))
            b.attn_output = normal(D_MODEL, hd, fan_in=hd)
            b.ffn_gate, b.ffn_up = normal(D_FF, D_MODEL, fan_in=D_MODEL), normal(D_FF, D_MODEL, fan_in=D_MODEL)
            b.ffn_down = normal(D_MODEL, D_FF, fan_in=D_FF)
            self.blocks.append(b)
        half = HEAD_DIM // 2
        inv = ROPE_BASE ** (-2.0 * torch.arange(half, dtype=torch.float64) / HEAD_DIM)
        ang = torch.arange(CONTEXT, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cos(ang).float())
        self.register_buffer("sin", torch.sin(ang).float())

    def rope(self, x):  # x: [B, H, T, dh]
        T, half = x.shape[2], HEAD_DIM // 2
        c, s = self.cos[:T], self.sin[:T]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], dim=-1)

    def forward(self, tokens):  # tokens [B, T] -> logits [B, T, V]
        B, T = tokens.shape
        h = self.token_embd[tokens] * math.sqrt(D_MODEL)
        mask = torch.full((T, T), float("-inf")).triu(1)
        for b in self.blocks:
            a = rms(h, b.attn_norm)
            split = lambda w: linear(a, w).reshape(B, T, N_HEADS, HEAD_DIM).transpose(1, 2)
            q = self.rope(rms(split(b.attn_q), b.attn_q_norm)) / math.sqrt(HEAD_DIM)
            k = self.rope(rms(split(b.attn_k), b.attn_k_norm))
            v = split(b.attn_v)
            att = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1) @ v
            o = linear(att.transpose(1, 2).reshape(B, T, N_HEADS * HEAD_DIM), b.attn_output)
            h = h + rms(o, b.post_attention_norm)
            m = rms(h, b.ffn_norm)
            f = linear(F.gelu(linear(m, b.ffn_gate), approximate="tanh") * linear(m, b.ffn_up), b.ffn_down)
            h = h + rms(f, b.post_ffw_norm)
        return linear(rms(h, self.output_norm), self.token_embd)


def read_corpus(path):
    with open(path) as f:
        words = f.readline().split()
        docs = [[int(t) for t in line.split()] for line in f if line.strip()]
    return words, docs


def train(model, docs, steps, batch, lr, seed):
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
    warmup, start = 100, time.time()
    for step in range(steps):
        now = lr * min(1.0, (step + 1) / warmup)
        if step >= warmup:
            now = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))))
        for group in opt.param_groups:
            group["lr"] = now
        pick = [docs[i] for i in rng.integers(0, len(docs), batch)]
        T = max(len(d) for d in pick)
        x = torch.zeros(batch, T, dtype=torch.long)
        for i, d in enumerate(pick):
            x[i, : len(d)] = torch.tensor(d)
        lengths = torch.tensor([len(d) for d in pick])
        valid = torch.arange(T - 1)[None, :] < (lengths[:, None] - 1)  # target t+1 exists
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits[valid], x[:, 1:][valid])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {now:.2e}  {time.time() - start:.0f} s", flush=True)


class GGUFWriter:
    """GGUF version 3, little-endian, tensors F32 aligned to 32 bytes."""

    def __init__(self):
        self.kv, self.tensors = [], []

    @staticmethod
    def _str(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def u32(self, key, v):
        self.kv.append(self._str(key) + struct.pack("<II", 4, v))

    def f32(self, key, v):
        self.kv.append(self._str(key) + struct.pack("<If", 6, v))

    def boolean(self, key, v):
        self.kv.append(self._str(key) + struct.pack("<IB", 7, 1 if v else 0))

    def string(self, key, v):
        self.kv.append(self._str(key) + struct.pack("<I", 8) + self._str(v))

    def strings(self, key, values):
        body = b"".join(self._str(v) for v in values)
        self.kv.append(self._str(key) + struct.pack("<IIQ", 9, 8, len(values)) + body)

    def i32s(self, key, values):
        self.kv.append(self._str(key) + struct.pack("<IIQ", 9, 5, len(values)) + struct.pack(f"<{len(values)}i", *values))

    def f32s(self, key, values):
        self.kv.append(self._str(key) + struct.pack("<IIQ", 9, 6, len(values)) + struct.pack(f"<{len(values)}f", *values))

    def tensor(self, name, array):
        """array: numpy, row-major; ggml's ne is its shape reversed."""
        self.tensors.append((name, np.ascontiguousarray(array, dtype="<f4")))

    def write(self, path):
        pad = lambda n: (n + 31) // 32 * 32
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
        for kv in self.kv:
            out += kv
        offset = 0
        for name, a in self.tensors:
            out += self._str(name) + struct.pack("<I", a.ndim) + struct.pack(f"<{a.ndim}Q", *reversed(a.shape))
            out += struct.pack("<IQ", 0, offset)
            offset += pad(a.nbytes)
        out += b"\0" * (pad(len(out)) - len(out))
        for _, a in self.tensors:
            out += a.tobytes() + b"\0" * (pad(a.nbytes) - a.nbytes)
        with open(path, "wb") as f:
            f.write(out)


def write_gguf(model, words, path):
    g = GGUFWriter()
    g.string("general.architecture", "gemma3")
    g.string("general.name", "act toy gemma")
    g.u32("general.file_type", 0)
    g.u32("gemma3.context_length", CONTEXT)
    g.u32("gemma3.embedding_length", D_MODEL)
    g.u32("gemma3.block_count", N_LAYERS)
    g.u32("gemma3.feed_forward_length", D_FF)
    g.u32("gemma3.attention.head_count", N_HEADS)
    g.u32("gemma3.attention.head_count_kv", N_HEADS)
    g.u32("gemma3.attention.key_length", HEAD_DIM)
    g.u32("gemma3.attention.value_length", HEAD_DIM)
    g.f32("gemma3.attention.layer_norm_rms_epsilon", RMS_EPS)
    g.f32("gemma3.rope.freq_base", ROPE_BASE)
    # A unigram (SentencePiece, llama.cpp's "t5") vocabulary of whole words, "\u2581word" each, all scoring
    # the same: the only segmentation of a sentence of known words is its words. The four special tokens
    # first (ids 0-3), as the toy tokenizer has them.
    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert words[:4] == specials, "the vocabulary must start with <pad> <unk> <bos> <eos>"
    g.string("tokenizer.ggml.model", "t5")
    g.string("tokenizer.ggml.pre", "default")
    g.strings("tokenizer.ggml.tokens", specials + ["\u2581" + w for w in words[4:]])
    g.i32s("tokenizer.ggml.token_type", [3, 2, 3, 3] + [1] * (len(words) - 4))
    g.f32s("tokenizer.ggml.scores", [0.0] * len(words))
    g.u32("tokenizer.ggml.padding_token_id", 0)
    g.u32("tokenizer.ggml.unknown_token_id", 1)
    g.u32("tokenizer.ggml.bos_token_id", 2)
    g.u32("tokenizer.ggml.eos_token_id", 3)
    g.boolean("tokenizer.ggml.add_bos_token", True)
    g.boolean("tokenizer.ggml.add_eos_token", False)
    g.boolean("tokenizer.ggml.add_space_prefix", True)
    g.boolean("tokenizer.ggml.remove_extra_whitespaces", True)
    t = lambda p: p.detach().numpy()
    g.tensor("token_embd.weight", t(model.token_embd))
    for i, b in enumerate(model.blocks):
        for name in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm", "attn_k_norm", "attn_output",
                     "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"):
            g.tensor(f"blk.{i}.{name}.weight", t(getattr(b, name)))
    g.tensor("output_norm.weight", t(model.output_norm))
    g.write(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    words, docs = read_corpus(a.corpus)
    model = ToyGemma(len(words))
    train(model, docs, a.steps, a.batch, a.lr, seed=1)
    write_gguf(model, words, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
