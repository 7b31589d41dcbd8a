"""Applying maps from Python: in place (same memory), equal to the C++ hook (act-cli apply), every row mode."""

import numpy as np
import pytest

import act
from conftest import bits, main_thread_runs_during


@pytest.fixture
def fitted(rng):
    source = rng.standard_normal((200, 24)).astype(np.float32)
    target = (rng.standard_normal((150, 24)) * 1.5 + 0.8).astype(np.float32)
    return act.fit("linear", source, target)


def activations(rng, shape, dtype=np.float32):
    x = (rng.standard_normal(shape) * 1.3).astype(dtype)
    return x


def cli_apply(act_cli, tmp_path, fit, x, strength):
    maps = act.MapSet()
    maps.insert("site", fit)
    maps.save(tmp_path / "map.safetensors")
    np.save(tmp_path / "x.npy", x)
    act_cli("apply", "--map", tmp_path / "map.safetensors", "--strength", strength, "--input", tmp_path / "x.npy",
            "--output", tmp_path / "y.npy")
    return np.load(tmp_path / "y.npy")


@pytest.mark.parametrize("method", ["linear", "quantile"])
def test_in_place_equals_the_cpp_hook(method, act_cli, rng, tmp_path):
    source = rng.standard_normal((200, 24)).astype(np.float32)
    target = (rng.standard_normal((150, 24)) * 1.5 + 0.8).astype(np.float32)
    fit = act.fit(method, source, target)
    x = activations(rng, (50, 24))
    x[3, 4] = np.nan
    expected = cli_apply(act_cli, tmp_path, fit, x, 0.7)
    address = x.ctypes.data
    assert fit.map.apply(x, 0.7) is x
    assert x.ctypes.data == address
    assert np.array_equal(bits(x), bits(expected))


def test_torch_float32_in_place_equals_numpy(fitted, rng):
    torch = pytest.importorskip("torch")
    x = activations(rng, (40, 24))
    t = torch.from_numpy(x.copy())
    address = t.data_ptr()
    fitted.map.apply(x, 0.5)
    fitted.map.apply(t, 0.5)
    assert t.data_ptr() == address
    assert np.array_equal(bits(t.numpy()), bits(x))


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_16_bit_tensors_equal_the_float32_result_rounded_once(dtype_name, fitted, rng):
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, dtype_name)
    t = torch.from_numpy(activations(rng, (64, 24))).to(dtype)
    t[1, 2] = float("nan")
    wide = t.float()
    fitted.map.apply(wide, 0.8)
    expected = wide.to(dtype)
    original = t.clone()
    address = t.data_ptr()
    fitted.map.apply(t, 0.8)
    assert t.data_ptr() == address
    finite = ~torch.isnan(original)
    assert torch.equal(t.view(torch.int16)[finite], expected.view(torch.int16)[finite])
    # NaN keeps its bits (torch's own float -> bfloat16 cast turns this NaN into 0xFFFF).
    assert torch.equal(t.view(torch.int16)[~finite], original.view(torch.int16)[~finite])


