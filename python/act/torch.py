"""act.torch: capture activations of torch modules, steer them with forward hooks, fit sites causally.

Pure Python over the act binding. On CPU tensors act's C++ kernels pool and steer in place through DLPack
(no copy); on any other device (CUDA, MPS, ...) the same rule runs as torch operations on that device
(act.torch.apply). Imported on first use of `act.torch` (needs PyTorch).

    import act, act.torch
    sites = act.torch.sites(model, "model.layers.*.post_attention_layernorm")   # or {site name: module path}
    maps = act.torch.fit_causal(model, sites, toxic_batches, polite_batches)
    with torch.no_grad(), act.torch.steer(model, maps, sites, strength=1.0):
        logits = model(tokens)

Batches are what the model takes: a tensor (model(batch)), a tuple (model(*batch)) or a dict
(model(**batch); its "attention_mask", if any, marks the valid tokens for pooling). Module outputs are
[batch x tokens x d], [batch x d] or [N x C x H x W] tensors, or tuples whose element 0 is one.

The path that applies maps: "kernel" (act's C++ kernel, CPU tensors only), "torch" (torch operations, any
device) or "auto" (the kernel on CPU tensors, torch operations elsewhere). The `path` arguments choose it;
without one, the environment variable ACT_TORCH_PATH does, else "auto". Both paths give the same bits:
values computed in float32 (float64 for float64 tensors) with each product and sum rounded on its own,
16-bit results rounded once, elements outside a map's support (and NaN, +-Inf) keeping their bits.
"""

import contextlib
import fnmatch
import os
import sys
import weakref

import numpy as np
import torch

from . import _act

__all__ = ["apply", "capture", "fit_causal", "sites", "steer", "steered"]

_PATHS = ("auto", "kernel", "torch")


# ---------------------------------------------------------------------------------------------------------------
# Sites and modules


def _is_pattern(path):
    return any(ch in path for ch in "*?[")


def _matching_paths(model, pattern):
    """Module paths of `model` matching `pattern` component by component ('*' stays inside one component),
    in the order named_modules() lists them (registration order)."""
    parts = pattern.split(".")
    out = []
    for name, _ in model.named_modules():
        names = name.split(".") if name else []
        if len(names) == len(parts) and all(fnmatch.fnmatchcase(n, p) for n, p in zip(names, parts)):
            out.append(name)
    if not out:
        raise ValueError(f"act.torch: no module of the model matches '{pattern}'")
    return out


def sites(model, patterns):
    """{site name: module path} for module paths or patterns: "model.layers.*.post_attention_layernorm" (a
    '*' matches one path component, '?' and [...] as in fnmatch) gives every matching module, named by its
    path, in the model's registration order. A dict passes through unchanged."""
    if isinstance(patterns, dict):
        return dict(patterns)
    if isinstance(patterns, str):
        patterns = [patterns]
    out = {}
    for p in patterns:
        for path in (_matching_paths(model, p) if _is_pattern(p) else [p]):
            out[path] = path
    return out


def _site_paths(model, given):
    """sites(), under a name that the functions' own `sites` parameters do not hide."""
    return sites(model, given)


def _module(model, path):
    return model.get_submodule(path) if path else model


class _StopPass(Exception):
    """Raised by the hook of the last module a pass needs, to skip the rest of the forward pass."""


def _run(model, batch):
    try:
        if isinstance(batch, dict):
            return model(**batch)
        if isinstance(batch, (tuple, list)):
            return model(*batch)
        return model(batch)
    except _StopPass:
        return None


def _output_tensor(output, where):
    tensor = output[0] if isinstance(output, (tuple, list)) else output
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"act.torch: the output of '{where}' is a {type(tensor).__name__}, not a tensor")
    if getattr(tensor, "is_nested", False):
        raise TypeError(
            f"act.torch: the output of '{where}' is a NestedTensor (the fast path of nn.TransformerEncoder, taken in "
            "eval mode without grad when a padding mask is given); act needs padded tensors: build the encoder with "
            "enable_nested_tensor=False")
    return tensor


