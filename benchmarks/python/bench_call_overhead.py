#!/usr/bin/env python3
"""Per-call cost of steering one token from Python: MapSet.apply on a [1 x d] NumPy array, on the same data as
a torch tensor (float32 and bfloat16), and a whole forward call of a module under act.torch.steer against the
same module unsteered (the hook's own cost). Goal: the torch calls within 2x the NumPy call. A decoding step
pays this once per steered site per token.

    PYTHONPATH=build/python /usr/bin/python3 benchmarks/python/bench_call_overhead.py [--d 4096]

Times are thread CPU microseconds per call (time.thread_time over many calls: waiting for a core on a loaded
machine does not count), medians of the repetitions.
"""

import argparse
import json
import statistics
import time

import numpy as np

import act


def per_call_us(fn, calls, repetitions):
    means = []
    for _ in range(repetitions):
        start = time.thread_time()
        for _ in range(calls):
            fn()
        means.append((time.thread_time() - start) / calls * 1e6)
    return statistics.median(means)


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
    results = {}
    x = rng.standard_normal((1, d), dtype=np.float32)
    results["numpy_f32"] = per_call_us(lambda: maps.apply("s", x), args.calls, args.repetitions)
    for name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        t = torch.from_numpy(x.copy()).to(dtype)
        results[f"torch_{name}"] = per_call_us(lambda: maps.apply("s", t), args.calls, args.repetitions)
        results[f"act.torch.apply_{name}"] = per_call_us(lambda: at.apply(maps, "s", t), args.calls, args.repetitions)
        module = Copy()
        with torch.no_grad():
            plain = per_call_us(lambda: module(t), args.calls, args.repetitions)
            with at.steer(module, maps, {"s": ""}):
                hooked = per_call_us(lambda: module(t), args.calls, args.repetitions)
        results[f"steer_hook_{name}"] = hooked - plain
    base = results["numpy_f32"]
    print(f"d = {d}; thread CPU microseconds per call (median of {args.repetitions} x {args.calls} calls)")
    for key, value in results.items():
        print(f"  {key:24s} {value:7.2f} us   {value / base:5.2f}x NumPy")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"d": d, "us_per_call": results}, f, indent=1)


if __name__ == "__main__":
    main()
