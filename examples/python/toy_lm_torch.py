#!/usr/bin/env python3
"""The bundled toy LM (examples/toy_lm) in PyTorch, checked against the C++ model and detoxified with act.

Reads examples/toy_lm/toy_lm.safetensors (parsed here: no safetensors package needed), compares its logits
with the C++ model's (`toy_lm logits`), fits Linear-AcT maps causally at the 8 post-LayerNorm sites from
toxic to polite sentences (act.torch.fit_causal, sites chosen by a module-path pattern) and samples
continuations of toxic-eliciting prompts without and with steering (act.torch.steer), printing the share
that contains an insult.

    PYTHONPATH=build/test/python /usr/bin/python3 examples/python/toy_lm_torch.py \\
        --toy-lm build/test/examples/toy_lm/toy_lm
"""

import argparse
import contextlib
import json
import pathlib
import struct
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import act
import act.torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_safetensors(path):
    """{name: float32 tensor} and the metadata of a safetensors file (8-byte header size, JSON, raw data)."""
    data = pathlib.Path(path).read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = (8 + size + o for o in info["data_offsets"])
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info["shape"])
    return tensors, meta


class LayerNorm(torch.nn.Module):
    def __init__(self, w, prefix):
        super().__init__()
        self.gain, self.bias = w[prefix + ".weight"], w[prefix + ".bias"]

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.gain, self.bias, eps=1e-5)


class Attention(torch.nn.Module):
    """Causal multi-head self-attention and output projection; keys past a sequence's length are masked."""

    def __init__(self, w, prefix, heads):
        super().__init__()
        self.w = {k: w[f"{prefix}.{k}"] for k in ("qkv.weight", "qkv.bias", "out.weight", "out.bias")}
        self.heads = heads

    def forward(self, x, valid):
        b, t, d = x.shape
        q, k, v = (x @ self.w["qkv.weight"] + self.w["qkv.bias"]).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5
        visible = torch.ones(t, t, dtype=torch.bool).tril() & valid[:, None, None, :]
        att = scores.masked_fill(~visible, float("-inf")).softmax(-1) @ v
        return att.transpose(1, 2).reshape(b, t, d) @ self.w["out.weight"] + self.w["out.bias"]


class MLP(torch.nn.Module):
    def __init__(self, w, prefix):
        super().__init__()
        self.w = {k: w[f"{prefix}.{k}"] for k in ("up.weight", "up.bias", "down.weight", "down.bias")}

    def forward(self, x):
        g = F.gelu(x @ self.w["up.weight"] + self.w["up.bias"], approximate="tanh")
        return g @ self.w["down.weight"] + self.w["down.bias"]


class Block(torch.nn.Module):
    """LayerNorm before and after attention and MLP (as Gemma 2); each site is a module's output."""

    def __init__(self, w, n, heads):
        super().__init__()
        p = f"blk.{n}."
        for norm in ("pre_attn_norm", "post_attn_norm", "pre_mlp_norm", "post_mlp_norm"):
            setattr(self, norm, LayerNorm(w, p + norm))
        self.attn, self.mlp = Attention(w, p + "attn", heads), MLP(w, p + "mlp")

    def forward(self, h, valid):
        h = h + self.post_attn_norm(self.attn(self.pre_attn_norm(h), valid))
        return h + self.post_mlp_norm(self.mlp(self.pre_mlp_norm(h)))


