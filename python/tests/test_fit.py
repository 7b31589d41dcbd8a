"""act.fit: every method equals act-cli's map file on the same data; arrays are read in place."""

import threading
import time

import numpy as np
import pytest

import act
from conftest import bits, main_thread_runs_during

METHODS = [m["name"] for m in act.methods()]


def samples(rng, n, d, shift=0.0, scale=1.0, dtype=np.float32):
    return (rng.standard_normal((n, d)) * scale + shift).astype(dtype)


def test_registry_lists_every_method():
    assert METHODS == ["linear", "mean", "gaussian", "actadd", "caa", "pca", "pca_uncentred", "itic", "aura", "det0", "quantile"]
    assert act.method("linear")["default_support"] == "q0_100"
    assert act.method("caa")["strength"] == "multiplier"
    assert [m["name"] for m in act.methods() if m["paired"]] == ["pca", "pca_uncentred"]
    assert [m["name"] for m in act.methods() if not m["per_neuron"]] == ["pca", "pca_uncentred", "itic"]
    with pytest.raises(act.InvalidArgument, match="unknown method 'nope'"):
        act.method("nope")


@pytest.mark.parametrize("method", METHODS)
def test_fit_equals_act_cli_map_file_bit_for_bit(method, act_cli, rng, tmp_path):
    source = samples(rng, 90, 12)
    # Unequal counts, except for PCA (paired differences).
    target = samples(rng, 90 if act.method(method)["paired"] else 70, 12, shift=0.7, scale=1.6)
    np.save(tmp_path / "source.npy", source)
    np.save(tmp_path / "target.npy", target)
    cli_file = tmp_path / "cli.safetensors"
    act_cli("fit", "--method", method, "--source", tmp_path / "source.npy", "--target", tmp_path / "target.npy",
            "--out", cli_file, "--site", "blk.3.post_attn_norm", "--quiet")

    fit = act.fit(method, source, target)
    maps = act.MapSet()
    maps.insert("blk.3.post_attn_norm", fit)
    py_file = tmp_path / "python.safetensors"
    maps.save(py_file)
    assert py_file.read_bytes() == cli_file.read_bytes()

    loaded = act.MapSet.load(cli_file)["blk.3.post_attn_norm"]
    if method == "quantile":
        assert isinstance(fit.map, act.QuantileMap)
        assert np.array_equal(bits(fit.map.knots_source), bits(loaded.knots_source))
        assert np.array_equal(bits(fit.map.knots_target), bits(loaded.knots_target))
    else:
        assert isinstance(fit.map, act.AffineMap)
        for field in ("omega", "beta", "lower", "upper"):
            mine, theirs = getattr(fit.map, field), getattr(loaded, field)
            assert (mine is None) == (theirs is None)
            if mine is not None:
                assert mine.dtype == np.float32
                assert np.array_equal(bits(mine), bits(theirs)), field


@pytest.mark.parametrize("support", ["all", "q5_95", "q0_100"])
def test_support_strings_as_act_cli(support, act_cli, rng, tmp_path):
    source, target = samples(rng, 60, 5), samples(rng, 60, 5, shift=1.0)
    np.save(tmp_path / "s.npy", source)
    np.save(tmp_path / "t.npy", target)
    act_cli("fit", "--method", "linear", "--support", support, "--source", tmp_path / "s.npy", "--target",
            tmp_path / "t.npy", "--out", tmp_path / "cli.safetensors", "--quiet")
    fit = act.fit("linear", source, target, support=support)
    assert fit.support == support
    maps = act.MapSet()
    maps.insert("site", fit)
    maps.save(tmp_path / "py.safetensors")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert fit.map.bounded == (support != "all")


