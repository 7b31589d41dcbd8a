#!/usr/bin/env python3
"""act.fit("linear") on 4096 x 4096 float32 per side against, in the same run, a vectorised NumPy fit (sort
along axis 0 + closed form) and a PyTorch CPU implementation of the reference algorithm (torch.sort +
least squares per neuron, as the authors' code fits each neuron). Goal: act >= 10x faster than either.

    PYTHONPATH=build/bench/python /usr/bin/python3 benchmarks/python/bench_fit.py [--n 4096] [--d 4096]

Times are thread CPU seconds (time.thread_time) for the single-threaded rows -- robust on a loaded
machine -- and wall seconds for act with all cores; medians of the repetitions.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np

import act


def timed(fn, repetitions, clock=time.thread_time):
    times, result = [], None
    for _ in range(repetitions):
        start = clock()
        result = fn()
        times.append(clock() - start)
    return statistics.median(times), times, result


def numpy_fit(source, target):
    """Linear-AcT, vectorised over neurons: sort each column, least-squares line through the sorted pairs
    (float32 data, float64 sums), support [min, max] of the source."""
    a = np.sort(source, axis=0)
    b = np.sort(target, axis=0)
    ma, mb = a.mean(axis=0, dtype=np.float64), b.mean(axis=0, dtype=np.float64)
    da, db = a - ma.astype(np.float32), b - mb.astype(np.float32)
    omega = np.einsum("ij,ij->j", da, db, dtype=np.float64) / np.einsum("ij,ij->j", da, da, dtype=np.float64)
    beta = mb - omega * ma
    return omega.astype(np.float32), beta.astype(np.float32), a[0], a[-1]


def torch_reference_fit(source, target):
    """The reference algorithm in PyTorch: torch.sort along samples, then one least-squares problem per
    neuron (torch.linalg.lstsq of the sorted target on [sorted source, 1])."""
    import torch

    a = torch.sort(source, dim=0).values
    b = torch.sort(target, dim=0).values
    ones = torch.ones(a.shape[0], 1, dtype=a.dtype)
    omega = torch.empty(a.shape[1], dtype=a.dtype)
    beta = torch.empty(a.shape[1], dtype=a.dtype)
    for j in range(a.shape[1]):
        solution = torch.linalg.lstsq(torch.cat([a[:, j:j + 1], ones], dim=1), b[:, j:j + 1]).solution
        omega[j], beta[j] = solution[0, 0], solution[1, 0]
    return omega, beta, a[0], a[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096, help="samples per side")
    ap.add_argument("--d", type=int, default=4096, help="neurons")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--torch-repetitions", type=int, default=1, help="the per-neuron loop is slow; 0 skips it")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    # Heavy-ish tails like real activations; target shifted and scaled.
    source = rng.standard_t(5, size=(args.n, args.d)).astype(np.float32)
    target = (rng.standard_t(5, size=(args.n, args.d)) * 1.3 + 0.4).astype(np.float32)

    source_f, target_f = np.asfortranarray(source), np.asfortranarray(target)  # each neuron's samples contiguous

    rows = {}
    rows["act.fit linear, threads=1"] = timed(lambda: act.fit("linear", source, target), args.repetitions)
    rows["act.fit linear, threads=1, Fortran-ordered input"] = timed(lambda: act.fit("linear", source_f, target_f),
                                                                     args.repetitions)
    rows["act.fit linear, threads=0 (all cores), wall"] = timed(
        lambda: act.fit("linear", source, target, threads=0), args.repetitions, time.perf_counter)
    rows["NumPy: np.sort(axis=0) + closed form"] = timed(lambda: numpy_fit(source, target), args.repetitions)
    rows["NumPy: np.sort(axis=0) + closed form, Fortran-ordered input"] = timed(
        lambda: numpy_fit(source_f, target_f), args.repetitions)
    try:
        if args.torch_repetitions < 1:
            raise ImportError("skipped")
        import torch

        torch_threads = torch.get_num_threads()
        ts, tt = torch.from_numpy(source), torch.from_numpy(target)
        rows[f"PyTorch reference: torch.sort + lstsq per neuron ({torch_threads} thread(s))"] = timed(
            lambda: torch_reference_fit(ts, tt), args.torch_repetitions, time.perf_counter)
    except ImportError:
        torch = None

    # The three fits agree (same sorted pairs, same formula).
    fit = rows["act.fit linear, threads=1"][2].map
    omega_np = rows["NumPy: np.sort(axis=0) + closed form"][2][0]
    agree = {"numpy max |omega difference|": float(np.abs(fit.omega - omega_np).max())}
    if torch is not None:
        omega_t = next(v for k, v in rows.items() if k.startswith("PyTorch"))[2][0].numpy()
        agree["torch max |omega difference|"] = float(np.abs(fit.omega - omega_t).max())

    act_time = rows["act.fit linear, threads=1"][0]
    print(f"Linear-AcT fit, {args.n} x {args.d} float32 per side, C-ordered unless stated (median seconds; "
          "ratio = time / act threads=1)")
    print(f"{'':68} {'seconds':>9} {'ratio':>8}")
    results = []
    for name, (median, times, _) in rows.items():
        print(f"{name:68} {median:9.3f} {median / act_time:7.1f}x")
        results.append({"name": name, "median_s": median, "times_s": times, "ratio_to_act": median / act_time})
    for k, v in agree.items():
        print(f"{k}: {v:.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "d": args.d, "results": results, "agreement": agree,
                       "load_average": os.getloadavg()}, f, indent=1)


if __name__ == "__main__":
    main()