def test_numpy_float16_through_the_buffer_protocol(fitted, rng):
    x = activations(rng, (32, 24), np.float16)
    wide = x.astype(np.float32)
    fitted.map.apply(wide, 1.0)
    fitted.map.apply(x, 1.0)
    assert np.array_equal(bits(x), bits(wide.astype(np.float16)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_strength_zero_leaves_bits_unchanged(dtype, fitted, rng):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(activations(rng, (16, 24))).to(getattr(torch, dtype))
    t[0, 0] = float("nan")
    before = t.clone()
    fitted.map.apply(t, 0.0)
    width = {"float64": torch.int64, "float32": torch.int32}.get(dtype, torch.int16)
    assert torch.equal(t.view(width), before.view(width))


def test_float64_maps_and_arrays(rng):
    source = rng.standard_normal((100, 6))
    target = rng.standard_normal((100, 6)) * 2 + 1
    fit = act.fit("linear", source, target, support="all")
    assert fit.map.dtype == np.float64
    x = rng.standard_normal((10, 6))
    y = fit.map.transport(x, 1.0)
    np.testing.assert_allclose(y, fit.map.omega * x + fit.map.beta, rtol=1e-12)
    # On float32 arrays a float64 map runs as its float32 cast.
    x32 = x.astype(np.float32)
    cast = act.AffineMap(fit.map.omega.astype(np.float32), fit.map.beta.astype(np.float32))
    assert np.array_equal(fit.map.transport(x32), cast.transport(x32))


def test_transport_returns_a_new_array(fitted, rng):
    x = activations(rng, (8, 24))
    before = x.copy()
    y = fitted.map.transport(x, 0.5)
    assert np.array_equal(x, before) and not np.shares_memory(x, y)
    fitted.map.apply(x, 0.5)
    assert np.array_equal(bits(x), bits(y))


def test_masked_rows(fitted, rng):
    x = activations(rng, (12, 24))
    mask = rng.random(12) < 0.5
    full = fitted.map.transport(x)
    fitted.map.apply(x, mask=mask)
    assert np.array_equal(bits(x[mask]), bits(full[mask]))
    assert np.array_equal(bits(x[~mask]), bits(fitted.map.transport(x[~mask], 0.0)))


def test_lengths_packed_and_padded(fitted, rng):
    # 2-D: packed sequences, the last row of each changes.
    x = activations(rng, (10, 24))
    original = x.copy()
    fitted.map.apply(x, lengths=[3, 5, 2])
    changed = [r for r in range(10) if not np.array_equal(x[r], original[r])]
    assert set(changed) <= {2, 7, 9} and len(changed) >= 2
    # 3-D padded [batch x tokens x d]: the last valid token of each sequence changes.
    y = activations(rng, (3, 6, 24))
    expected = y.copy()
    for b, n in enumerate([6, 2, 4]):
        expected[b, n - 1] = fitted.map.transport(expected[b, n - 1])
    fitted.map.apply(y, lengths=[6, 2, 4])
    assert np.array_equal(bits(y), bits(expected))


def test_per_row_and_per_sequence_strengths(fitted, rng):
    x = activations(rng, (4, 24))
    strengths = np.array([0.0, 0.5, 1.0, 2.0], np.float32)
    expected = np.stack([fitted.map.transport(x[r], float(s)) for r, s in enumerate(strengths)])
    fitted.map.apply(x, strengths)
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-6)
    y = activations(rng, (2, 3, 24))
    expected = np.stack([fitted.map.transport(y[b], s) for b, s in enumerate([0.25, 1.0])])
    fitted.map.apply(y, [0.25, 1.0])
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_threads_give_the_same_bits(fitted, rng):
    x = activations(rng, (4096, 24))
    y = x.copy()
    fitted.map.apply(x, 0.7)
    fitted.map.apply(y, 0.7, threads=2)
    assert np.array_equal(bits(x), bits(y))


def test_strided_views_are_edited_in_place(fitted, rng):
    big = activations(rng, (20, 48))
    view = big[:, ::2]  # column stride 2
    expected = fitted.map.transport(np.ascontiguousarray(view))
    fitted.map.apply(view)
    assert np.array_equal(bits(big[:, ::2]), bits(expected))
    col_major = np.asfortranarray(activations(rng, (20, 24)))
    expected = fitted.map.transport(np.ascontiguousarray(col_major))
    fitted.map.apply(col_major)
    assert np.array_equal(bits(col_major), bits(expected))


def test_channel_spatial_feature_maps(rng):
    source = rng.standard_normal((64, 5)).astype(np.float32)
    target = (rng.standard_normal((64, 5)) + 2.0).astype(np.float32)
    m = act.fit("linear", source, target, support="all").map
    x = activations(rng, (3, 5, 4, 4))
    means = x.reshape(3, 5, 16).astype(np.float64).mean(axis=2)
    shift = 0.5 * ((m.omega - 1.0) * means + m.beta)
    expected = x + shift[:, :, None, None]
    m.apply(x, 0.5)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-5)


def test_coefficients_are_read_only_views(fitted):
    omega = fitted.map.omega
    assert not omega.flags.writeable and omega.base is not None
    with pytest.raises(ValueError):
        omega[0] = 2.0
    assert fitted.map.omega.ctypes.data == omega.ctypes.data  # the map's own memory, not a copy


def test_maps_from_arrays_and_pickle(rng):
    import pickle

    m = act.AffineMap(np.full(3, 2.0, np.float32), np.ones(3, np.float32), lower=np.zeros(3, np.float32),
                      upper=np.full(3, 10.0, np.float32))
    assert (m.dim, m.bounded, str(m.dtype)) == (3, True, "float32")
    x = np.array([[-1.0, 1.0, 20.0]], np.float32)
    assert np.array_equal(m.transport(x), [[-1.0, 3.0, 20.0]])
    again = pickle.loads(pickle.dumps(m))
    assert np.array_equal(again.omega, m.omega) and np.array_equal(again.upper, m.upper)
    q = act.QuantileMap(np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]]))
    assert (q.dim, q.knots, str(q.dtype), q.bounded) == (1, 2, "float64", False)
    assert np.allclose(q.transport(np.array([[0.5], [3.0]])), [[1.0], [4.0]])  # slope 1 beyond the last knot
    assert act.AffineMap.identity(4).transport(np.ones((2, 4), np.float32)).tolist() == [[1.0] * 4] * 2


def test_apply_releases_the_gil(fitted, rng):
    x = activations(rng, (65536, 24))  # about 100 ms of applying in all

    def work():
        for _ in range(100):
            fitted.map.apply(x, 0.5, threads=1)

    inside, seconds = main_thread_runs_during(work)
    assert inside > 100, f"{inside} main-thread iterations during {seconds:.3f} s of applying"