def _replaced(output, tensor):
    """The module output with its steered tensor replaced by `tensor`."""
    if isinstance(output, tuple):
        return (tensor,) + tuple(output[1:])
    if isinstance(output, list):
        return [tensor] + list(output[1:])
    return tensor


def _path_choice(path):
    chosen = os.environ.get("ACT_TORCH_PATH", "") or "auto" if path is None else path
    if chosen not in _PATHS:
        source = "path" if path is not None else "ACT_TORCH_PATH"
        raise ValueError(f"act.torch: {source} is '{chosen}'; use 'auto', 'kernel' or 'torch'")
    return chosen


def _torch_ops_for(tensor, path):
    """Whether `tensor` goes through torch operations (True) or act's C++ kernel (False)."""
    if not tensor.is_cpu:
        if path == "kernel":
            raise ValueError(f"act.torch: path 'kernel' runs act's C++ kernel on CPU tensors only; this tensor is on "
                             f"{tensor.device} (use path 'auto' or 'torch')")
        return True
    return path == "torch"


# ---------------------------------------------------------------------------------------------------------------
# The map rule as torch operations


def _inclusive_lower(lo, open_bounds, np_type):
    """The smallest np_type value inside a support whose lower bounds are `lo` (float32 array): open
    supports move to the next value up, so that one closed test serves both (act's detail/kernels/bounds.hpp).
    -inf becomes the lowest finite value, so that -inf never counts as inside."""
    finfo = np.finfo(np_type)
    x = lo.astype(np_type)
    if open_bounds:
        x = np.nextafter(x, np_type(np.inf))
    x = np.where(x < -finfo.max, -finfo.max, x)  # -inf: every finite value is above
    return x.astype(np_type)


