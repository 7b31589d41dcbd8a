"""Bad input gets the documented exception (act.Error subclasses, also ValueError / OSError), with the
C++ message, and nothing half-written."""

import os
import resource
import signal

import numpy as np
import pytest

import act


def good(rng, n=20, d=4):
    return rng.standard_normal((n, d)).astype(np.float32)


def test_hierarchy():
    assert issubclass(act.Error, Exception)
    for cls in (act.InvalidArgument, act.ShapeError, act.NonFiniteError, act.FormatError):
        assert issubclass(cls, act.Error) and issubclass(cls, ValueError)
    assert issubclass(act.ShapeError, act.InvalidArgument) and issubclass(act.NonFiniteError, act.InvalidArgument)
    assert issubclass(act.FileError, act.Error) and issubclass(act.FileError, OSError)
    assert act.Error.__module__ == "act"


def test_wrong_dtype(rng):
    with pytest.raises(act.InvalidArgument, match="element format 'l'"):
        act.fit("linear", np.ones((5, 3), np.int64), np.ones((5, 3), np.int64))
    with pytest.raises(act.InvalidArgument, match="source: dtype float16 cannot be fitted"):
        act.fit("linear", good(rng).astype(np.float16), good(rng).astype(np.float16))
    with pytest.raises(act.InvalidArgument, match="source is float32 but target is float64"):
        act.fit("linear", good(rng), good(rng).astype(np.float64))
    with pytest.raises(act.InvalidArgument, match="expected an array"):
        act.fit("linear", [[1.0, 2.0]], good(rng))
    m = act.fit("mean", good(rng), good(rng)).map
    with pytest.raises(act.InvalidArgument, match="element format"):
        m.apply(np.ones((2, 4), np.int32))
    with pytest.raises(ValueError, match="big-endian|format '>f'"):
        m.apply(np.ones((2, 4), ">f4"))


def test_wrong_shape(rng):
    with pytest.raises(act.ShapeError, match=r"expected a 2-D array \[samples x neurons\], got .* shape \[20\]"):
        act.fit("linear", good(rng)[:, 0], good(rng))
    with pytest.raises(act.ShapeError, match="neuron counts differ"):
        act.fit("linear", good(rng, d=4), good(rng, d=5))
    with pytest.raises(act.InvalidArgument, match="needs at least 2 samples"):
        act.fit("linear", good(rng, n=1), good(rng))
    m = act.fit("linear", good(rng), good(rng)).map
    with pytest.raises(act.ShapeError, match=r"buffer is \[3 x 5\] but the map has 4 neurons"):
        m.apply(np.ones((3, 5), np.float32))
    with pytest.raises(act.ShapeError, match="mask has 2 entries but the buffer has 3 rows"):
        m.apply(np.ones((3, 4), np.float32), mask=[1, 0])
    with pytest.raises(act.InvalidArgument, match="at most one of mask, lengths"):
        m.apply(np.ones((3, 4), np.float32), mask=[1, 0, 1], lengths=[3])
    with pytest.raises(act.ShapeError, match="expected a 1-D"):
        m.apply(np.ones((1, 1, 1, 1, 4), np.float32))


def test_nan_names_row_and_neuron(rng):
    source = good(rng)
    source[7, 2] = np.nan
    with pytest.raises(act.NonFiniteError, match="source: non-finite value nan at row 7, neuron 2"):
        act.fit("linear", source, good(rng))
    with pytest.raises(act.InvalidArgument, match="strength must be finite"):
        act.fit("linear", good(rng), good(rng)).map.apply(good(rng), float("nan"))


def test_bad_options(rng):
    with pytest.raises(act.InvalidArgument, match=r"unknown method 'lineer' \(one of: linear, mean"):
        act.fit("lineer", good(rng), good(rng))
    with pytest.raises(act.InvalidArgument, match="support: 'q5-95'"):
        act.fit("linear", good(rng), good(rng), support="q5-95")
    with pytest.raises(act.InvalidArgument, match="only the support q0_100 applies"):
        act.fit("quantile", good(rng), good(rng), support="all")
    with pytest.raises(act.InvalidArgument, match="knots must be 0"):
        act.fit("quantile", good(rng), good(rng), knots=1)
    with pytest.raises(act.InvalidArgument, match="threads must be >= 0"):
        act.fit("linear", good(rng), good(rng), threads=-1)
    with pytest.raises(act.InvalidArgument, match="unknown mode 'median'"):
        act.pool(np.ones((2, 3, 4), np.float32), "median")