class ToyLM(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        w, meta = load_safetensors(path)
        self.words = meta["vocabulary"].split(" ")
        self.ids = {word: i for i, word in enumerate(self.words)}
        self.tok_emb, self.pos_emb = w["tok_emb"], w["pos_emb"]
        heads, layers = int(meta["n_heads"]), int(meta["n_layers"])
        self.blocks = torch.nn.ModuleList(Block(w, n, heads) for n in range(layers))
        self.final_norm = LayerNorm(w, "final_norm")
        self.unembed = (w["unembed.weight"], w["unembed.bias"])
        self.parameter_count = sum(v.numel() for v in w.values())

    def encode(self, text, eos=False):  # "<bos> words [<eos>]"; unknown words are <unk> (1)
        return [2] + [self.ids.get(word, 1) for word in text.split()] + ([3] if eos else [])

    def batch(self, sequences):  # right-padded with <pad> (0) and the attention mask
        t = max(map(len, sequences))
        input_ids = torch.tensor([s + [0] * (t - len(s)) for s in sequences])
        lengths = torch.tensor([[len(s)] for s in sequences])
        return {"input_ids": input_ids, "attention_mask": torch.arange(t) < lengths}

    def forward(self, input_ids, attention_mask):
        h = self.tok_emb[input_ids] + self.pos_emb[: input_ids.shape[1]]
        for block in self.blocks:
            h = block(h, attention_mask.bool())
        return self.final_norm(h) @ self.unembed[0] + self.unembed[1]


def generate(model, prompts, max_new=12, seed=7):
    """Samples a continuation of each prompt (temperature 1, stops at <eos>); re-runs the whole prefix each step."""
    g = torch.Generator().manual_seed(seed)
    seqs, out, active = [model.encode(p) for p in prompts], [[] for _ in prompts], list(range(len(prompts)))
    for _ in range(max_new):
        if not active:
            break
        batch = model.batch([seqs[i] for i in active])
        logits = model(**batch)[torch.arange(len(active)), batch["attention_mask"].sum(1) - 1]
        tokens = torch.multinomial(logits.softmax(-1), 1, generator=g)[:, 0].tolist()
        for i, tok in zip(active, tokens):
            if tok != 3:  # <eos> ends a continuation
                seqs[i].append(tok)
                out[i].append(tok)
        active = [i for i, tok in zip(active, tokens) if tok != 3]
    return [" ".join(model.words[t] for t in o) for o in out]


def toy_lm_output(program, *args):
    return subprocess.run([program, *args], capture_output=True, text=True, check=True).stdout.splitlines()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--toy-lm", required=True, help="the C++ toy_lm program (for its logits and data)")
    ap.add_argument("--weights", default=str(ROOT / "examples/toy_lm/toy_lm.safetensors"))
    ap.add_argument("--sentences", type=int, default=300, help="toxic and polite sentences to fit on")
    ap.add_argument("--continuations", type=int, default=500)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = ToyLM(args.weights).eval()
    print(f"toy LM: {model.parameter_count:,} parameters, {len(model.blocks)} blocks, vocabulary {len(model.words)}")

    prompts = toy_lm_output(args.toy_lm, "list", "toxic-prompts") + ["the capital of france is"]
    with tempfile.TemporaryDirectory() as tmp:
        toy_lm_output(args.toy_lm, "logits", "--weights", args.weights, "--prompts", ";".join(prompts), "--out",
                      f"{tmp}/l.npy")
        expected = torch.from_numpy(np.load(f"{tmp}/l.npy"))
    batch = model.batch([model.encode(p) for p in prompts])
    with torch.no_grad():
        logits = model(**batch)
    valid = batch["attention_mask"].reshape(-1)
    difference = (logits.reshape(-1, logits.shape[-1])[valid] - expected[valid]).abs().max().item()
    print(f"logits against the C++ model on {len(prompts)} prompts: max |difference| {difference:.1e}")

    # Site name in the map set -> module path, for every module matching the pattern (in the model's order).
    sites = {"blk." + path.split(".", 1)[1]: path for path in act.torch.sites(model, "blocks.*.post_*_norm")}
    sets = {kind: toy_lm_output(args.toy_lm, "sentences", "--kind", kind, "--n", str(args.sentences), "--seed", seed)
            for kind, seed in (("toxic", "101"), ("polite", "102"))}
    toxic, polite = ([model.batch([model.encode(s, eos=True) for s in sets[k][i:i + 64]])
                      for i in range(0, args.sentences, 64)] for k in ("toxic", "polite"))
    start = time.perf_counter()
    maps, fits = act.torch.fit_causal(model, sites, toxic, polite, method="linear", return_fits=True)
    print(f"Linear-AcT maps at {len(maps)} post-LN sites, fitted causally on {args.sentences} toxic -> "
          f"{args.sentences} polite sentences (mean-pooled; {len(sites) + 1} passes over the sets) in "
          f"{time.perf_counter() - start:.1f} s; median R^2 per site "
          + " ".join(f"{np.median(f.diagnostics['r2']):.2f}" for f in fits.values()))

    lexicon = set(toy_lm_output(args.toy_lm, "list", "toxic-lexicon"))
    asked = [prompts[i % (len(prompts) - 1)] for i in range(args.continuations)]
    toxicity = {}
    for label, strength in (("unsteered", None), ("Linear-AcT, lambda = 1", 1.0)):
        steering = act.torch.steer(model, maps, sites, strength=strength) if strength else contextlib.nullcontext()
        with torch.no_grad(), steering:
            texts = generate(model, asked)
        toxicity[label] = np.mean([any(w in lexicon for w in t.split()) for t in texts])
        examples = ", ".join(f"'{asked[i]} | {texts[i]}'" for i in range(2))
        print(f"  {label:24} toxicity {toxicity[label]:.3f}   e.g. {examples}")
    return {"logit_difference": difference, "toxicity": toxicity, "maps": maps}


if __name__ == "__main__":
    main()