class _Coefficients:
    """One site's map at one strength as torch tensors on one device, in one compute dtype (float32, or
    float64 for float64 tensors): the same numbers act's C++ hooks compute with."""

    def __init__(self, map_, strength, device, compute):
        np_type = np.float64 if compute == torch.float64 else np.float32
        self.dim = map_.dim
        self.affine = isinstance(map_, _act.AffineMap)
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np_type)).to(device)  # noqa: E731
        if self.affine:
            # Fused at the strength in float32: scale = 1 + l (omega - 1), shift = l beta (act/core/strength.hpp).
            lam = np.float32(strength)
            omega = np.asarray(map_.omega, dtype=np.float32)
            beta = np.asarray(map_.beta, dtype=np.float32)
            omega_minus_one = omega - np.float32(1)
            scale = np.float32(1) + lam * omega_minus_one
            shift = lam * beta
            self.scale, self.shift = as_tensor(scale), as_tensor(shift)
            if map_.bounded:
                lower = np.asarray(map_.lower, dtype=np.float32)
                upper = np.asarray(map_.upper, dtype=np.float32)
                open_bounds = map_.bounds == "open"
            else:
                lower = np.full(self.dim, -np.inf, dtype=np.float32)
                upper = np.full(self.dim, np.inf, dtype=np.float32)
                open_bounds = False
            self.lower = as_tensor(_inclusive_lower(lower, open_bounds, np_type))
            self.upper = as_tensor(-_inclusive_lower(-upper, open_bounds, np_type))
            # Per channel T_l(m) - m = (scale - 1) m + shift for feature maps, scale - 1 taken in float32.
            self.scale_minus_one = as_tensor(scale - np.float32(1))
        else:
            # Segments as act's quantile hook builds them (computed in float64, stored in float32):
            # T(x) - x = g (x - x_ref) + h on segment s, x_ref the knot below it.
            xs = np.asarray(map_.knots_source, dtype=np.float32).T  # [d x K]
            ys = np.asarray(map_.knots_target, dtype=np.float32).T
            x64, y64 = xs.astype(np.float64), ys.astype(np.float64)
            k = xs.shape[1]
            most = float(np.finfo(np.float32).max)
            g = np.zeros((self.dim, k + 1))
            h = np.empty((self.dim, k + 1))
            h[:, 0] = y64[:, 0] - x64[:, 0]
            h[:, k] = y64[:, k - 1] - x64[:, k - 1]
            if k > 1:
                dx = x64[:, 1:] - x64[:, :-1]
                dy = y64[:, 1:] - y64[:, :-1]
                with np.errstate(divide="ignore", invalid="ignore"):
                    slope = np.clip(dy / dx - 1.0, -most, most)
                g[:, 1:k] = np.where(dx > 0, slope, 0.0)
                h[:, 1:k] = y64[:, :-1] - x64[:, :-1]
            self.knots = as_tensor(xs.astype(np_type))
            self.g = as_tensor(g.astype(np.float32).astype(np_type))
            self.h = as_tensor(h.astype(np.float32).astype(np_type))
        # l in the compute type: float32(lambda) for float32 maths (the hooks' Scalar), lambda for float64 maths.
        self.lam = torch.tensor(np.float32(strength) if compute == torch.float32 else float(strength), dtype=compute,
                                device=device)

    def _quantile_displacement(self, v):
        """T(v) - v for v [rows x d] (finite or not), as [d x rows]."""
        vt = v.t()
        s = torch.searchsorted(self.knots, vt.detach().contiguous(), right=True)  # knots <= v: 0 .. K
        ref = torch.gather(self.knots, 1, (s - 1).clamp_(min=0))
        return vt, torch.gather(self.g, 1, s) * (vt - ref) + torch.gather(self.h, 1, s)

    def displaced(self, v):
        """The transported values of v ([rows x d] in the compute dtype) and where they apply; differentiable in v."""
        if self.affine:
            inside = (v >= self.lower) & (v <= self.upper)
            return v * self.scale + self.shift, inside
        vt, displacement = self._quantile_displacement(v)
        return (vt + self.lam * displacement).t(), torch.isfinite(v)

    def channel_shift(self, m):
        """T_l(m) - m for channel means m ([N x C], compute dtype) and where it applies."""
        if self.affine:
            inside = (m >= self.lower) & (m <= self.upper)
            return self.scale_minus_one * m + self.shift, inside
        _, displacement = self._quantile_displacement(m)
        return (self.lam * displacement).t(), torch.isfinite(m)


# Coefficients per live MapSet (by id, dropped when the set dies: sets compare by value, so they are not
# hashable), keyed by (site, map version, strength, device, compute dtype).
_coefficient_cache = {}


def _coefficients(maps, site, device, compute):
    held = _coefficient_cache.get(id(maps))
    if held is None or held[0]() is not maps:
        key = id(maps)
        held = _coefficient_cache[key] = (weakref.ref(maps, lambda _: _coefficient_cache.pop(key, None)), {})
    per_set = held[1]
    strength = maps.strength(site)
    key = (site, maps._map_version, strength, str(device), compute)
    c = per_set.get(key)
    if c is None:
        if len(per_set) > 256:
            per_set.clear()
        # Built outside any trace: a tracer then sees them as constants, the same on every trace.
        tracing = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            c = per_set[key] = _Coefficients(maps[site], strength, device, compute)
        finally:
            torch._C._set_tracing_state(tracing)
    return c