def test_negative_strides_are_refused_for_apply(rng):
    m = act.fit("mean", good(rng), good(rng)).map
    x = good(rng)
    before = x.copy()
    with pytest.raises(act.InvalidArgument, match="negative or zero strides"):
        m.apply(x[::-1])
    assert np.array_equal(x, before)
    assert np.array_equal(m.transport(x[::-1]), m.transport(x)[::-1])  # a copy is fine


def test_read_only_arrays_are_refused_for_apply(rng):
    m = act.fit("mean", good(rng), good(rng)).map
    x = good(rng)
    x.setflags(write=False)
    before = x.copy()
    with pytest.raises(act.InvalidArgument, match="read-only"):
        m.apply(x)
    assert np.array_equal(x, before)
    assert m.transport(x).shape == x.shape  # a copy is fine


def test_non_contiguous_and_gpu_tensors(rng):
    torch = pytest.importorskip("torch")
    m = act.fit("mean", good(rng, d=8), good(rng, d=8)).map
    t = torch.zeros(4, 8, 3).transpose(1, 2)  # [4 x 3 x 8], rows not at one stride
    with pytest.raises(act.InvalidArgument, match="make it contiguous first"):
        m.apply(t)
    with pytest.raises(act.InvalidArgument, match="must be C-contiguous"):
        m.apply(torch.zeros(2, 3, 3, 8).permute(0, 3, 1, 2))

    class OnGpu:
        """Looks like a CUDA tensor to the DLPack protocol."""

        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, stream=None):
            raise AssertionError("a GPU tensor must be refused before it is exported")

    with pytest.raises(ValueError, match="not in CPU memory"):
        m.apply(OnGpu())
    with pytest.raises(act.InvalidArgument, match="not in CPU memory"):
        act.fit("mean", OnGpu(), OnGpu())
    with pytest.raises(act.InvalidArgument, match="requires_grad|require gradient"):
        m.apply(torch.zeros(2, 8, requires_grad=True))
    with pytest.raises(act.InvalidArgument, match="element type int32"):
        m.apply(torch.zeros(2, 8, dtype=torch.int32))


def test_export_gguf_wants_a_map_set_or_a_path(tmp_path):
    with pytest.raises(act.InvalidArgument, match="act.MapSet or the path of a map file"):
        act.export_gguf(42, tmp_path / "cv.gguf")
    assert list(tmp_path.iterdir()) == []


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(act.FileError, match="no_such.safetensors: cannot open") as e:
        act.MapSet.load(tmp_path / "no_such.safetensors")
    assert isinstance(e.value, OSError)
    with pytest.raises(OSError):
        act.import_gguf(tmp_path / "no_such.gguf")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(act.FormatError) as e:
        act.MapSet.load(bad)
    assert isinstance(e.value, ValueError) and "bad.safetensors" in str(e.value)


def test_nothing_half_written(rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.1", act.fit("linear", good(rng), good(rng)))
    with pytest.raises(act.FileError):
        maps.save(tmp_path / "missing_folder" / "maps.safetensors")
    assert list(tmp_path.iterdir()) == []
    # A failing save leaves an existing file untouched.
    target = tmp_path / "maps.safetensors"
    target.write_bytes(b"previous content")
    with pytest.raises(act.InvalidArgument, match="the map set is empty"):
        act.MapSet().save(target)
    assert target.read_bytes() == b"previous content"


def test_unwritable_folder_leaves_the_old_file(rng, tmp_path):
    maps = act.MapSet()
    maps.insert("blk.1", act.fit("linear", good(rng), good(rng)))
    target = tmp_path / "maps.safetensors"
    target.write_bytes(b"previous content")
    os.chmod(tmp_path, 0o500)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.getsignal(signal.SIGXFSZ)
    try:
        if os.access(tmp_path, os.W_OK):
            # Root ignores permissions: make the write fail with a file-size limit below the map's size
            # instead (SIGXFSZ ignored meanwhile, as act-cli does, in case anything else writes past it).
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, limit[1]))
        with pytest.raises(act.FileError):
            maps.save(target)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, previous_handler)
        os.chmod(tmp_path, 0o700)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.safetensors"]  # no temporary left
