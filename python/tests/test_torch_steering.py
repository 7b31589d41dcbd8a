"""act.torch's two apply paths (C++ kernel, torch operations) against each other and against plain torch
statements of the maps; steering under autograd; aliased outputs; pooling in float32; ergonomics."""

import numpy as np
import pytest

import act
from conftest import bits

torch = pytest.importorskip("torch")
import act.torch as at  # noqa: E402  (after the skip: needs torch)

nn = torch.nn


def random_maps(rng, d=40):
    """A MapSet with every kind of map: bounded open, bounded closed, unbounded affine, quantile."""
    source = rng.normal(size=(300, d)).astype(np.float32)
    target = (1.5 * rng.normal(size=(300, d)) + 0.7).astype(np.float32)
    maps = act.MapSet()
    maps.insert("open", act.fit("linear", source, target))
    maps.insert("closed", act.fit("linear", source, target, support_bounds="closed"))
    maps.insert("all", act.fit("linear", source, target, support="all"))
    maps.insert("quantile", act.fit("quantile", source, target, knots=16))
    return maps


def awkward_values(rng, maps, site, rows=64, dtype=torch.float32):
    """[rows x d] values with NaN, +-Inf, signed zeros and the map's own bounds and knots among normal ones."""
    d = maps.info(site)["dim"]
    x = torch.from_numpy((2.0 * rng.normal(size=(rows, d))).astype(np.float32))
    m = maps[site]
    if isinstance(m, act.AffineMap) and m.bounded:
        x[0] = torch.from_numpy(np.array(m.lower))
        x[1] = torch.from_numpy(np.array(m.upper))
        x[2] = torch.from_numpy(np.nextafter(np.asarray(m.lower), np.float32(np.inf)))
        x[3] = torch.from_numpy(np.nextafter(np.asarray(m.upper), np.float32(-np.inf)))
    if isinstance(m, act.QuantileMap):
        x[0] = torch.from_numpy(np.array(m.knots_source)[0])
        x[1] = torch.from_numpy(np.array(m.knots_source)[-1])
        x[2] = torch.from_numpy(np.array(m.knots_source)[3])
    x[4, :4] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0])
    x[5, :2] = torch.tensor([0.0, 1e30])
    return x.to(dtype)


def steer_both(maps, site, x, **kwargs):
    kernel = at.steered(maps, site, x, path="kernel", **kwargs)
    ops = at.steered(maps, site, x, path="torch", **kwargs)
    return kernel, ops


def raw(t):
    """The bits of a tensor as integers, for exact comparisons (NaN payloads and signed zeros included)."""
    return t.contiguous().view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def one_rounding_apart(a, b):
    """Integer bit patterns at most one unit in the last place apart."""
    return bool(((a.long() - b.long()).abs() <= 1).all())


@pytest.mark.parametrize("site", ["open", "closed", "all", "quantile"])
@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0, 1.7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_torch_operations_give_the_kernels_bits(rng, site, strength, dtype):
    maps = random_maps(rng)
    maps.set_strength(strength)
    x = awkward_values(rng, maps, site, dtype=dtype)
    kernel, ops = steer_both(maps, site, x)
    assert kernel.dtype == ops.dtype == dtype
    if dtype == torch.float16:
        assert one_rounding_apart(raw(kernel), raw(ops))
    else:
        assert torch.equal(raw(kernel), raw(ops))
    if strength == 0.0:
        assert torch.equal(raw(ops), raw(x)) and torch.equal(raw(kernel), raw(x))
    # NaN and +-Inf keep their bits on both paths.
    for out in (kernel, ops):
        assert torch.equal(raw(out[4, :3]), raw(x[4, :3]))


