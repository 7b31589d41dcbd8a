"""Shared fixtures of act's pytest suite (run by ctest with PYTHONPATH=<build>/python; see python/CMakeLists.txt)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ACT_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[2])


def _program(variable, target):
    path = os.environ.get(variable)
    if not path or not os.path.exists(path):
        pytest.skip(f"{target} not built ({variable} unset); build the `{target}` target (ACT_BUILD_EXAMPLES=ON)")
    return path


@pytest.fixture
def act_cli():
    """Runs the real act-cli (target `act-cli`): act_cli("fit", "--method", ...) -> CompletedProcess."""
    path = _program("ACT_CLI", "act-cli")

    def run(*args, check=True):
        result = subprocess.run([path, *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"act-cli {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
        return result

    return run


@pytest.fixture
def toy_lm_program():
    return _program("ACT_TOY_LM", "toy_lm")


@pytest.fixture
def source_dir():
    return SOURCE_DIR


@pytest.fixture
def rng():
    return np.random.default_rng(20240614)


def bits(a):
    """The raw bits of a float array (NaN payloads and signed zeros included), for exact comparisons."""
    a = np.ascontiguousarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


def main_thread_runs_during(work):
    """Runs work() in another thread and counts this thread's loop iterations inside the middle 80% of
    work's own time window: with the GIL held for all of work, that count would be zero. Returns
    (iterations, seconds of work)."""
    import threading
    import time

    window = {}

    def timed():
        window["start"] = time.perf_counter()
        work()
        window["end"] = time.perf_counter()

    worker = threading.Thread(target=timed)
    stamps = []
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
    worker.join()
    start, end = window["start"], window["end"]
    margin = 0.1 * (end - start)
    return sum(1 for t in stamps if start + margin < t < end - margin), end - start
