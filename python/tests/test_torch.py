"""act.torch: capture, steer and fit_causal on small torch models."""

import subprocess
import sys

import numpy as np
import pytest

import act
from conftest import bits

torch = pytest.importorskip("torch")
import act.torch as at  # noqa: E402  (after the skip: needs torch)

nn = torch.nn


@pytest.fixture(autouse=True, params=["kernel", "torch"])
def apply_path(request, monkeypatch):
    """Every test here runs through both paths: act's C++ kernel and torch operations (ACT_TORCH_PATH)."""
    monkeypatch.setenv("ACT_TORCH_PATH", request.param)
    return request.param


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, h):
        return h + self.norm(self.lin(h))


class Net(nn.Module):
    """Token-wise layers only, so padding never reaches valid tokens."""

    def __init__(self, d=8):
        super().__init__()
        self.embed = nn.Linear(4, d)
        self.blocks = nn.ModuleList([Block(d), Block(d)])
        self.head = nn.Linear(d, 3)

    def forward(self, x, attention_mask=None):
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def by_hand(self, x, maps, sites):
        """The forward pass with maps applied by hand at blocks.N.norm (sites: {site: block index})."""
        h = self.embed(x)
        for i, block in enumerate(self.blocks):
            n = block.norm(block.lin(h))
            for site, index in sites.items():
                if index == i:
                    maps.apply(site, n)
            h = h + n
        return self.head(h)


@pytest.fixture
def net():
    torch.manual_seed(0)
    return Net()


def inputs(n, tokens=5, shift=0.0, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, tokens, 4, generator=g) + shift


def test_import_act_does_not_import_torch():
    code = "import sys, act; assert 'torch' not in sys.modules; act.torch; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def fitted_maps(net, sites, method="linear"):
    source = at.capture(net, list(sites.values()), [inputs(16)])
    target = at.capture(net, list(sites.values()), [inputs(16, shift=1.0, seed=2)])
    maps = act.MapSet()
    for site, path in sites.items():
        maps.insert(site, act.fit(method, source[path], target[path]))
    return maps


def test_steer_equals_applying_the_map_by_hand(net):
    sites = {"n0": "blocks.0.norm", "n1": "blocks.1.norm"}
    maps = fitted_maps(net, sites)
    x = inputs(3, seed=5)
    with torch.no_grad():
        with at.steer(net, maps, sites) as used:
            steered = net(x)
        assert used is maps
        by_hand = net.by_hand(x, maps, {"n0": 0, "n1": 1})
        plain = net(x)
    assert torch.equal(steered, by_hand)
    assert not torch.equal(steered, plain)


def test_strength_overrides_leave_the_callers_set_alone(net):
    sites = {"n0": "blocks.0.norm"}
    maps = fitted_maps(net, sites)
    maps.set_strength("n0", 0.8)
    x = inputs(2, seed=6)
    with torch.no_grad():
        with at.steer(net, maps, sites, strength=0.5):
            half = net(x)
        copy = maps.copy()
        copy.reset_strength("n0")
        copy.set_strength(0.5)
        assert torch.equal(half, net.by_hand(x, copy, {"n0": 0}))
        with at.steer(net, maps, sites, strength={"n0": 0.25}):
            quarter = net(x)
        copy.set_strength("n0", 0.25)
        assert torch.equal(quarter, net.by_hand(x, copy, {"n0": 0}))
    assert maps.strength("n0") == 0.8 and maps.strength() == 1.0


def test_hooks_are_removed_on_exit_and_on_exception(net):
    sites = {"n0": "blocks.0.norm"}
    maps = fitted_maps(net, sites)
    module = net.blocks[0].norm
    with torch.no_grad():
        with at.steer(net, maps, sites):
            assert len(module._forward_hooks) == 1
        assert len(module._forward_hooks) == 0
        with pytest.raises(KeyError):
            with at.steer(net, maps, sites):
                raise KeyError("inside")
        assert len(module._forward_hooks) == 0
    # With grad enabled the hooks steer out of place; they still go away on exit.
    with at.steer(net, maps, sites):
        out = net(inputs(1))
    assert out.requires_grad
    assert len(module._forward_hooks) == 0


