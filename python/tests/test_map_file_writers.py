"""Map files written from Python take the same lock as every other act writer: MapSet.update_file adds sites
without losing anyone's, MapSet.save waits for the lock, paths that are not regular files are refused, and
act-cli fits, Python writers and act-llama fits into one file at once keep every site."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import act


def shift(value, d=4):
    return act.AffineMap(np.ones(d, np.float32), np.full(d, value, np.float32))


def one_site(site, value=1.0):
    maps = act.MapSet()
    maps.insert(site, shift(value), method="mean")
    return maps


def test_update_file_adds_replaces_and_keeps(tmp_path):
    path = tmp_path / "m.safetensors"
    written = one_site("a").update_file(path)  # a missing file is created
    assert written.sites() == ["a"]
    both = act.MapSet()
    both.insert("a", shift(2.0), method="mean")
    both.insert("b", shift(3.0), method="mean")
    both.metadata = {"note": "kept"}
    written = both.update_file(path, sites=["b"])  # only b
    assert written.sites() == ["a", "b"]
    again = act.MapSet.load(path)
    assert float(again["a"].beta[0]) == 1.0 and float(again["b"].beta[0]) == 3.0
    assert again.metadata["note"] == "kept"
    both.update_file(str(path))  # all sites: a replaced
    assert float(act.MapSet.load(path)["a"].beta[0]) == 2.0
    with pytest.raises(act.InvalidArgument, match="missing"):
        both.update_file(path, sites=["missing"])
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]  # no lock or temporary left


def test_writers_refuse_paths_that_are_not_regular_files(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for write in (lambda: one_site("a").save(fifo), lambda: one_site("a").update_file(fifo)):
        with pytest.raises(act.FileError, match="FIFO"):
            write()
    with pytest.raises(act.FileError, match="FIFO"):
        act.MapSet.load(fifo)  # refused at once, never blocks
    assert fifo.is_fifo()


def test_save_follows_a_symbolic_link(tmp_path):
    real = tmp_path / "real.safetensors"
    one_site("a").save(real)
    link = tmp_path / "link.safetensors"
    link.symlink_to("real.safetensors")
    one_site("b").update_file(link)
    one_site("c").update_file(link)
    assert link.is_symlink()
    assert act.MapSet.load(real).sites() == ["a", "b", "c"]


WRITER = """
import sys
import numpy as np
import act
path, site = sys.argv[1], sys.argv[2]
maps = act.MapSet()
maps.insert(site, act.AffineMap(np.ones(4, np.float32), np.full(4, 0.5, np.float32)), method="mean")
maps.update_file(path)
"""


def act_llama_writers(tmp_path):
    """With act-llama built: a command per writer that fits one more tensor of the tiny random model into a map
    file (its site is the tensor's name), so that every write adds a new site; else no writers."""
    llama, make_model = os.environ.get("ACT_LLAMA"), os.environ.get("ACT_LLAMA_RANDOM_MODEL")
    if not llama or not make_model or not os.path.exists(llama) or not os.path.exists(make_model):
        return None
    model = tmp_path / "tiny.gguf"
    subprocess.run([make_model, str(model)], check=True, capture_output=True)
    (tmp_path / "a.txt").write_text("I am sad\nthis is bad\na terrible day\n")
    (tmp_path / "b.txt").write_text("I am happy\nthis is good\na great day\n")
    tensors = [f"{kind}-{layer}" for kind in ("l_out", "ffn_out", "attn_norm", "ffn_inp", "attn_out", "kqv_out")
               for layer in range(4)]

    def command(path):
        return [llama, "fit", "--model", str(model), "--source-prompts", str(tmp_path / "a.txt"), "--target-prompts",
                str(tmp_path / "b.txt"), "--tensors", tensors.pop(), "--method", "mean", "--threads", "1", "--out",
                str(path)]

    return command


def test_act_cli_python_and_act_llama_writers_into_one_map_lose_no_site(tmp_path, act_cli):
    """4 act-cli fits, 4 Python processes and, where act-llama is built, 2 act-llama fits add sites to one file at
    once, 10 rounds."""
    cli = os.environ["ACT_CLI"]
    rng = np.random.default_rng(3)
    np.save(tmp_path / "s.npy", rng.standard_normal((40, 4)).astype(np.float32))
    np.save(tmp_path / "t.npy", (rng.standard_normal((30, 4)) + 1).astype(np.float32))
    llama = act_llama_writers(tmp_path)
    path = tmp_path / "m.safetensors"
    one_site("start").save(path)
    expected = {"start"}
    env = dict(os.environ)
    for round_ in range(10):
        processes = []
        for w in range(4):
            site = f"cli.{round_}.{w}"
            expected.add(site)
            processes.append(subprocess.Popen(
                [cli, "fit", "--method", "mean", "--source", str(tmp_path / "s.npy"), "--target", str(tmp_path / "t.npy"),
                 "--out", str(path), "--site", site, "--quiet"], stderr=subprocess.PIPE, text=True))
            site = f"py.{round_}.{w}"
            expected.add(site)
            processes.append(subprocess.Popen([sys.executable, "-c", WRITER, str(path), site], env=env, stderr=subprocess.PIPE,
                                              text=True))
            if llama is not None and w < 2:
                command = llama(path)
                expected.add(command[command.index("--tensors") + 1])
                processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        for p in processes:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    assert set(act.MapSet.load(path).sites()) == expected
    inputs = ["s.npy", "t.npy"] + (["a.txt", "b.txt", "tiny.gguf"] if llama is not None else [])
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors"] + inputs)
