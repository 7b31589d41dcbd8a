"""examples/python/toy_lm_torch.py: the toy LM in PyTorch matches the C++ logits and act detoxifies it."""

import importlib.util

import pytest

pytest.importorskip("torch")


def test_toy_lm_in_torch_matches_cpp_and_toxicity_falls(source_dir, toy_lm_program, capsys):
    spec = importlib.util.spec_from_file_location("toy_lm_torch", source_dir / "examples/python/toy_lm_torch.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # Smaller than the example's defaults (300 sentences, 500 continuations) to keep the test short.
    result = example.main(["--toy-lm", toy_lm_program, "--sentences", "128", "--continuations", "100"])
    printed = capsys.readouterr().out
    assert "max |difference|" in printed and "toxicity" in printed
    assert result["logit_difference"] < 1e-4
    unsteered, steered = result["toxicity"]["unsteered"], result["toxicity"]["Linear-AcT, lambda = 1"]
    assert unsteered > 0.3 and steered < unsteered - 0.15, result["toxicity"]
    assert result["maps"].sites() == sorted(f"blk.{n}.{k}" for n in range(4) for k in ("post_attn_norm", "post_mlp_norm"))