def _torch_steered(maps, site, x, rows=None):
    """x with the map of `site` applied by torch operations, as a new tensor (differentiable in x); `rows` is a
    bool [rows] mask of the rows to steer (None: all)."""
    if x.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        raise TypeError(f"act.torch: site '{site}': a {x.dtype} tensor; act steers float32, float64, float16 and "
                        "bfloat16 tensors")
    if x.dim() not in (1, 2, 3, 4):
        raise ValueError(f"act.torch: site '{site}': a tensor of shape {list(x.shape)}; act steers [d], [rows x d], "
                         "[batch x tokens x d] and [N x C x H x W] tensors")
    compute = torch.float64 if x.dtype == torch.float64 else torch.float32
    c = _coefficients(maps, site, x.device, compute)
    if x.shape[1 if x.dim() == 4 else -1] != c.dim:
        raise ValueError(f"act.torch: site '{site}' has a map of {c.dim} neurons but the tensor has shape {list(x.shape)}")
    if maps.strength(site) == 0.0:
        return x
    if x.dim() == 4:
        if rows is not None:
            raise ValueError("act.torch: positions do not apply to [N x C x H x W] feature maps")
        return _torch_channel_shift(c, x, compute)
    flat = x.reshape(-1, x.shape[-1])
    v = flat.to(compute)
    y, inside = c.displaced(v)
    if rows is not None:
        inside = inside & rows.reshape(-1, 1)
    if x.dtype != compute:
        y = y.to(x.dtype)  # one rounding to the tensor's type
    return torch.where(inside, y, flat).reshape(x.shape)


def _torch_channel_shift(c, x, compute):
    """Feature maps [N x C x H x W]: each channel's spatial mean m (summed in float64) moves by T_l(m) - m. On the
    CPU m is summed position by position, as act's kernel sums it (cumsum, a sequential running sum there):
    sum()'s pairwise order rounds differently once the partial sums need more than float64's 53 bits. Other
    devices sum in their own parallel order either way, so they keep sum()."""
    accumulate = torch.float32 if x.device.type == "mps" else torch.float64
    n, channels = x.shape[0], x.shape[1]
    positions = x.shape[2] * x.shape[3]
    if x.numel() == 0:
        return x
    v = x.to(compute).to(accumulate).reshape(n, channels, positions)
    total = v.cumsum(2)[:, :, -1] if x.device.type == "cpu" else v.sum(2)
    m = (total / positions).to(compute)
    delta, inside = c.channel_shift(m)
    y = x.to(compute) + delta.reshape(n, channels, 1, 1)
    if x.dtype != compute:
        y = y.to(x.dtype)
    return torch.where(inside.reshape(n, channels, 1, 1), y, x)


def _rows_mask(positions, t):
    """The bool [rows] mask of rows to steer in t ([rows x d] or [batch x tokens x d]), or None for all."""
    if positions is None or (isinstance(positions, str) and positions == "all"):
        return None
    if isinstance(positions, str):
        if positions != "last":
            raise ValueError(f"act.torch: positions is '{positions}'; use 'all', 'last' or a [batch x tokens] mask")
        if t.dim() != 3:
            return None  # one token per row already
        mask = torch.zeros(t.shape[0], t.shape[1], dtype=torch.bool, device=t.device)
        mask[:, -1] = True
        return mask.reshape(-1)
    mask = torch.as_tensor(positions, device=t.device)
    expected = t.shape[:-1]
    if t.dim() == 4 or tuple(mask.shape) != tuple(expected):
        raise ValueError(f"act.torch: a positions mask of shape {list(mask.shape)} for a tensor of shape {list(t.shape)}; "
                         f"it needs shape {list(expected)} (one flag per token)")
    return (mask != 0).reshape(-1)


def apply(maps, site, x, *, path=None, positions=None):
    """Applies the map of `site` in `maps` (an act.MapSet) to the torch tensor x in place, at the site's strength,
    and returns x (unchanged when the set has no map for `site`). x lives on any device: CPU tensors go through
    act's C++ kernel, others through torch operations (`path`: 'auto', 'kernel', 'torch'; default
    ACT_TORCH_PATH, else 'auto'). positions: None or 'all', 'last' (the last token of each sequence of a
    [batch x tokens x d] tensor) or a [batch x tokens] mask of the tokens to steer. Edits in place outside
    autograd, so a tensor that requires grad is refused while grad mode is on: use act.torch.steered()
    (differentiable, out of place) or steer() instead."""
    if site not in maps:
        return x
    if x.requires_grad and torch.is_grad_enabled():
        raise RuntimeError(f"act.torch.apply: the tensor at site '{site}' requires grad and an in-place edit would "
                           "bypass autograd; use act.torch.steered (out of place, differentiable) or torch.no_grad()")
    if not x.is_cpu or _path_choice(path) == "torch":
        _torch_ops_for(x, _path_choice(path))  # path 'kernel' on another device: a clear error
        with torch.no_grad():
            x.copy_(_torch_steered(maps, site, x, _rows_mask(positions, x)))
        return x
    rows = None if positions is None else _rows_mask(positions, x)
    target = x.detach() if x.requires_grad else x
    if rows is None:
        maps.apply(site, target)
    else:
        maps.apply(site, target, mask=rows.cpu().numpy())
    return x