def test_the_paths_agree_on_every_layout_and_position_choice(rng):
    maps = random_maps(rng, d=24)
    x = torch.from_numpy(rng.normal(size=(3, 5, 24)).astype(np.float32)).to(torch.bfloat16)
    mask = torch.tensor([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]])
    for site in ("open", "quantile"):
        for positions in (None, "last", mask):
            kernel, ops = steer_both(maps, site, x, positions=positions)
            assert torch.equal(kernel.view(torch.int16), ops.view(torch.int16))
        last_only = at.steered(maps, site, x, path="torch", positions="last")
        assert torch.equal(last_only[:, :-1], x[:, :-1]) and not torch.equal(last_only[:, -1], x[:, -1])
        masked = at.steered(maps, site, x, path="torch", positions=mask)
        assert torch.equal(masked[mask == 0], x[mask == 0])


@pytest.mark.parametrize("site", ["open", "closed", "all", "quantile"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_feature_maps_take_the_kernels_bits(rng, site, dtype):
    """[N x C x H x W]: each channel's mean moves. Every channel holds 2^50 and, mid-way, -2^50, so a float64 sum
    depends on its order (values added next to 2^50 round to its unit, 1/4): the paths agree only by summing as
    the kernel does, position by position (a pairwise sum() differs in every channel here). float16's range
    cannot make float64 round, and its values are converted exactly to float32 on both paths: all four types
    agree bit for bit."""
    maps = random_maps(rng, d=24)
    maps.set_strength(0.8)
    huge = 2.0**15 if dtype == torch.float16 else 2.0**50
    values = rng.normal(size=(2, 24, 6, 6))
    values[:, :, 0, 0] = huge
    values[:, :, 2, 5] = -huge
    images = torch.from_numpy(values.astype(np.float32)).to(dtype)
    kernel, ops = steer_both(maps, site, images)
    assert kernel.dtype == ops.dtype == dtype
    assert torch.equal(raw(kernel), raw(ops))
    assert not torch.equal(raw(kernel), raw(images))  # the channel means lie inside the maps' supports
    at.apply(maps, site, images, path="torch")  # in place: the same bits
    assert torch.equal(raw(images), raw(kernel))


def test_apply_edits_in_place_and_returns_its_argument(rng):
    maps = random_maps(rng, d=8)
    x = torch.from_numpy(rng.normal(size=(4, 8)).astype(np.float32))
    for path in ("kernel", "torch"):
        y = x.clone()
        pointer = y.data_ptr()
        assert at.apply(maps, "open", y, path=path) is y and y.data_ptr() == pointer
        assert torch.equal(y, at.steered(maps, "open", x, path="kernel"))
        assert at.apply(maps, "missing", y, path=path) is y
    with pytest.raises(ValueError, match="ACT_TORCH_PATH"):
        import os
        os.environ["ACT_TORCH_PATH"] = "gpu"
        try:
            at.apply(maps, "open", x)
        finally:
            del os.environ["ACT_TORCH_PATH"]
    with pytest.raises(ValueError, match="8 neurons"):
        at.apply(maps, "open", torch.zeros(2, 5), path="torch")
    leaf = x.clone().requires_grad_()
    for path in ("kernel", "torch"):
        with pytest.raises(RuntimeError, match="requires grad.*act.torch.steered"):
            at.apply(maps, "open", leaf, path=path)
        other = x.clone().requires_grad_()
        with torch.no_grad():  # as an optimiser edits parameters
            assert at.apply(maps, "open", other, path=path) is other
        assert torch.equal(other.detach(), at.steered(maps, "open", x))


# ---------------------------------------------------------------------------------------------------------------
# Autograd and aliases


def affine_by_hand(m, x):
    """T(x) = omega x + beta inside an unbounded map's support (everything finite), in plain torch."""
    return x * torch.from_numpy(np.array(m.omega)) + torch.from_numpy(np.array(m.beta))


class Tap(nn.Module):
    """y = proj(x) + tap(x), where tap returns its input (nn.Identity): proj saved x for its weight's gradient."""

    def __init__(self, d, tap):
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.tap = tap

    def forward(self, x):
        return self.proj(x) + self.tap(x)


class Feed(nn.Module):
    """out = lin2(tap(lin1(x))): the steered site feeds a trainable layer, and its input requires grad."""

    def __init__(self, d, tap):
        super().__init__()
        self.lin1 = nn.Linear(d, d)
        self.tap = tap
        self.lin2 = nn.Linear(d, d)

    def forward(self, x):
        return self.lin2(self.tap(self.lin1(x)))


def unbounded_set(rng, d):
    source = rng.normal(size=(200, d)).astype(np.float32)
    target = (2.0 * rng.normal(size=(200, d)) + 1.0).astype(np.float32)
    maps = act.MapSet()
    maps.insert("tap", act.fit("linear", source, target, support="all"))
    return maps


def gradients(model, loss):
    model.zero_grad()
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("tap", [nn.Identity(), nn.Dropout(0.5).eval()], ids=["identity", "eval_dropout"])
@pytest.mark.parametrize("path", ["kernel", "torch"])
def test_steering_an_alias_gives_the_true_gradient(rng, tap, path):
    d = 6
    torch.manual_seed(0)
    maps = unbounded_set(rng, d)
    m = maps["tap"]
    x = torch.from_numpy(rng.normal(size=(5, d)).astype(np.float32))
    before = x.clone()

    model = Tap(d, tap)
    with at.steer(model, maps, {"tap": "tap"}, path=path):
        steered = model(x)
    got = gradients(model, (steered ** 2).sum())
    reference = model.proj(x) + affine_by_hand(m, x)
    expected = gradients(model, (reference ** 2).sum())
    torch.testing.assert_close(steered, reference, rtol=1e-6, atol=1e-6)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-5)
    assert torch.equal(raw(x), raw(before))

    feed = Feed(d, tap)
    with at.steer(feed, maps, {"tap": "tap"}, path=path):
        out = feed(x)
    got = gradients(feed, (out ** 2).sum())
    expected = gradients(feed, (feed.lin2(affine_by_hand(m, feed.lin1(x))) ** 2).sum())
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-5)


