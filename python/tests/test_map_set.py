"""act.MapSet (map files, strengths, the hook point), GGUF control vectors, causal fitting, pooling."""

import numpy as np
import pytest

import act
from conftest import bits


def fit_on(rng, method="linear", d=8, support=None):
    source = rng.standard_normal((120, d)).astype(np.float32)
    target = (rng.standard_normal((100, d)) * 0.7 + 1.2).astype(np.float32)
    return act.fit(method, source, target, support=support)


def test_save_load_round_trip(rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.1.attn_out", fit_on(rng))
    maps.insert("blk.2.mlp_out", fit_on(rng, "quantile"), pooling="last")
    maps.insert("blk.3.custom", act.AffineMap(np.ones(8, np.float32), np.full(8, 0.5, np.float32)), method="by hand")
    path = tmp_path / "maps.safetensors"
    maps.save(path)
    again = act.MapSet.load(str(path))
    assert again.sites() == ["blk.1.attn_out", "blk.2.mlp_out", "blk.3.custom"] == list(again)
    assert len(again) == 3 and "blk.2.mlp_out" in again and "blk.9" not in again
    again.save(tmp_path / "again.safetensors")
    assert (tmp_path / "again.safetensors").read_bytes() == path.read_bytes()
    info = again.info("blk.2.mlp_out")
    assert (info["kind"], info["method"], info["pooling"], info["support"], info["knots"]) == (
        "quantile", "quantile", "last", "knots", again["blk.2.mlp_out"].knots)
    assert again.info("blk.3.custom")["method"] == "by hand"
    assert isinstance(again["blk.1.attn_out"], act.AffineMap) and isinstance(again["blk.2.mlp_out"], act.QuantileMap)
    with pytest.raises(KeyError):
        again["nope"]


def test_strengths_and_the_hook_point(rng):
    fit = fit_on(rng)
    maps = act.MapSet()
    maps.insert("a", fit)
    maps.insert("b", fit)
    maps.set_strength(0.5)
    maps.set_strength("b", 0.25)
    assert (maps.strength(), maps.strength("a"), maps.strength("b")) == (0.5, 0.5, 0.25)
    x = rng.standard_normal((10, 8)).astype(np.float32)
    for site, lam in (("a", 0.5), ("b", 0.25)):
        y = x.copy()
        assert maps.apply(site, y) is True
        assert np.array_equal(bits(y), bits(fit.map.transport(x, lam)))
    maps.reset_strength("b")
    assert maps.strength("b") == 0.5
    y = x.copy()
    assert maps.apply("unknown", y) is False
    assert np.array_equal(bits(y), bits(x))
    # Per-row strengths ignore the set's strengths.
    y = x.copy()
    maps.apply("a", y, strength=np.ones(10, np.float32))
    np.testing.assert_allclose(y, fit.map.transport(x, 1.0), rtol=1e-6, atol=1e-6)
    with pytest.raises(act.InvalidArgument, match="set_strength"):
        maps.apply("a", y, strength=0.3)
    copy = maps.copy()
    copy.set_strength(2.0)
    copy.remove("a")
    assert maps.strength() == 0.5 and "a" in maps and "a" not in copy


def test_export_gguf_equals_act_cli(act_cli, rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.3", fit_on(rng, "caa"))
    maps.insert("l_out-7", fit_on(rng, "mean", support="all"))
    maps.save(tmp_path / "add.safetensors")
    act_cli("export-gguf", "--map", tmp_path / "add.safetensors", "--out", tmp_path / "cli.gguf", "--strength", 0.8,
            "--model-hint", "llama")
    act.export_gguf(maps, tmp_path / "py.gguf", model_hint="llama", strength=0.8)
    assert (tmp_path / "py.gguf").read_bytes() == (tmp_path / "cli.gguf").read_bytes()
    act.export_gguf(str(tmp_path / "add.safetensors"), tmp_path / "from_file.gguf", model_hint="llama", strength=0.8)
    assert (tmp_path / "from_file.gguf").read_bytes() == (tmp_path / "cli.gguf").read_bytes()

    act_cli("import-gguf", "--gguf", tmp_path / "cli.gguf", "--out", tmp_path / "cli_back.safetensors")
    back = act.import_gguf(tmp_path / "cli.gguf")
    assert back.sites() == ["l_out-3", "l_out-7"]  # where llama.cpp adds direction.N
    assert back.metadata == {"controlvector.model_hint": "llama"}
    back.save(tmp_path / "py_back.safetensors")
    assert (tmp_path / "py_back.safetensors").read_bytes() == (tmp_path / "cli_back.safetensors").read_bytes()
    np.testing.assert_allclose(back["l_out-7"].beta, 0.8 * maps["l_out-7"].beta, rtol=1e-6)


def test_export_gguf_options_equal_act_cli(act_cli, rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.2.post_attn_norm", fit_on(rng, "caa"))  # not a block output: needs an explicit layer
    maps.metadata = {"controlvector.model_hint": "gemma2", "note": "caa on 40 + 40 rows"}
    maps.save(tmp_path / "one.safetensors")
    with pytest.raises(act.InvalidArgument, match="'blk.2.post_attn_norm' is not a block output"):
        act.export_gguf(maps, tmp_path / "refused.gguf")
    act_cli("export-gguf", "--map", tmp_path / "one.safetensors", "--out", tmp_path / "cli.gguf", "--normalize",
            "--layer", 3)
    act.export_gguf(maps, tmp_path / "py.gguf", normalize=True, layer=3)
    assert (tmp_path / "py.gguf").read_bytes() == (tmp_path / "cli.gguf").read_bytes()
    back = act.import_gguf(tmp_path / "py.gguf")
    assert back.sites() == ["l_out-3"]
    assert back.metadata == {"controlvector.model_hint": "gemma2"}  # the set's hint when none is given
    assert np.linalg.norm(back["l_out-3"].beta) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(act.InvalidArgument, match="is the map file itself"):
        act.export_gguf(str(tmp_path / "one.safetensors"), tmp_path / "one.safetensors")
    assert not (tmp_path / "refused.gguf").exists()


def test_metadata_keys_of_act_and_control_characters_are_refused():
    maps = act.MapSet()
    with pytest.raises(act.InvalidArgument, match="keys starting with 'act.' are act's own"):
        maps.metadata = {"act.method.x": "linear"}
    with pytest.raises(act.InvalidArgument, match="control character"):
        maps.metadata = {"note": "a\x1b[2Jb"}
    assert maps.metadata == {}


def test_export_gguf_refuses_non_additive_maps_and_writes_nothing(rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.2", fit_on(rng, "linear"))
    with pytest.raises(act.InvalidArgument, match="site 'blk.2' is not additive"):
        act.export_gguf(maps, tmp_path / "cv.gguf")
    assert list(tmp_path.iterdir()) == []


def numpy_model(rng):
    """Two sites of a fixed numpy "network": h1 = x W1 (site s1), h2 = tanh(h1) W2 (site s2)."""
    w1 = rng.standard_normal((6, 6)).astype(np.float32)
    w2 = rng.standard_normal((6, 6)).astype(np.float32)

    def forward(x, maps=None):
        h1 = x @ w1
        if maps is not None:
            maps.apply("s1", h1)
        h2 = np.tanh(h1) @ w2
        if maps is not None:
            maps.apply("s2", h2)
        return {"s1": h1, "s2": h2}

    return forward


def test_fit_causal_equals_a_layer_by_layer_fit_by_hand(rng):
    forward = numpy_model(rng)
    source_x = rng.standard_normal((80, 6)).astype(np.float32)
    target_x = (rng.standard_normal((70, 6)) + 0.5).astype(np.float32)
    seen = []

    def collect(site, installed, pooling):
        seen.append((site, installed.sites(), pooling))
        return forward(source_x, installed)[site], forward(target_x)[site]

    maps = act.fit_causal(["s1", "s2"], "linear", collect, pooling="mean")
    assert seen == [("s1", [], "mean"), ("s2", ["s1"], "mean")]

    by_hand = act.MapSet()
    for site in ("s1", "s2"):
        by_hand.insert(site, act.fit("linear", forward(source_x, by_hand)[site], forward(target_x)[site]))
    for site in ("s1", "s2"):
        for field in ("omega", "beta", "lower", "upper"):
            assert np.array_equal(bits(getattr(maps[site], field)), bits(getattr(by_hand[site], field)))
    assert maps.info("s2")["method"] == "linear" and maps.info("s2")["source_samples"] == 80
    assert maps == by_hand  # provenance too: support label, low-spread count
    # act.fit's options pass through and are recorded as act.fit records them.
    options = dict(support="q5_95", support_bounds="closed", min_std=0.9)
    maps = act.fit_causal(["s1", "s2"], "linear", collect, **options)
    by_hand = act.MapSet()
    for site in ("s1", "s2"):
        by_hand.insert(site, act.fit("linear", forward(source_x, by_hand)[site], forward(target_x)[site], **options))
    assert maps == by_hand and maps.info("s1")["support"] == "q5_95" and maps["s1"].bounds == "closed"

    simultaneous = act.fit_simultaneous(["s1", "s2"], "mean", collect)
    assert seen[-1] == ("s2", [], "mean") and len(simultaneous) == 2


def test_fit_causal_passes_collect_errors_through(rng):
    def collect(site, installed, pooling):
        raise KeyError("no activations for " + site)

    with pytest.raises(KeyError, match="no activations for s1"):
        act.fit_causal(["s1"], "linear", collect)
    with pytest.raises(act.InvalidArgument, match="must return"):
        act.fit_causal(["s1"], "linear", lambda site, installed, pooling: 3)


@pytest.mark.parametrize("pooling", ["mean", "last", "max", "min"])
def test_pool_over_valid_tokens_only(pooling, rng):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    lengths = [5, 2, 3]
    mask = np.array([[t < n for t in range(5)] for n in lengths])
    x[~mask] = 1e6  # padding must never count
    expected = []
    for b, n in enumerate(lengths):
        valid = x[b, :n].astype(np.float64)
        expected.append({"mean": valid.mean(0), "last": valid[-1], "max": valid.max(0), "min": valid.min(0)}[pooling])
    expected = np.array(expected, np.float32)
    for pooled in (act.pool(x, pooling, mask=mask), act.pool(x, pooling, lengths=lengths),
                   act.pool(np.concatenate([x[b, :n] for b, n in enumerate(lengths)]), pooling, lengths=lengths)):
        assert pooled.dtype == np.float32 and pooled.shape == (3, 4)
        np.testing.assert_allclose(pooled, expected, rtol=1e-6)
    assert act.pool(x.astype(np.float64), pooling, mask=mask).dtype == np.float64


def test_map_sets_fits_and_maps_pickle_and_compare(rng, tmp_path):
    import pickle

    source = rng.standard_normal((200, 6)).astype(np.float32)
    target = (rng.standard_normal((200, 6)) + 1).astype(np.float32)
    source[:, 0] = 2.0  # one low-spread neuron, recorded in the provenance
    fit = act.fit("linear", source, target, support_bounds="closed")
    quantile = act.fit("quantile", source, target, knots=8)
    maps = act.MapSet()
    maps.insert("a", fit, pooling="last")
    maps.insert("b", quantile)
    maps.set_strength("b", 0.25)
    maps.set_strength(0.5)
    maps.metadata = {"note": "pickled"}

    again = pickle.loads(pickle.dumps(maps))
    assert again == maps and again is not maps
    assert again.strength("b") == 0.25 and again.strength("a") == 0.5 and again.metadata == {"note": "pickled"}
    maps.save(tmp_path / "one.safetensors")
    again.save(tmp_path / "two.safetensors")
    assert (tmp_path / "one.safetensors").read_bytes() == (tmp_path / "two.safetensors").read_bytes()
    # Each difference is seen: a strength, an override dropped, provenance, a map's bits, metadata.
    for change in (lambda m: m.set_strength(0.6), lambda m: m.reset_strength("b"),
                   lambda m: m.insert("a", fit, pooling="mean"), lambda m: m.insert("b", fit),
                   lambda m: setattr(m, "metadata", {}), lambda m: m.remove("a")):
        changed = pickle.loads(pickle.dumps(maps))
        change(changed)
        assert changed != maps

    for f in (fit, quantile):
        copy = pickle.loads(pickle.dumps(f))
        assert copy == f and copy.map == f.map and copy.support == f.support
        assert all(np.array_equal(copy.diagnostics[k], v) for k, v in f.diagnostics.items())
    assert fit != act.fit("linear", source, target)  # open bounds: another map and support
    assert fit.map != quantile.map