def steered(maps, site, x, *, path=None, positions=None):
    """The map of `site` applied to x as a new tensor (x untouched); differentiable in x on the torch path.
    Arguments as in apply()."""
    if site not in maps:
        return x
    if _torch_ops_for(x, _path_choice(path)) or (torch.is_grad_enabled() and x.requires_grad):
        return _torch_steered(maps, site, x, _rows_mask(positions, x))
    out = x.detach().clone(memory_format=torch.contiguous_format)
    rows = _rows_mask(positions, out)
    if rows is None:
        maps.apply(site, out)
    else:
        maps.apply(site, out, mask=rows.cpu().numpy())
    return out


# ---------------------------------------------------------------------------------------------------------------
# Capture


def _masks(batches, attention_mask):
    """One attention mask (or None) per batch."""
    if attention_mask is None:
        return [b.get("attention_mask") if isinstance(b, dict) else None for b in batches]
    if isinstance(attention_mask, (list, tuple)):
        if len(attention_mask) != len(batches):
            raise ValueError(f"act.torch: {len(attention_mask)} attention masks for {len(batches)} batches")
        return list(attention_mask)
    return [attention_mask] * len(batches)


def _pooled_kernel(t, pooling, mask):
    """[samples x d] pooled activations of one CPU module output (act.pool over valid tokens)."""
    if t.dim() == 2:  # [batch x d]: one token per sample
        return _act.pool(t.unsqueeze(1), pooling)
    if t.dim() == 3:  # [batch x tokens x d]
        if t.shape[0] > 1 and t.shape[1] > 1 and t.stride(0) != t.shape[1] * t.stride(1):
            t = t.contiguous()  # rows not at one stride: pooled from a copy
        return _act.pool(t, pooling, mask=None if mask is None else torch.as_tensor(mask).cpu())
    # [N x C x H x W]: each channel pooled over its positions
    return np.concatenate([_act.pool(image.flatten(1).t(), pooling) for image in t], axis=0)


def _pooled_torch(t, pooling, mask):
    """The same pooling as torch operations on t's device; only the pooled rows move to the CPU. Accumulated
    in float64 (float32 on devices without float64), returned as float32 (float64 for float64 outputs)."""
    if pooling not in ("mean", "last", "max", "min"):
        _act.pool(np.zeros((1, 1, 1), dtype=np.float32), pooling)  # act's own message for an unknown mode
    out_type = torch.float64 if t.dtype == torch.float64 else torch.float32
    accumulate = torch.float32 if t.device.type == "mps" else torch.float64
    if t.dim() == 2:  # one token per sample: a mask has nothing to choose (as on the kernel path)
        x, mask = t.unsqueeze(1), None
    elif t.dim() == 4:
        x = t.flatten(2).transpose(1, 2)  # [N x positions x C]
    else:
        x = t
    if mask is None:
        valid = torch.ones(x.shape[0], x.shape[1], dtype=torch.bool, device=x.device)
    else:
        valid = torch.as_tensor(mask, device=x.device) != 0
        if tuple(valid.shape) != tuple(x.shape[:2]):
            raise ValueError(f"act.torch.capture: a mask of shape {list(valid.shape)} for outputs of shape {list(t.shape)}")
    counts = valid.sum(1)
    if bool((counts == 0).any()):
        raise ValueError(f"act.torch.capture: sequence {int(torch.nonzero(counts == 0)[0])} has no valid token")
    v = x.to(accumulate)
    keep = valid.unsqueeze(2)
    if pooling == "mean":
        pooled = torch.where(keep, v, torch.zeros((), dtype=accumulate, device=x.device)).sum(1) / counts.unsqueeze(1)
    elif pooling == "max":
        pooled = torch.where(keep, v, torch.tensor(-np.inf, dtype=accumulate, device=x.device)).amax(1)
    elif pooling == "min":
        pooled = torch.where(keep, v, torch.tensor(np.inf, dtype=accumulate, device=x.device)).amin(1)
    else:  # last valid token
        index = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
        last = torch.where(valid, index, torch.full_like(index, -1)).amax(1)
        pooled = v[torch.arange(x.shape[0], device=x.device), last]
    return pooled.to(out_type).cpu().numpy()