class Tupled(nn.Module):
    """Returns (output, extra) like attention modules, and [batch x tokens x d] as a non-contiguous view."""

    def __init__(self, d=8):
        super().__init__()
        self.lin = nn.Linear(4, d)

    def forward(self, x):
        y = self.lin(x).transpose(1, 2).contiguous().transpose(1, 2)  # same values, strides (T*d, 1, T)
        return y, "extra"


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Tupled()

    def forward(self, x):
        y, extra = self.inner(x)
        assert extra == "extra"
        return y * 2.0


def test_tuple_outputs_and_non_contiguous_outputs(net):
    torch.manual_seed(3)
    model = Outer()
    source = at.capture(model, "inner", [inputs(12)])["inner"]
    target = at.capture(model, "inner", [inputs(12, shift=1.0, seed=2)])["inner"]
    fit = act.fit("linear", source, target, support="all")
    maps = act.MapSet()
    maps.insert("s", fit)
    x = inputs(2, seed=9)
    with torch.no_grad():
        with at.steer(model, maps, {"s": "inner"}):
            steered = model(x)
        y = model.inner.lin(x).contiguous()
        fit.map.apply(y)
    assert torch.equal(steered, y * 2.0)


def test_fit_causal_equals_a_layer_by_layer_fit_by_hand(net):
    sites = {"n0": "blocks.0.norm", "n1": "blocks.1.norm"}
    source_batches = [inputs(10, seed=11), inputs(7, seed=12)]
    target_batches = [inputs(9, shift=1.0, seed=13)]
    maps = at.fit_causal(net, sites, source_batches, target_batches, method="linear")
    assert maps.sites() == ["n0", "n1"] and maps.info("n1")["source_samples"] == 17

    by_hand = act.MapSet()
    targets = at.capture(net, list(sites.values()), target_batches)
    for site, path in sites.items():
        with at.steer(net, by_hand, sites):
            source = at.capture(net, [path], source_batches)[path]
        by_hand.insert(site, act.fit("linear", source, targets[path]))
    for site in sites:
        for field in ("omega", "beta", "lower", "upper"):
            assert np.array_equal(bits(getattr(maps[site], field)), bits(getattr(by_hand[site], field)))
    # Causal differs from fitting every site on unsteered activations.
    unsteered = fitted_maps(net, sites)
    assert not np.array_equal(unsteered["n1"].omega, maps["n1"].omega)


def test_capture_honours_the_attention_mask(net):
    lengths = [5, 2, 4]
    padded = inputs(3, tokens=5, seed=21)
    mask = torch.tensor([[t < n for t in range(5)] for n in lengths], dtype=torch.int64)
    padded[mask == 0] = 1e4  # padding with values that would dominate any pool
    for pooling in ("mean", "last", "max", "min"):
        separately = np.concatenate([at.capture(net, "blocks.0.norm", [padded[b:b + 1, :n]], pooling=pooling)
                                     ["blocks.0.norm"] for b, n in enumerate(lengths)])
        with_mask = at.capture(net, "blocks.0.norm", [padded], pooling=pooling, attention_mask=mask)["blocks.0.norm"]
        from_dict = at.capture(net, ["blocks.0.norm"], [{"x": padded, "attention_mask": mask}],
                               pooling=pooling)["blocks.0.norm"]
        np.testing.assert_allclose(with_mask, separately, rtol=1e-6, atol=1e-6)
        assert np.array_equal(from_dict, with_mask)
    unmasked = at.capture(net, "blocks.0.norm", [padded])["blocks.0.norm"]
    assert not np.allclose(unmasked, with_mask)


def test_bfloat16_models_are_steered_in_place(net):
    sites = {"n0": "blocks.0.norm"}
    maps = fitted_maps(net, sites)
    model = net.to(torch.bfloat16)
    x = inputs(2, seed=4).to(torch.bfloat16)
    with torch.no_grad():
        with at.steer(model, maps, sites):
            steered = model(x)
        by_hand = model.by_hand(x, maps, {"n0": 0})
    assert steered.dtype == torch.bfloat16 and torch.equal(steered, by_hand)
    pooled = at.capture(model, "blocks.0.norm", [x])["blocks.0.norm"]
    assert pooled.dtype == np.float32 and pooled.shape == (2, 8)


def test_capture_pools_feature_maps_per_channel():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1))
    x = torch.randn(4, 2, 5, 5)
    pooled = at.capture(conv, "0", [x])["0"]
    with torch.no_grad():
        expected = conv(x).double().mean(dim=(2, 3)).float().numpy()
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)