def test_quantile_knots_as_act_cli(act_cli, rng, tmp_path):
    source, target = samples(rng, 50, 4), samples(rng, 40, 4, scale=2.0)
    np.save(tmp_path / "s.npy", source)
    np.save(tmp_path / "t.npy", target)
    act_cli("fit", "--method", "quantile", "--knots", 9, "--source", tmp_path / "s.npy", "--target",
            tmp_path / "t.npy", "--out", tmp_path / "cli.safetensors", "--quiet")
    fit = act.fit("quantile", source, target, knots=9)
    assert fit.map.knots == 9 and fit.support == "knots"
    maps = act.MapSet()
    maps.insert("site", fit)
    maps.save(tmp_path / "py.safetensors")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()


def test_float64_input_fits_in_float64_close_to_act_cli(act_cli, rng, tmp_path):
    source, target = samples(rng, 80, 6, dtype=np.float64), samples(rng, 80, 6, shift=0.5, dtype=np.float64)
    np.save(tmp_path / "s.npy", source)
    np.save(tmp_path / "t.npy", target)
    act_cli("fit", "--method", "linear", "--source", tmp_path / "s.npy", "--target", tmp_path / "t.npy", "--out",
            tmp_path / "cli.safetensors", "--quiet")
    fit = act.fit("linear", source, target)
    assert fit.map.dtype == np.float64
    cli = act.MapSet.load(tmp_path / "cli.safetensors")["site"]
    np.testing.assert_allclose(fit.map.omega, cli.omega, rtol=1e-5)
    np.testing.assert_allclose(fit.map.beta, cli.beta, rtol=1e-5, atol=1e-6)