def _pooled(tensor, pooling, mask, path):
    """[samples x d] pooled activations of one module output."""
    t = tensor.detach()
    if t.dim() not in (2, 3, 4):
        raise ValueError(f"act.torch.capture: module outputs of shape {list(t.shape)} are not [batch x tokens x d], "
                         "[batch x d] or [N x C x H x W]")
    if t.dim() == 4 and mask is not None:
        raise ValueError("act.torch.capture: an attention mask does not apply to [N x C x H x W] feature maps")
    if _torch_ops_for(t, path):
        return _pooled_torch(t, pooling, mask)
    return _pooled_kernel(t, pooling, mask)


def _capture(model, paths, batches, pooling, attention_mask, path, stop_early, order=None):
    """capture(), stopping each pass once every module in `paths` ran when `stop_early`; `order` (a list)
    receives the paths in the order they first ran in the first pass."""
    batches = list(batches)
    masks = _masks(batches, attention_mask)
    path = _path_choice(path)
    unique = list(dict.fromkeys(paths))
    pooled = {p: [] for p in unique}
    state = {"mask": None, "seen": set(), "first": True}

    def hook_for(module_path):
        def hook(module, inputs, output):
            pooled[module_path].append(_pooled(_output_tensor(output, module_path), pooling, state["mask"], path))
            if state["first"] and order is not None and module_path not in order:
                order.append(module_path)
            state["seen"].add(module_path)
            if stop_early and len(state["seen"]) == len(unique):
                raise _StopPass()

        return hook

    handles = []
    try:
        for p in unique:
            handles.append(_module(model, p).register_forward_hook(hook_for(p)))
        with torch.no_grad():
            for batch, mask in zip(batches, masks):
                state["mask"] = mask
                state["seen"] = set()
                _run(model, batch)
                state["first"] = False
    finally:
        for h in handles:
            h.remove()
    out = {}
    for p, parts in pooled.items():
        if len(parts) != len(batches):
            raise RuntimeError(f"act.torch.capture: module '{p}' ran {len(parts)} times for {len(batches)} batches "
                               "(capture expects one call per forward pass)")
        out[p] = np.concatenate(parts, axis=0)
    return out


def capture(model, modules, batches, *, pooling="mean", attention_mask=None, path=None):
    """Runs `model` on every batch and returns {module path: [n x d] NumPy array} of pooled outputs.

    modules: a module path ("blocks.0.ln", "" for the model itself), a pattern ("blocks.*.ln") or a list of them.
    pooling: "mean", "last", "max" or "min" over each sequence's valid tokens only, accumulated in float64
      and rounded once: float32 results for float32/float16/bfloat16 outputs, float64 for float64.
    attention_mask: None (each dict batch's "attention_mask", else every token valid), one [batch x tokens]
      mask for every batch, or a list with one mask per batch.
    path: how outputs are pooled (see the module's help): CPU outputs by act's C++ code, outputs on other
      devices by torch operations on their device (only the pooled rows move to the CPU).
    Runs under torch.no_grad(); each pass stops once the last module asked for has run; rows follow the
    batches' order.
    """
    paths = list(_site_paths(model, modules).values())
    return _capture(model, paths, batches, pooling, attention_mask, path, stop_early=True)


