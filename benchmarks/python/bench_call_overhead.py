#!/usr/bin/env python3
"""Per-call cost of steering one token from Python: MapSet.apply on a [1 x d] NumPy array, on the same data as
a torch tensor (float32 and bfloat16), and a whole forward call of a module under act.torch.steer against the
same module unsteered (the hook's own cost). Goal: the torch calls within 2x the NumPy call. A decoding step
pays this once per steered site per token.

    PYTHONPATH=build/python /usr/bin/python3 benchmarks/python/bench_call_overhead.py [--d 4096]

Times are thread CPU microseconds per call (time.thread_time over many calls: waiting for a core on a loaded
machine does not count). Every round times each row once, one after another, so that load on a shared machine
hits the rows of a round alike; a row's ratio to NumPy is taken within each round. Printed: medians over the
rounds, and the range of the per-round ratios. "torch hook dispatch" is torch's own cost of calling one forward
hook that does nothing: the floor under any hook.
"""

import argparse
import contextlib
import json
import statistics
import time

import numpy as np

import act


def per_call_us(fn, calls):
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls * 1e6


def copy_module():
    import torch

    class Copy(torch.nn.Module):
        """Returns a new tensor (no alias of its input), so the hook steers it in place."""

        def forward(self, x):
            return x.clone()

    return Copy


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d", type=int, default=4096)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--repetitions", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args()
    import torch
    import act.torch as at

    Copy = copy_module()

    rng = np.random.default_rng(5)
    d = args.d
    maps = act.MapSet()
    maps.insert("s", act.AffineMap(rng.uniform(0.8, 1.2, d).astype(np.float32), rng.uniform(-0.1, 0.1, d).astype(np.float32),
                                   lower=np.full(d, -2.5, np.float32), upper=np.full(d, 2.5, np.float32)))
    maps.set_strength(1e-30)  # values stay put over many calls; the kernel still runs (strength 0 would skip it)
    x = rng.standard_normal((1, d), dtype=np.float32)
    module = Copy()

    def hook_cost(t, hook_context, block=500):
        """A module call with the hook, less the same call without it, the two alternating in blocks of calls."""
        plain = hooked = 0.0
        for _ in range(max(1, args.calls // block)):
            plain += per_call_us(lambda: module(t), block)
            with hook_context():
                hooked += per_call_us(lambda: module(t), block)
        return (hooked - plain) / max(1, args.calls // block)

    @contextlib.contextmanager
    def empty_hook():
        handle = module.register_forward_hook(lambda *_: None)
        try:
            yield
        finally:
            handle.remove()

    rows = {"numpy_f32": lambda: per_call_us(lambda: maps.apply("s", x), args.calls)}
    for name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        t = torch.from_numpy(x.copy()).to(dtype)
        rows[f"torch_{name}"] = lambda t=t: per_call_us(lambda: maps.apply("s", t), args.calls)
        rows[f"act.torch.apply_{name}"] = lambda t=t: per_call_us(lambda: at.apply(maps, "s", t), args.calls)
        rows[f"steer_hook_{name}"] = lambda t=t: hook_cost(t, lambda: at.steer(module, maps, {"s": ""}))
    t32 = torch.from_numpy(x.copy())
    rows["torch_hook_dispatch"] = lambda: hook_cost(t32, empty_hook)

    times = {key: [] for key in rows}
    with torch.no_grad():
        for _ in range(args.repetitions):
            for key, row in rows.items():
                times[key].append(row())
    ratios = {key: [v / base for v, base in zip(values, times["numpy_f32"])] for key, values in times.items()}
    results = {key: statistics.median(values) for key, values in times.items()}
    print(f"d = {d}; thread CPU microseconds per call, median of {args.repetitions} rounds of {args.calls} calls; "
          "ratio to NumPy within each round: median [min - max]")
    for key, value in results.items():
        r = ratios[key]
        print(f"  {key:24s} {value:7.2f} us   {statistics.median(r):5.2f}x [{min(r):.2f} - {max(r):.2f}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"d": d, "us_per_call": results, "ratio_to_numpy_per_round": ratios}, f, indent=1)


if __name__ == "__main__":
    main()