class Detached(nn.Module):
    """Returns its input's rows 1.. detached: a tensor that is not a view, yet shares the input's storage."""

    def forward(self, x):
        return x[1:].detach()


@pytest.mark.parametrize("tap", [nn.Identity(), nn.Dropout(0.5).eval(), Detached()], ids=["identity", "eval_dropout",
                                                                                          "detached_rows"])
@pytest.mark.parametrize("path", ["kernel", "torch"])
def test_steering_an_alias_leaves_the_callers_tensor_alone(rng, path, tap):
    d = 6
    maps = unbounded_set(rng, d)
    x = torch.from_numpy(rng.normal(size=(5, d)).astype(np.float32))
    before = x.clone()
    for grad in (False, True):
        with torch.set_grad_enabled(grad), at.steer(tap, maps, {"tap": ""}, path=path):
            y = tap(x)
        assert torch.equal(raw(x), raw(before))
        assert torch.equal(y, at.steered(maps, "tap", tap(x), path="kernel"))


class Whole(nn.Module):
    """Given rows 1.. of a tensor, returns the whole tensor they view, detached: storage shared with the input,
    starting before it."""

    def forward(self, x):
        return x._base.detach()


@pytest.mark.parametrize("path", ["kernel", "torch"])
def test_an_output_starting_before_its_input_in_one_storage_is_an_alias(rng, path):
    maps = unbounded_set(rng, 6)
    base = torch.from_numpy(rng.normal(size=(5, 6)).astype(np.float32))
    before = base.clone()
    whole = Whole()
    with torch.no_grad(), at.steer(whole, maps, {"tap": ""}, path=path):
        y = whole(base[1:])
    assert torch.equal(raw(base), raw(before))  # the hook steered a copy
    assert torch.equal(y, at.steered(maps, "tap", base, path="kernel"))