# ---------------------------------------------------------------------------------------------------------------
# Steering


# The storage a tensor views (torch < 2.0 names it _storage).
_storage_of = torch.Tensor.untyped_storage if hasattr(torch.Tensor, "untyped_storage") else torch.Tensor._storage


def _aliases_an_input(t, inputs):
    """Whether t shares storage with a tensor among the module's inputs (nn.Identity, eval-mode Dropout, views,
    detach()): compared by storage, since views and detached tensors need not start where their storage does."""
    own = None
    for i in inputs:
        if isinstance(i, torch.Tensor):
            if i is t:
                return True
            if own is None:
                own = _storage_of(t).data_ptr()
            if _storage_of(i).data_ptr() == own:
                return True
    return False


def _needs_autograd(t, inputs):
    """Grad mode is on and the output or a module input requires grad: autograd may record or have saved them."""
    if not torch.is_grad_enabled():
        return False
    return t.requires_grad or any(isinstance(i, torch.Tensor) and i.requires_grad for i in inputs)


# torch.jit.is_tracing() without its Python frame (torch._C._is_tracing is about half the cost of
# _get_tracing_state, which builds the state object): a per-token cost when steering.
_tracing = getattr(torch._C, "_is_tracing", None) or (lambda: torch._C._get_tracing_state() is not None)


def _steering_hook(maps, site, path, positions):
    if isinstance(positions, str) and positions == "all":
        positions = None

    def general(output, inputs):
        t = _output_tensor(output, site)
        rows = None if positions is None else _rows_mask(positions, t)
        if _tracing() or _needs_autograd(t, inputs):
            # Out of place, as torch operations: autograd (and a tracer) records the map with its true derivative,
            # and tensors autograd saved (or the caller holds) keep their values.
            return _replaced(output, _torch_steered(maps, site, t, rows))
        alias = _aliases_an_input(t, inputs)
        if _torch_ops_for(t, path):
            steered_t = _torch_steered(maps, site, t, rows)
            if alias:
                return _replaced(output, steered_t)
            t.copy_(steered_t)
            return None
        in_place = not alias and (t.dim() <= 2 or t.is_contiguous())
        steered_t = t if in_place else t.contiguous() if not t.is_contiguous() else t.clone()
        target = steered_t.detach() if steered_t.requires_grad else steered_t
        if rows is None:
            maps.apply(site, target)
        else:
            maps.apply(site, target, mask=rows.cpu().numpy())
        return None if in_place else _replaced(output, steered_t)

    if positions is None and path != "torch":
        # A decoding step pays this hook once per site per token: act's C++ hook steers a plain CPU tensor that
        # nothing in autograd or the caller holds in one call, and hands every other case to general().
        return _act._SteeringHook(maps, site, general)
    return lambda module, inputs, output: general(output, inputs)