def test_diagnostics_and_counts(rng):
    fit = act.fit("linear", samples(rng, 40, 3), samples(rng, 30, 3, shift=2.0))
    assert (fit.source_samples, fit.target_samples, fit.method, fit.support) == (40, 30, "linear", "q0_100")
    assert sorted(fit.diagnostics) == ["low_spread", "r2", "w2_after", "w2_before"]
    for name, v in fit.diagnostics.items():
        assert v.dtype == (bool if name == "low_spread" else np.float64) and v.shape == (3,)
    assert np.all(fit.diagnostics["w2_after"] < fit.diagnostics["w2_before"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_and_fortran_order_read_in_place(dtype, rng):
    c = samples(rng, 64, 16, dtype=dtype)
    f = np.asfortranarray(c)
    view = act._act._sample_view(c)
    assert view["layout"] == "row_major" and view["data"] == c.ctypes.data and view["protocol"] == "buffer"
    view = act._act._sample_view(f)
    assert view["layout"] == "col_major" and view["data"] == f.ctypes.data
    # A column slice keeps a contiguous axis: still in place, with an outer stride.
    wide = samples(rng, 64, 40)
    part = wide[:, 5:21]
    view = act._act._sample_view(part)
    assert view["layout"] == "row_major" and view["data"] == part.ctypes.data
    # Strided along both axes: copied once.
    assert act._act._sample_view(wide[::2, ::2])["layout"] == "copy"


def test_every_layout_gives_the_same_bits(rng):
    source, target = samples(rng, 64, 16), samples(rng, 48, 16, shift=1.0)
    reference = act.fit("linear", source, target).map
    wide = np.zeros((64, 40), np.float32)
    wide[:, 3:19] = source
    variants = [
        (np.asfortranarray(source), np.asfortranarray(target)),
        (source, np.asfortranarray(target)),  # mixed: the target is copied into the source's layout
        (wide[:, 3:19], target),
        (np.repeat(source, 2, axis=1)[:, ::2], target),
    ]
    for s, t in variants:
        m = act.fit("linear", s, t).map
        for field in ("omega", "beta", "lower", "upper"):
            assert np.array_equal(bits(getattr(m, field)), bits(getattr(reference, field)))


def test_threads_give_the_same_bits(rng):
    source, target = samples(rng, 200, 33), samples(rng, 150, 33, shift=1.0)
    one = act.fit("linear", source, target, threads=1).map
    two = act.fit("linear", source, target, threads=2).map
    every = act.fit("linear", source, target, threads=0).map
    assert np.array_equal(bits(one.omega), bits(two.omega)) and np.array_equal(bits(one.beta), bits(every.beta))


def test_torch_tensors_are_read_in_place(rng):
    torch = pytest.importorskip("torch")
    source, target = samples(rng, 64, 8), samples(rng, 64, 8, shift=1.0)
    ts, tt = torch.from_numpy(source.copy()), torch.from_numpy(target.copy())
    view = act._act._sample_view(ts)
    assert view["protocol"] == "torch" and view["layout"] == "row_major" and view["data"] == ts.data_ptr()
    # Offsets read in place; negative-bit views (not in the bytes) refused; other dtypes: DLPack's own checks.
    view = act._act._sample_view(ts[3:, 2:])
    assert view["protocol"] == "torch" and view["data"] == ts[3:, 2:].data_ptr()
    with pytest.raises(act.InvalidArgument, match="resolve_neg"):
        act._act._sample_view(torch._neg_view(ts))
    with pytest.raises(act.InvalidArgument, match="element type int32"):
        act._act._sample_view(torch.zeros(2, 2, dtype=torch.int32))
    view = act._act._sample_view(ts.t())
    assert view["layout"] == "col_major" and view["data"] == ts.data_ptr()
    assert np.array_equal(act.fit("mean", ts, tt).map.beta, act.fit("mean", source, target).map.beta)


def test_fit_releases_the_gil(rng):
    source, target = samples(rng, 4096, 96), samples(rng, 4096, 96, shift=1.0)

    def work():
        for _ in range(8):  # about 100 ms of fitting in all
            act.fit("linear", source, target)

    # With the GIL held for the whole fit, this thread could not run inside the window at all.
    inside, seconds = main_thread_runs_during(work)
    assert inside > 100, f"{inside} main-thread iterations during {seconds:.3f} s of fitting"


def test_support_bounds_min_std_and_low_spread(rng):
    # A post-ReLU neuron (exact zeros at the minimum) and a near-constant one (sd 3e-5).
    source = np.maximum(samples(rng, 64, 2), 0.0)
    source[:, 1] = 1.5 + 3e-5 * rng.standard_normal(64)
    target = samples(rng, 64, 2, shift=1.0)
    fit = act.fit("linear", source, target)
    assert fit.map.bounds == "open"
    assert list(fit.diagnostics["low_spread"]) == [False, True]
    zeros = np.zeros((1, 2), np.float32)
    fit.map.apply(zeros, strength=1.0)
    assert zeros[0, 0] == 0.0  # on the open lower bound: left alone
    closed = act.fit("linear", source, target, support_bounds="closed")
    assert closed.map.bounds == "closed"
    zeros = np.zeros((1, 2), np.float32)
    closed.map.apply(zeros, strength=1.0)
    assert zeros[0, 0] != 0.0
    gaussian = act.fit("gaussian", source, target)
    assert gaussian.map.omega[1] == 1.0 and gaussian.map.beta[1] == 0.0
    assert act.fit("gaussian", source, target, min_std=0.0).map.omega[1] > 1e3
    with pytest.raises(act.InvalidArgument, match="min_std"):
        act.fit("gaussian", source, target, min_std=-1.0)
    with pytest.raises(act.InvalidArgument, match="'half' is not 'open' or 'closed'"):
        act.fit("linear", source, target, support_bounds="half")
    m = act.AffineMap(np.ones(1, np.float32), np.ones(1, np.float32), np.zeros(1, np.float32), np.ones(1, np.float32),
                      bounds="closed")
    assert m.bounds == "closed"


def test_affine_map_pickles_keep_bounds():
    import pickle
    ones = np.ones(2, np.float32)
    m = act.AffineMap(ones, ones, -ones, ones, bounds="closed")
    assert pickle.loads(pickle.dumps(m)).bounds == "closed"
    assert pickle.loads(pickle.dumps(act.AffineMap(ones, ones, -ones, ones))).bounds == "open"
    # A state pickled before the boundary rule existed: its support was closed.
    old = act.AffineMap.__new__(act.AffineMap)
    old.__setstate__((ones, ones, -ones, ones))
    assert old.bounds == "closed"
