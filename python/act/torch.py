"""act.torch: capture activations of torch modules, steer them with forward hooks, fit sites causally.

Pure Python over the act binding: module outputs reach act through DLPack (no copy), and pooling,
fitting and applying run in act's C++ code. Imported on first use of `act.torch` (needs PyTorch).

    import act, act.torch
    sites = {"blk.0.post_attn_norm": "blocks.0.post_attn_norm", ...}    # site name -> module path
    maps = act.torch.fit_causal(model, sites, toxic_batches, polite_batches)
    with torch.no_grad(), act.torch.steer(model, maps, sites, strength=1.0):
        logits = model(tokens)

Batches are what the model takes: a tensor (model(batch)), a tuple (model(*batch)) or a dict
(model(**batch); its "attention_mask", if any, marks the valid tokens for pooling). Module outputs are
[batch x tokens x d], [batch x d] or [N x C x H x W] tensors, or tuples whose element 0 is one.
"""

import contextlib
import os

import numpy as np
import torch

from . import _act

__all__ = ["capture", "steer", "fit_causal"]


def _site_paths(sites):
    """{site name: module path} from a dict, or from an iterable of module paths (site name = path)."""
    if isinstance(sites, str):
        return {sites: sites}
    if isinstance(sites, dict):
        return dict(sites)
    return {path: path for path in sites}


def _module(model, path):
    return model.get_submodule(path) if path else model


def _run(model, batch):
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    return model(batch)


def _output_tensor(output, where):
    tensor = output[0] if isinstance(output, (tuple, list)) else output
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"act.torch: the output of '{where}' is a {type(tensor).__name__}, not a tensor")
    return tensor


def _masks(batches, attention_mask):
    """One attention mask (or None) per batch."""
    if attention_mask is None:
        return [b.get("attention_mask") if isinstance(b, dict) else None for b in batches]
    if isinstance(attention_mask, (list, tuple)):
        if len(attention_mask) != len(batches):
            raise ValueError(f"act.torch: {len(attention_mask)} attention masks for {len(batches)} batches")
        return list(attention_mask)
    return [attention_mask] * len(batches)


def _pooled(tensor, pooling, mask):
    """[samples x d] pooled activations of one module output (act.pool over valid tokens)."""
    t = tensor.detach()
    if t.dim() == 2:  # [batch x d]: one token per sample
        return _act.pool(t.unsqueeze(1), pooling)
    if t.dim() == 3:  # [batch x tokens x d]
        if t.shape[0] > 1 and t.shape[1] > 1 and t.stride(0) != t.shape[1] * t.stride(1):
            t = t.contiguous()  # rows not at one stride: pooled from a copy
        return _act.pool(t, pooling, mask=mask)
    if t.dim() == 4:  # [N x C x H x W]: each channel pooled over its positions
        if mask is not None:
            raise ValueError("act.torch.capture: an attention mask does not apply to [N x C x H x W] feature maps")
        return np.concatenate([_act.pool(image.flatten(1).t(), pooling) for image in t], axis=0)
    raise ValueError(f"act.torch.capture: module outputs of shape {list(t.shape)} are not [batch x tokens x d], "
                     "[batch x d] or [N x C x H x W]")


def capture(model, modules, batches, *, pooling="mean", attention_mask=None):
    """Runs `model` on every batch and returns {module path: [n x d] NumPy array} of pooled outputs.

    modules: a module path ("blocks.0.ln", "" for the model itself) or a list of them.
    pooling: "mean", "last", "max" or "min" over each sequence's valid tokens only (act's pooling,
      accumulated in double); float32 results for float32/float16/bfloat16 outputs, float64 for float64.
    attention_mask: None (each dict batch's "attention_mask", else every token valid), one [batch x tokens]
      mask for every batch, or a list with one mask per batch.
    Runs under torch.no_grad(); rows follow the batches' order.
    """
    paths = [modules] if isinstance(modules, str) else list(modules)
    batches = list(batches)
    masks = _masks(batches, attention_mask)
    pooled = {path: [] for path in paths}
    current = {}

    def hook_for(path):
        def hook(module, inputs, output):
            pooled[path].append(_pooled(_output_tensor(output, path), pooling, current["mask"]))

        return hook

    handles = []
    try:
        for path in dict.fromkeys(paths):
            handles.append(_module(model, path).register_forward_hook(hook_for(path)))
        with torch.no_grad():
            for batch, mask in zip(batches, masks):
                current["mask"] = mask
                _run(model, batch)
    finally:
        for h in handles:
            h.remove()
    out = {}
    for path, parts in pooled.items():
        if len(parts) != len(batches):
            raise RuntimeError(f"act.torch.capture: module '{path}' ran {len(parts)} times for {len(batches)} batches "
                               "(capture expects one call per forward pass)")
        out[path] = np.concatenate(parts, axis=0)
    return out