def test_the_default_hook_is_acts_own_and_positions_take_python(rng):
    """steer's hook for every position on the kernel path is act's C++ hook; with positions, or on the torch
    path, it is Python's: each gives the same bits as act.torch.steered."""
    maps = unbounded_set(rng, 6)
    lin = nn.Linear(6, 6)
    x = torch.from_numpy(rng.normal(size=(2, 3, 6)).astype(np.float32))
    for positions, path, native in ((None, "auto", True), ("all", "kernel", True), ("last", "auto", False),
                                    (None, "torch", False)):
        with torch.no_grad():
            with at.steer(lin, maps, {"tap": ""}, positions=positions, path=path):
                hooks = list(lin._forward_hooks.values())
                y = lin(x)
            assert len(hooks) == 1 and isinstance(hooks[0], act._act._SteeringHook) == native
            assert torch.equal(raw(y), raw(at.steered(maps, "tap", lin(x), path="kernel", positions=positions)))


def test_a_steered_model_can_be_deep_copied(rng):
    """copy.deepcopy shares a module's hooks (functions copy as themselves): the copy is steered alike."""
    import copy

    maps = unbounded_set(rng, 6)
    lin = nn.Linear(6, 6)
    x = torch.from_numpy(rng.normal(size=(2, 6)).astype(np.float32))
    with torch.no_grad(), at.steer(lin, maps, {"tap": ""}):
        twin = copy.deepcopy(lin)
        assert torch.equal(raw(twin(x)), raw(lin(x)))


def test_outputs_that_alias_nothing_are_steered_in_place(rng):
    maps = unbounded_set(rng, 6)
    lin = nn.Linear(6, 6)
    seen = {}
    def record(module, inputs, output):
        seen["pointer"] = output.data_ptr()

    lin.register_forward_hook(record)
    with torch.no_grad(), at.steer(lin, maps, {"tap": ""}, path="kernel"):
        y = lin(torch.ones(2, 6))
    assert y.data_ptr() == seen["pointer"]


def test_trace_records_the_map(rng):
    maps = unbounded_set(rng, 6)
    torch.manual_seed(1)
    model = Feed(6, nn.Identity())
    x = torch.from_numpy(rng.normal(size=(3, 6)).astype(np.float32))
    with torch.no_grad():
        with at.steer(model, maps, {"tap": "tap"}):
            steered = model(x)
            traced = torch.jit.trace(model, x)  # torch's check re-traces and compares the graphs
        plain = model(x)
        assert torch.equal(traced(x), steered) and not torch.equal(plain, steered)


# ---------------------------------------------------------------------------------------------------------------
# Pooling