@contextlib.contextmanager
def steer(model, maps, sites, *, strength=None, positions=None, path=None):
    """Context manager: forward hooks that apply `maps` to module outputs (the hook point).

    maps: an act.MapSet, or the path of a map file. sites: {site name in maps: module path}, or module paths
      or patterns ("model.layers.*.mlp", see act.torch.sites) that are also the site names; sites without a
      map are left alone, as at act's hook point.
    strength: None keeps the set's strengths; a number steers every site at it; a dict {site: strength}
      overrides some sites. The caller's MapSet is never changed (strengths go to a copy).
    positions: None or 'all' (every token), 'last' (the last token of each [batch x tokens x d] output; every
      row of [batch x d] outputs, as in a decoding step) or a [batch x tokens] mask of tokens to steer.
    path: 'auto', 'kernel' or 'torch' (see the module's help); outputs on a GPU always take torch operations.

    Tuple outputs are steered in element 0. Outputs are edited in place only when that cannot change what
    autograd or the caller holds: when grad mode is on and the output or an input requires grad, the map is
    applied by differentiable torch operations to a new tensor (gradients flow through the map, saved tensors
    keep their values); an output sharing storage with a module input (nn.Identity, eval-mode Dropout) is
    steered in a copy; non-contiguous layouts too. Under torch.jit.trace the map is recorded as torch
    operations. Hooks are removed on exit, also when the block raises. Yields the MapSet in use.
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
    chosen = _path_choice(path)
    handles = []
    try:
        for site, module_path in _site_paths(model, sites).items():
            if site in maps:
                handles.append(_module(model, module_path).register_forward_hook(
                    _steering_hook(maps, site, chosen, positions)))
        yield maps
    finally:
        for h in handles:
            h.remove()


# ---------------------------------------------------------------------------------------------------------------
# Causal fitting


def _progress(items, enabled, description):
    """items wrapped in a tqdm bar when tqdm is installed (Debian: python3-tqdm), progress is not off and
    stderr is a terminal; items unchanged otherwise."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=description, file=sys.stderr)


def fit_causal(model, sites, source_batches, target_batches, *, method="linear", pooling="mean", support=None,
               support_bounds=None, min_std=1e-4, knots=128, threads=1, strength=1.0, source_attention_mask=None,
               target_attention_mask=None, order="given", path=None, progress=None, return_fits=False):
    """Fits maps at `sites` causally (paper Def. 3.2) and returns an act.MapSet (with return_fits, also
    {site: act.Fit} with each fit's diagnostics).

    sites: {site name: module path}, module paths or patterns (see act.torch.sites), in forward order. Site k
    is fitted with act.fit on the source batches' activations produced with the maps of sites 0..k-1 already
    applied (at `strength`), and on the target batches' unsteered activations (one pass for every site);
    each pass stops at the last site it needs. Activations are pooled per input over its valid tokens
    (`pooling`). method, support, support_bounds, min_std, knots and threads as in act.fit: the set records
    what act.fit records (support label, low-spread neuron count, sample counts), with this pooling.
    order: 'given' refuses sites whose modules do not run in the given order (in the first target batch);
      'forward' fits them in the order they run instead.
    progress: None shows a bar per site when tqdm is installed and stderr is a terminal; True or False force it.
    path: how outputs are pooled and steered (see the module's help).
    """
    if order not in ("given", "forward"):
        raise ValueError(f"act.torch.fit_causal: order is '{order}'; use 'given' or 'forward'")
    sites = _site_paths(model, sites)
    source_batches = list(source_batches)
    target_batches = list(target_batches)
    if not sites:
        raise ValueError("act.torch.fit_causal: no sites given")
    ran = []
    targets = _capture(model, list(sites.values()), target_batches, pooling, target_attention_mask, path,
                       stop_early=True, order=ran)
    rank = {p: i for i, p in enumerate(ran)}
    forward = sorted(sites, key=lambda s: rank[sites[s]])  # stable: sites of one module keep their order
    if forward != list(sites):
        if order == "given":
            raise ValueError("act.torch.fit_causal: the sites are not in forward order; the modules run as "
                             f"{[sites[s] for s in forward]} (pass them in that order, or order='forward')")
        sites = {s: sites[s] for s in forward}
    maps = _act.MapSet()
    maps.set_strength(float(strength))
    fits = {}
    for site in _progress(list(sites), progress, "act fit_causal"):
        module_path = sites[site]
        with steer(model, maps, {s: sites[s] for s in maps.sites()}, path=path):
            source = _capture(model, [module_path], source_batches, pooling, source_attention_mask, path,
                              stop_early=True)[module_path]
        fit = _act.fit(method, source, targets[module_path], support=support, support_bounds=support_bounds,
                       min_std=min_std, knots=knots, threads=threads)
        maps.insert(site, fit, pooling=pooling)
        fits[site] = fit
    return (maps, fits) if return_fits else maps