def _steering_hook(maps, site):
    def hook(module, inputs, output):
        t = _output_tensor(output, site)
        if t.requires_grad and torch.is_grad_enabled():
            raise RuntimeError(
                f"act.torch.steer: the output at site '{site}' requires grad; act edits activations in place, outside "
                "autograd: run the model under torch.no_grad() or torch.inference_mode()")
        if t.dim() <= 2 or t.is_contiguous():
            maps.apply(site, t)  # in place, no copy
            return None
        # Non-contiguous [batch x tokens x d] or feature maps: steer a contiguous copy and return it instead.
        steered = t.contiguous()
        maps.apply(site, steered)
        if isinstance(output, tuple):
            return (steered,) + output[1:]
        if isinstance(output, list):
            return [steered] + output[1:]
        return steered

    return hook


@contextlib.contextmanager
def steer(model, maps, sites, *, strength=None):
    """Context manager: forward hooks that apply `maps` in place to module outputs (the hook point).

    maps: an act.MapSet, or the path of a map file. sites: {site name in maps: module path} (or a list of
      paths that are also the site names); sites without a map are left alone, as at act's hook point.
    strength: None keeps the set's strengths; a number steers every site at it; a dict {site: strength}
      overrides some sites. The caller's MapSet is never changed (strengths go to a copy).
    Tuple outputs are steered in element 0. Outputs are edited in place (contiguous tensors and 2-D views);
    other layouts are steered in a contiguous copy that replaces the output. Hooks are removed on exit,
    also when the block raises. Yields the MapSet in use.
    """
    if isinstance(maps, (str, os.PathLike)):
        maps = _act.MapSet.load(maps)
    if strength is not None:
        maps = maps.copy()
        if isinstance(strength, dict):
            for site, value in strength.items():
                maps.set_strength(site, float(value))
        else:
            for site in maps.sites():
                maps.reset_strength(site)
            maps.set_strength(float(strength))
    handles = []
    try:
        for site, path in _site_paths(sites).items():
            handles.append(_module(model, path).register_forward_hook(_steering_hook(maps, site)))
        yield maps
    finally:
        for h in handles:
            h.remove()


def fit_causal(model, sites, source_batches, target_batches, *, method="linear", pooling="mean", support=None,
               knots=128, threads=1, strength=1.0, source_attention_mask=None, target_attention_mask=None):
    """Fits maps at `sites` causally (paper Def. 3.2, act::fit_causal) and returns an act.MapSet.

    sites: {site name: module path} in forward order (or a list of module paths). Site k is fitted on the
    source batches' activations produced with the maps of sites 0..k-1 already applied (at `strength`), and
    on the target batches' unsteered activations (one pass for every site). Activations are pooled per
    input over its valid tokens (`pooling`); method, support, knots and threads as in act.fit.
    """
    sites = _site_paths(sites)
    source_batches = list(source_batches)
    target_batches = list(target_batches)
    targets = capture(model, list(dict.fromkeys(sites.values())), target_batches, pooling=pooling,
                      attention_mask=target_attention_mask)

    def collect(site, installed, how):
        path = sites[site]
        with steer(model, installed, {s: sites[s] for s in installed.sites()}):
            source = capture(model, [path], source_batches, pooling=how,
                             attention_mask=source_attention_mask)[path]
        return source, targets[path]

    return _act.fit_causal(list(sites), method, collect, pooling=pooling, strength=strength, support=support,
                           knots=knots, threads=threads)
