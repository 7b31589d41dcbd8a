#!/usr/bin/env python3
"""Applying a map from Python to a 4096 x 4096 float32 tensor in place, against the C++ BM_apply_f32 in the
same run (goal: within 1.1x: the binding adds no copy). The map is BM_apply_f32's kind: Linear-AcT-like
slopes 0.8-1.2, intercepts +-0.1, support [-2.5, 2.5], lambda 0.5, one thread, N(0, 1) activations.

    PYTHONPATH=build/bench/python /usr/bin/python3 benchmarks/python/bench_apply.py \\
        --cpp-bench build/bench/benchmarks/bench_apply

Times are thread CPU milliseconds per call (time.thread_time; Google Benchmark's CPU time), medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import time

import numpy as np

import act


def per_call(fn, calls, repetitions):
    """Median over repetitions of the mean thread CPU time of `calls` calls, in ms."""
    means = []
    for _ in range(repetitions):
        start = time.thread_time()
        for _ in range(calls):
            fn()
        means.append((time.thread_time() - start) / calls * 1e3)
    return statistics.median(means), means


def cpp_bm_apply_f32(program, repetitions):
    out = subprocess.run([program, "--benchmark_filter=^BM_apply_f32/4096/4096$",
                          f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], capture_output=True, text=True, check=True).stdout
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            assert b["time_unit"] == "ms"
            return b["cpu_time"]
    raise RuntimeError("no median in the C++ benchmark's output")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpp-bench", help="bench_apply (C++) for BM_apply_f32 in the same run")
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--d", type=int, default=4096)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    d = args.d
    m = act.AffineMap(rng.uniform(0.8, 1.2, d).astype(np.float32), rng.uniform(-0.1, 0.1, d).astype(np.float32),
                      lower=np.full(d, -2.5, np.float32), upper=np.full(d, 2.5, np.float32))
    x = rng.standard_normal((args.rows, d), dtype=np.float32)

    rows = {}
    cpp = cpp_bm_apply_f32(args.cpp_bench, args.repetitions) if args.cpp_bench else None
    if cpp is not None:
        rows["C++ BM_apply_f32 (affine_hook on a 64-byte aligned buffer)"] = (cpp, [cpp])
    try:
        import torch

        t = torch.from_numpy(x.copy())  # torch's CPU allocator aligns to 64 bytes
        address = t.data_ptr()
        rows["Python: AffineMap.apply(torch tensor, 0.5)"] = per_call(lambda: m.apply(t, 0.5), args.calls, args.repetitions)
        assert t.data_ptr() == address
        maps = act.MapSet()
        maps.insert("site", m)
        maps.set_strength(0.5)
        rows["Python: MapSet.apply('site', torch tensor)"] = per_call(lambda: maps.apply("site", t), args.calls,
                                                                      args.repetitions)
        small = torch.from_numpy(x[:1].copy())
        rows[f"Python: AffineMap.apply(torch tensor [1 x {d}]) (per-call overhead)"] = per_call(
            lambda: m.apply(small, 0.5), 2000, args.repetitions)
    except ImportError:
        pass
    y = x.copy()
    rows["Python: AffineMap.apply(NumPy array, 0.5)"] = per_call(lambda: m.apply(y, 0.5), args.calls, args.repetitions)

    print(f"apply, {args.rows} x {d} float32, lambda 0.5, support on, 1 thread (thread CPU ms per call, median)")
    results = []
    for name, (ms, values) in rows.items():
        ratio = f"{ms / cpp:6.2f}x" if cpp else ""
        print(f"{name:72} {ms:9.3f} {ratio}")
        results.append({"name": name, "median_ms": ms, "values_ms": values, "ratio_to_cpp": ms / cpp if cpp else None})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "d": d, "results": results, "load_average": os.getloadavg()}, f, indent=1)


if __name__ == "__main__":
    main()