@pytest.mark.parametrize("path", ["kernel", "torch"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_16bit_means_are_float64_means_rounded_to_float32(rng, path, dtype):
    x = torch.from_numpy((rng.normal(size=(4, 33, 16)) * 3 + 1).astype(np.float32)).to(dtype)
    mask = torch.ones(4, 33, dtype=torch.int64)
    mask[1, 20:] = 0
    pooled = at._pooled(x, "mean", mask, path)
    exact = np.stack([x[b, mask[b] != 0].double().numpy().mean(axis=0) for b in range(4)]).astype(np.float32)
    assert pooled.dtype == np.float32
    assert np.all(np.abs(bits(pooled).astype(np.int64) - bits(exact).astype(np.int64)) <= 1)
    assert np.array_equal(bits(act.pool(x, "mean", mask=mask)), bits(at._pooled(x, "mean", mask, "kernel")))
    for how in ("last", "max", "min"):
        assert np.array_equal(at._pooled(x, how, mask, "kernel"), at._pooled(x, how, mask, "torch"))


# ---------------------------------------------------------------------------------------------------------------
# fit_causal


class Chain(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.embed = nn.Linear(3, d)
        self.layers = nn.ModuleList([nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d)) for _ in range(3)])
        self.head = nn.Linear(d, 2)
        self.calls = 0
        self.head.register_forward_hook(lambda *args: setattr(self, "calls", self.calls + 1))

    def forward(self, x):
        h = self.embed(x)
        for layer in self.layers:
            h = h + layer(h)
        return self.head(h)


def batches(rng, n, shift):
    return [torch.from_numpy((rng.normal(size=(n, 4, 3)) + shift).astype(np.float32)) for _ in range(2)]


@pytest.mark.parametrize("method", ["linear", "mean", "quantile"])
def test_fit_causal_writes_the_file_act_fit_writes(rng, tmp_path, method):
    torch.manual_seed(0)
    model = Chain()
    sites = at.sites(model, "layers.*.1")
    assert list(sites) == ["layers.0.1", "layers.1.1", "layers.2.1"]
    source, target = batches(rng, 20, 0.0), batches(rng, 15, 1.0)
    kwargs = dict(min_std=0.05, support_bounds="closed") if method == "linear" else {}
    model.calls = 0
    maps, fits = at.fit_causal(model, sites, source, target, method=method, pooling="mean", return_fits=True,
                               progress=False, **kwargs)
    assert model.calls == 0  # every pass stopped at its last site, before the head
    by_hand = act.MapSet()
    targets = at.capture(model, list(sites.values()), target)
    for site, path in sites.items():
        with torch.no_grad(), at.steer(model, by_hand, {s: sites[s] for s in by_hand.sites()}):
            steered = at.capture(model, path, source)[path]
        fit = act.fit(method, steered, targets[path], **kwargs)
        by_hand.insert(site, fit, pooling="mean")
        assert fits[site].support == fit.support
        for key, value in fit.diagnostics.items():
            assert np.array_equal(fits[site].diagnostics[key], value)
    maps.save(tmp_path / "causal.safetensors")
    by_hand.save(tmp_path / "by_hand.safetensors")
    assert (tmp_path / "causal.safetensors").read_bytes() == (tmp_path / "by_hand.safetensors").read_bytes()
    info = maps.info("layers.2.1")
    assert info["support"] == {"linear": "q0_100", "mean": "all", "quantile": "knots"}[method]


def test_fit_causal_checks_the_forward_order(rng):
    torch.manual_seed(0)
    model = Chain()
    backwards = {"b": "layers.1.1", "a": "layers.0.1"}
    source, target = batches(rng, 12, 0.0), batches(rng, 12, 1.0)
    with pytest.raises(ValueError, match=r"forward order.*\['layers.0.1', 'layers.1.1'\]"):
        at.fit_causal(model, backwards, source, target, progress=False)
    reordered = at.fit_causal(model, backwards, source, target, order="forward", progress=False)
    given = at.fit_causal(model, {"a": "layers.0.1", "b": "layers.1.1"}, source, target, progress=True)
    for site in ("a", "b"):
        assert np.array_equal(reordered[site].omega, given[site].omega)


# ---------------------------------------------------------------------------------------------------------------
# Ergonomics


def test_patterns_and_their_errors():
    model = Chain()
    assert list(at.sites(model, "layers.*.0")) == ["layers.0.0", "layers.1.0", "layers.2.0"]
    assert at.sites(model, ["embed", "layers.[02].1"]) == {"embed": "embed", "layers.0.1": "layers.0.1",
                                                          "layers.2.1": "layers.2.1"}
    with pytest.raises(ValueError, match="no module of the model matches 'blocks.\\*'"):
        at.sites(model, "blocks.*")


def test_nested_tensor_outputs_get_a_clear_error():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=True).eval()
    x = torch.randn(2, 5, 8)
    padding = torch.tensor([[False] * 5, [False, False, False, True, True]])
    kinds = []
    hook = encoder.layers[0].register_forward_hook(lambda module, inputs, output: kinds.append(output.is_nested))
    with torch.no_grad():
        encoder(x, src_key_padding_mask=padding)
    hook.remove()
    if kinds != [True]:
        pytest.skip("this torch build does not take the NestedTensor fast path here")
    with pytest.raises(TypeError, match="NestedTensor.*enable_nested_tensor=False"):
        at.capture(encoder, "layers.0", [{"src": x, "src_key_padding_mask": padding}])
