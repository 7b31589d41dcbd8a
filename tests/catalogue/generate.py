#!/usr/bin/env python3
"""Writes the malformed-file catalogue (tests/catalogue/) and the fuzzers' seed corpora
(tests/fuzz/corpus/<target>/; inputs a fuzzer found are committed there by hand as found_*). Run by hand after changing a case; the outputs are committed, so CI
needs no Python. Standard library only: every file is built byte by byte so each case breaks exactly
one thing in an otherwise valid file.

Usage: python3 tests/catalogue/generate.py            (writes every file)
       python3 tests/catalogue/generate.py --check    (exit 1 unless the committed files are what it writes)
"""

import json
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "fuzz", "corpus")

# ----------------------------------------------------------------------------------------------- npy


def npy(header_text, data=b"", version=(1, 0), magic=b"\x93NUMPY", pad=True):
    """A .npy file: magic, version, header length, header (padded to 64 bytes like NumPy), data."""
    text = header_text
    length_bytes = 2 if version[0] == 1 else 4
    if pad:
        while (len(magic) + 2 + length_bytes + len(text) + 1) % 64 != 0:
            text += " "
        text += "\n"
    raw = text.encode("latin-1")
    length = struct.pack("<H", len(raw)) if length_bytes == 2 else struct.pack("<I", len(raw))
    return magic + bytes(version) + length + raw + data


def npy_dict(descr="<f4", fortran=False, shape="(2, 3)"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape)


def f32(values):
    return b"".join(struct.pack("<f", v) for v in values)


def f64(values):
    return b"".join(struct.pack("<d", v) for v in values)


def f16(values):
    return b"".join(struct.pack("<e", v) for v in values)


SIX = [0.5, -1.0, 2.25, 3.0, -4.5, 0.125]

# ------------------------------------------------------------------------------------- safetensors


def safetensors(header, data=b"", header_len=None, raw_header=None):
    """A safetensors file: u64 header length, JSON header (padded to 8 bytes), data."""
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode("utf-8")
    while len(text) % 8 != 0:
        text += b" "
    n = len(text) if header_len is None else header_len
    return struct.pack("<Q", n) + text + data


def st_tensors(tensors, metadata=None):
    """Builds a header and data section from [(name, dtype, shape, bytes)] laid out contiguously."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def map_file(sites, extra_meta=None, version="1"):
    """An act map file; `sites` maps a site name to {field: list of floats} (omega, beta, lower, upper)."""
    meta = {"act.library_version": "0.1.0"}
    if version is not None:
        meta["act.format_version"] = version
    tensors = []
    for site, fields in sites.items():
        for field, values in fields.items():
            tensors.append((f"{site}.{field}", "F32", [len(values)], f32(values)))
        meta[f"act.method.{site}"] = "linear"
        meta[f"act.samples.{site}"] = "120,90"
        meta[f"act.pooling.{site}"] = "mean"
        meta[f"act.support.{site}"] = "q0_100" if "lower" in fields else "all"
    meta.update(extra_meta or {})
    return safetensors(*st_tensors(tensors, meta))


def quantile_map_file(knots_source, knots_target):
    """An act map file with one quantile site 'blk.0'; knots given per neuron (lists of K ascending floats)."""
    d, k = len(knots_source), len(knots_source[0])
    row_major = lambda knots: f32([knots[c][i] for i in range(k) for c in range(d)])  # [K, d]
    tensors = [("blk.0.omega", "F32", [d], f32([1.0] * d)), ("blk.0.beta", "F32", [d], f32([0.0] * d)),
               ("blk.0.knots_source", "F32", [k, d], row_major(knots_source)),
               ("blk.0.knots_target", "F32", [k, d], row_major(knots_target))]
    meta = {"act.format_version": "1", "act.library_version": "0.3.0", "act.method.blk.0": "quantile",
            "act.pooling.blk.0": "mean", "act.samples.blk.0": "64,64", "act.support.blk.0": "knots"}
    return safetensors(*st_tensors(tensors, meta))


def mixed_knots(d=12):
    """Source knots that stress the quantile kernels' search: spread, repeated, all equal, very wide."""
    base = [-1.5, -1.0, -0.6, -0.2, 0.2, 0.6, 1.0, 1.5]
    source = []
    for c in range(d):
        x = [v * (1 + c / 10) for v in base]
        if c % 4 == 1:
            x[1] = x[2] = x[3]
        elif c % 4 == 2:
            x = [0.25] * len(base)
        elif c % 4 == 3:
            x[0] = -3e30
        source.append(x)
    return source, [[1.5 * v + 0.5 for v in x] for x in source]


GOOD_SITE = {"omega": [0.5, 1.0, 2.0], "beta": [0.1, -0.2, 0.3], "lower": [-1.0, -2.0, -3.0], "upper": [1.0, 2.0, 3.0]}

# -------------------------------------------------------------------------------------------- GGUF


class gguf:
    """Builds a GGUF file field by field."""

    def __init__(self, tensors, kvs, version=3, magic=b"GGUF"):
        self.b = magic + struct.pack("<IQQ", version, tensors, kvs)

    def s(self, text):
        raw = text.encode("utf-8") if isinstance(text, str) else text
        self.b += struct.pack("<Q", len(raw)) + raw
        return self

    def kv_str(self, key, value):
        self.s(key)
        self.b += struct.pack("<I", 8)
        return self.s(value)

    def kv_u32(self, key, value, type_=4):
        self.s(key)
        self.b += struct.pack("<II", type_, value)
        return self

    def cv_meta(self):
        self.kv_str("general.architecture", "controlvector")
        self.kv_str("controlvector.model_hint", "llama")
        return self.kv_u32("controlvector.layer_count", 2, 5)

    def tensor(self, name, dims, offset, type_=0):
        self.s(name)
        self.b += struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        self.b += struct.pack("<IQ", type_, offset)
        return self

    def raw(self, data):
        self.b += data
        return self

    def pad(self, alignment=32):
        while len(self.b) % alignment != 0:
            self.b += b"\0"
        return self

    def data(self, values):
        self.b += f32(values)
        return self.pad()


def good_cv(n=4):
    g = gguf(2, 3).cv_meta().tensor("direction.1", [n], 0).tensor("direction.2", [n], 32).pad()
    return g.data([0.25 * i for i in range(n)]).data([-0.5 * i for i in range(n)]).b


def cv_one(name, dims=(4,), type_=0, offset=0, n_values=4):
    """A control vector with one tensor; everything valid unless the arguments say otherwise."""
    return gguf(1, 3).cv_meta().tensor(name, list(dims), offset, type_).pad().data([1.0] * n_values).b


# ------------------------------------------------------------------------------------------ catalogue
# (file name, bytes, what is wrong, key phrase of the error act-cli prints)

NPY = [
    ("npy_bad_magic.npy", b"\x93NUMPZ\x01\x00" + b"\0" * 56, "magic is \\x93NUMPZ, not \\x93NUMPY", "bad magic"),
    ("npy_truncated_header.npy", b"\x93NUMPY\x01\x00\x46", "file ends inside the 2-byte header length",
     "truncated header"),
    ("npy_header_longer_than_file.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 1000) + b"{'descr': '<f4'",
     "header length 1000, file holds 15 header bytes", "is longer than the file"),
    ("npy_unsupported_version.npy", npy(npy_dict(), f32(SIX), version=(4, 0)), "version 4.0",
     "unsupported .npy version"),
    ("npy_bad_header_dict.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", f32(SIX)),
     "header dict is not closed", "cannot parse header dict"),
    ("npy_missing_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, }", f32(SIX)), "no 'shape' key",
     "missing key 'shape'"),
    ("npy_shape_larger_than_data.npy", npy(npy_dict(shape="(4, 3)"), f32(SIX)), "shape (4, 3) but 6 floats",
     "data is shorter than shape x itemsize"),
    ("npy_data_longer_than_shape.npy", npy(npy_dict(shape="(1, 3)"), f32(SIX)), "shape (1, 3) but 6 floats",
     "data is longer than shape x itemsize"),
    ("npy_unsupported_dtype.npy", npy(npy_dict(descr="<i4"), f32(SIX)), "int32 data ('<i4')",
     "header field 'descr' is '<i4': unsupported"),
    ("npy_structured_dtype.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", f32(SIX)),
     "structured dtype (a list of fields)", "structured dtypes are unsupported"),
    ("npy_big_endian.npy", npy(npy_dict(descr=">f4"), f32(SIX)), "big-endian '>f4'", "big-endian data is not supported"),
    ("npy_3d.npy", npy(npy_dict(shape="(1, 2, 3)"), f32(SIX)),
     "3-D array of one sequence: pooled, it gives 1 sample where fitting needs 2", "samples"),
    ("npy_1d_samples.npy", npy(npy_dict(shape="(6,)"), f32(SIX)), "1-D array where 2-D samples are needed",
     "expected a 2-D array"),
    ("npy_negative_shape.npy", npy(npy_dict(shape="(-2, 3)"), f32(SIX)), "dimension -2", "negative dimension"),
    ("npy_shape_overflows_u64.npy", npy(npy_dict(shape="(18446744073709551616, 1)"), f32(SIX)),
     "dimension 2^64 does not fit in 64 bits", "overflows 64 bits"),
    ("npy_shape_product_overflows.npy", npy(npy_dict(shape="(4294967296, 4294967296)"), f32(SIX)),
     "2^32 x 2^32 elements: the byte count overflows", "the element count does not fit in memory"),
    ("npy_huge_shape_tiny_file.npy", npy(npy_dict(shape="(1000000000, 1000000)"), f32(SIX)),
     "claims 10^15 floats, holds 6", "data is shorter than shape x itemsize"),
    ("npy_nan_sample.npy", npy(npy_dict(), f32([0.5, float("nan"), 1.0, 2.0, 3.0, 4.0])),
     "valid file, NaN in sample 0, neuron 1 (fitting refuses NaN)", "non-finite value nan at row 0, neuron 1"),
    ("npy_inf_sample.npy", npy(npy_dict(), f32([0.5, 1.0, 1.0, 2.0, float("inf"), 4.0])),
     "valid file, +Inf in sample 1, neuron 1 (fitting refuses Inf)", "inf"),
    ("npy_no_samples.npy", npy(npy_dict(shape="(0, 3)")), "valid file with 0 samples (fitting needs some)",
     "samples"),
    ("npy_no_neurons_2e62_rows.npy", npy(npy_dict(shape="(4611686018427387904, 0)")),
     "valid file with 2^62 samples of 0 neurons: no data, and no reader or writer may walk its rows",
     "has no neurons"),
]

ST = [
    ("st_empty.safetensors", b"", "0 bytes", "too short for the 8-byte safetensors header length"),
    ("st_header_beyond_file.safetensors", struct.pack("<Q", 4096) + b'{"a":1}', "header length 4096, file holds 7",
     "exceeds the file"),
    ("st_header_near_2_64.safetensors", struct.pack("<Q", 2**64 - 8) + b"{}      ", "header length 2^64 - 8",
     "exceeds the file"),
    ("st_invalid_json.safetensors", safetensors(None, raw_header='{"x": {"dtype": "F32",}'), "truncated JSON object",
     "invalid JSON header"),
    ("st_header_not_object.safetensors", safetensors([1, 2]), "header is a JSON array", "not a JSON object"),
    ("st_duplicate_key.safetensors",
     safetensors(None, raw_header='{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
                 '"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'),
     "tensor 'a' listed twice", "duplicate key 'a'"),
    ("st_deep_nesting.safetensors", safetensors(None, raw_header="[" * 1000 + "]" * 1000),
     "1000 nested arrays", "nesting deeper than 64 levels"),
    ("st_missing_dtype.safetensors", safetensors({"t": {"shape": [1], "data_offsets": [0, 4]}}, f32([1])),
     "no 'dtype' key", "missing key 'dtype'"),
    ("st_missing_shape.safetensors", safetensors({"t": {"dtype": "F32", "data_offsets": [0, 4]}}, f32([1])),
     "no 'shape' key", "missing key 'shape'"),
    ("st_missing_offsets.safetensors", safetensors({"t": {"dtype": "F32", "shape": [1]}}, f32([1])),
     "no 'data_offsets' key", "missing key 'data_offsets'"),
    ("st_unexpected_key.safetensors",
     safetensors({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}}, f32([1])),
     "extra key 'x' in a tensor entry", "unexpected key 'x'"),
    ("st_unknown_dtype.safetensors", safetensors({"t": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}}, b"1234"),
     "dtype I8", "unsupported dtype 'I8'"),
    ("st_negative_shape.safetensors", safetensors({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, f32([1])),
     "shape [-1]", "shape must hold non-negative integers"),
    ("st_offsets_outside_data.safetensors",
     safetensors({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32([1, 2])),
     "offsets [0, 16] on 8 data bytes", "lie outside the data"),
    ("st_offsets_reversed.safetensors", safetensors({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, f32([1])),
     "offsets [4, 0]", "is after end"),
    ("st_offsets_overlap.safetensors",
     safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32([1, 2, 3])),
     "a = [0, 8], b = [4, 12]", "overlap the previous tensor"),
    ("st_offsets_gap.safetensors",
     safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, f32([1, 2, 3])),
     "bytes 4..8 belong to no tensor", "leave a gap"),
    ("st_trailing_data.safetensors", safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32([1, 2])),
     "4 bytes after the last tensor", "offsets not contiguous"),
    ("st_shape_dtype_mismatch.safetensors",
     safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32([1, 2])),
     "shape [3] of F32 needs 12 bytes, offsets give 8", "shape x dtype needs 12"),
    ("st_shape_product_overflows.safetensors",
     safetensors({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}, f32([1])),
     "shape 2^32 x 2^32", "shape product overflows 64 bits"),
    ("st_shape_bytes_overflow.safetensors",
     safetensors({"a": {"dtype": "F64", "shape": [2**61], "data_offsets": [0, 0]}}),
     "2^61 elements of 8 bytes", "shape product overflows 64 bits"),
    ("st_metadata_not_strings.safetensors", safetensors({"__metadata__": {"a": 1}}), "__metadata__ value is a number",
     "__metadata__ value for 'a'"),
    ("st_name_with_newline.safetensors",
     safetensors({"a\nb": {"dtype": "I8", "shape": [0], "data_offsets": [0, 0]}}),
     "tensor name holds a newline, dtype I8 (the message stays on one line)", "unsupported dtype 'I8'"),
]

MAP = [
    ("map_no_format_version.safetensors", map_file({"s": GOOD_SITE}, version=None), "no act.format_version",
     "'act.format_version' is missing"),
    ("map_wrong_format_version.safetensors", map_file({"s": GOOD_SITE}, version="2"), "act.format_version = 2",
     "this library reads '1'"),
    ("map_no_maps.safetensors", map_file({}), "metadata only, no tensors", "holds no maps"),
    ("map_unknown_field.safetensors", map_file({"s": dict(GOOD_SITE, gamma=[1.0, 1.0, 1.0])}), "tensor s.gamma",
     "is not '<site>.omega|beta|lower|upper"),
    ("map_missing_beta.safetensors", map_file({"s": {"omega": [1.0, 1.0]}}), "s.omega without s.beta",
     "has no tensor 's.beta'"),
    ("map_lower_without_upper.safetensors", map_file({"s": {"omega": [1.0], "beta": [0.0], "lower": [0.0]}}),
     "s.lower without s.upper", "without 's.upper'"),
    ("map_empty_omega.safetensors", map_file({"s": {"omega": [], "beta": []}}), "omega of length 0",
     "must be 1-D and non-empty"),
    ("map_nan_omega.safetensors", map_file({"s": dict(GOOD_SITE, omega=[0.5, float("nan"), 2.0])}), "NaN in s.omega",
     "holds a non-finite value nan at index 1"),
    ("map_inf_beta.safetensors", map_file({"s": dict(GOOD_SITE, beta=[0.1, -0.2, float("-inf")])}), "-Inf in s.beta",
     "holds a non-finite value -inf at index 2"),
    ("map_nan_upper.safetensors", map_file({"s": dict(GOOD_SITE, upper=[float("nan"), 2.0, 3.0])}), "NaN in s.upper",
     "holds a non-finite value nan at index 0"),
    ("map_omega_beta_lengths.safetensors", map_file({"s": dict(GOOD_SITE, beta=[0.1, 0.2])}),
     "omega has 3 entries, beta 2", "has shape [2] but the site has d = 3"),
    ("map_bounds_length.safetensors", map_file({"s": dict(GOOD_SITE, lower=[0.0] * 4)}), "lower has 4 entries, d = 3",
     "has shape [4] but the site has d = 3"),
    ("map_lower_above_upper.safetensors", map_file({"s": dict(GOOD_SITE, lower=[-1.0, 2.5, -3.0])}),
     "lower 2.5 > upper 2 at neuron 1", "lower > upper at neuron 1"),
    ("map_bad_samples.safetensors", map_file({"s": GOOD_SITE}, {"act.samples.s": "12;9"}), "act.samples.s = '12;9'",
     "expected 'n_a,n_b'"),
    ("map_2d_omega.safetensors",
     safetensors(*st_tensors([("s.omega", "F32", [1, 2], f32([1, 1])), ("s.beta", "F32", [2], f32([0, 0]))],
                             {"act.format_version": "1"})),
     "omega of shape [1, 2]", "must be 1-D and non-empty"),
    ("map_format_version_newline.safetensors", map_file({"s": GOOD_SITE}, version="1\n2"),
     "act.format_version holds a newline (the message stays on one line)", "this library reads '1'"),
    ("map_site_with_escape.safetensors", map_file({"s\x1b]0;pwned\x07": GOOD_SITE}),
     "site name holds an OSC escape sequence (JSON-escaped)", "holds the control character U+001B"),
    ("map_method_with_newline.safetensors", map_file({"s": GOOD_SITE}, {"act.method.s": "linear\nforged row"}),
     "act.method.s holds a newline (a forged info row)", "act.method.s 'linear\\nforged row' holds the control character U+000A"),
]


def gguf_kv_only(kv_type, payload, tensors=0, count=1):
    g = gguf(tensors, count).s("key")
    return g.raw(struct.pack("<I", kv_type) + payload).b


GGUF = [
    ("gguf_bad_magic.gguf", b"GGUG" + good_cv()[4:], "magic GGUG", "bad magic"),
    ("gguf_version_1.gguf", gguf(0, 0, version=1).b, "version 1 (32-bit counts)", "unsupported GGUF version 1"),
    ("gguf_version_big_endian.gguf", gguf(0, 0, version=3 << 24).b, "version field of a big-endian file",
     "unsupported GGUF version"),
    ("gguf_truncated.gguf", good_cv()[:-24], "a valid file cut inside the last direction", "runs past the end of the file"),
    ("gguf_kv_count_huge.gguf", gguf(0, 2**62).cv_meta().b, "metadata count 2^62", "metadata count"),
    ("gguf_tensor_count_huge.gguf", gguf(2**40, 3).cv_meta().b, "tensor count 2^40", "tensor count"),
    ("gguf_key_past_end.gguf", gguf(0, 1).raw(struct.pack("<Q", 2**63) + b"abc" + b"\0" * 16).b, "key length 2^63",
     "past the end of the file"),
    ("gguf_string_value_past_end.gguf", gguf(0, 1).s("k").raw(struct.pack("<IQ", 8, 1000) + b"short").b,
     "string length 1000, 5 bytes follow", "past the end of the file"),
    ("gguf_unknown_value_type.gguf", gguf_kv_only(13, b"\0" * 8), "value type 13", "unknown value type 13"),
    ("gguf_nested_array.gguf", gguf_kv_only(9, struct.pack("<IQ", 9, 1) + b"\0" * 16), "array of arrays",
     "nested arrays"),
    ("gguf_unknown_array_type.gguf", gguf_kv_only(9, struct.pack("<IQ", 77, 1) + b"\0" * 8), "array element type 77",
     "unknown array element type 77"),
    ("gguf_array_too_long.gguf", gguf_kv_only(9, struct.pack("<IQ", 10, 2**60) + b"\0" * 8),
     "array of 2^60 u64 in a 60-byte file", "is larger than the file could hold"),
    ("gguf_string_array_past_end.gguf", gguf_kv_only(9, struct.pack("<IQQ", 8, 1, 2**40) + b"ab"),
     "string in an array with length 2^40", "past the end of the file"),
    ("gguf_bad_bool.gguf", gguf_kv_only(7, b"\x02"), "bool value 2", "not 0 or 1"),
    ("gguf_duplicate_key.gguf", gguf(0, 2).kv_u32("k", 1).kv_u32("k", 2).b, "key 'k' twice",
     "duplicate metadata key 'k'"),
    ("gguf_alignment_not_pow2.gguf", gguf(0, 1).kv_u32("general.alignment", 24).b, "general.alignment = 24",
     "is not a power of two"),
    ("gguf_ndims_5.gguf", cv_one("direction.1", dims=(1, 1, 1, 1, 4)), "n_dims 5", "has n_dims 5"),
    ("gguf_ndims_0.gguf", cv_one("direction.1", dims=()), "n_dims 0", "has n_dims 0"),
    ("gguf_dims_overflow.gguf", cv_one("direction.1", dims=(2**32, 2**32)), "dimensions 2^32 x 2^32",
     "product overflows"),
    ("gguf_non_f32.gguf", cv_one("direction.1", type_=1), "ggml type 1 (F16)", "only F32 (0) is supported"),
    ("gguf_direction_0.gguf", cv_one("direction.0"), "tensor direction.0", "layer 0 is not allowed"),
    ("gguf_direction_minus_1.gguf", cv_one("direction.-1"), "tensor direction.-1", "is not of the form direction.N"),
    ("gguf_direction_x.gguf", cv_one("direction.x"), "tensor direction.x", "is not of the form direction.N"),
    ("gguf_direction_huge.gguf", cv_one("direction.99999999999"), "layer 99999999999", "layer number too large"),
    ("gguf_duplicate_tensor.gguf",
     gguf(2, 3).cv_meta().tensor("direction.1", [4], 0).tensor("direction.1", [4], 32).pad().data([1] * 4).data([2] * 4).b,
     "direction.1 twice", "duplicate tensor name 'direction.1'"),
    ("gguf_gap.gguf",
     gguf(2, 3).cv_meta().tensor("direction.1", [4], 0).tensor("direction.2", [4], 64).pad().data([1] * 4).data([0] * 8)
     .data([2] * 4).b,
     "direction.2 at offset 64, 32 bytes after the end of direction.1 (llama.cpp's reader wants tensors packed)",
     "llama.cpp requires 32"),
    ("gguf_no_final_padding.gguf", gguf(1, 3).cv_meta().tensor("direction.1", [4], 0).pad().raw(f32([1] * 4)).b,
     "the file ends after the last direction's 16 bytes, before its padding to 32 (llama.cpp refuses it)",
     "before the padding after the last tensor"),
    ("gguf_name_too_long.gguf", cv_one("direction.1" + "x" * 53), "tensor name of 64 bytes (llama.cpp allows 63)",
     "allows 63 at most"),
    ("gguf_misaligned.gguf", cv_one("direction.1", offset=4, n_values=8), "offset 4 with alignment 32",
     "misaligned data offset 4"),
    ("gguf_data_past_end.gguf", cv_one("direction.1", dims=(1000,)), "1000 floats, 4 in the file",
     "runs past the end of the file"),
    ("gguf_no_data_section.gguf", gguf(1, 3).cv_meta().tensor("direction.1", [4], 0).b, "file ends after the tensor infos",
     "past the end of the file"),
    ("gguf_overlap.gguf",
     gguf(2, 3).cv_meta().tensor("direction.1", [16], 0).tensor("direction.2", [16], 32).pad().data([1] * 24).b,
     "direction.1 [0, 64) and direction.2 [32, 96)", "overlap"),
    ("gguf_length_mismatch.gguf",
     gguf(2, 3).cv_meta().tensor("direction.1", [4], 0).tensor("direction.2", [8], 32).pad().data([1] * 4).data([2] * 8).b,
     "lengths 4 and 8", "all directions must be the same length"),
    ("gguf_2d_direction.gguf", cv_one("direction.1", dims=(2, 2)), "direction of shape [2, 2]",
     "has 2 dimensions, expected 1"),
    ("gguf_empty_direction.gguf", cv_one("direction.1", dims=(0,), n_values=0), "direction of length 0", "is empty"),
    ("gguf_no_tensors.gguf", gguf(0, 3).cv_meta().b, "metadata only", "has no direction tensors"),
    ("gguf_key_with_escape.gguf", gguf(0, 2).kv_u32("k\x1b[2J\n", 1).kv_u32("k\x1b[2J\n", 2).b,
     "duplicate key holding a terminal escape and a newline (the message stays on one line)",
     "duplicate metadata key"),
]

# --------------------------------------------------------------------------------------- seeds


def valid_npy():
    return {
        "f4_2d.npy": npy(npy_dict(), f32(SIX)),
        "f8_1d.npy": npy(npy_dict(descr="<f8", shape="(6,)"), f64(SIX)),
        "f2_2d.npy": npy(npy_dict(descr="<f2", shape="(3, 2)"), f16(SIX)),
        "bf16_2d.npy": npy(npy_dict(descr="<V2", shape="(1, 2)"), b"\x80\x3f\x00\x40"),
        "fortran.npy": npy(npy_dict(fortran=True), f32(SIX)),
        "v2_native.npy": npy(npy_dict(descr="=f4", shape="(2L, 3L)"), f32(SIX), version=(2, 0)),
        "v3_empty.npy": npy(npy_dict(shape="(0, 4)"), version=(3, 0)),
        "unpadded.npy": npy('{"descr":"<f4","fortran_order":False,"shape":(1,1)}', f32([7.0]), pad=False),
    }


def valid_st():
    h, d = st_tensors([("a", "F32", [2, 3], f32(SIX)), ("b", "F64", [2], f64([1, 2])), ("c", "F16", [], f16([1.5])),
                       ("d", "BF16", [0], b"")], {"k": "v", "u": "\u00e9\\\"x"})
    return {"mixed.safetensors": safetensors(h, d), "empty_object.safetensors": safetensors({})}


def valid_maps():
    return {
        "bounded.safetensors": map_file({"blk.3.post_attn_norm": GOOD_SITE}),
        "additive_two_sites.safetensors": map_file({"blk.1": {"omega": [1.0, 1.0], "beta": [0.5, -0.5]},
                                                    "blk.2": {"omega": [1.0, 1.0], "beta": [0.1, 0.2]}}),
        "one_sided.safetensors": map_file({"s": {"omega": [2.0], "beta": [1.0], "lower": [float("-inf")],
                                                 "upper": [0.0]}}),
        "quantile_mixed_knots.safetensors": quantile_map_file(*mixed_knots()),
    }


def valid_gguf():
    aligned = (gguf(1, 4).cv_meta().kv_u32("general.alignment", 64).tensor("direction.7", [3], 0).pad(64)
               .raw(f32([1, 2, 3])).pad(64).b)
    # llama.cpp's loader reads no metadata and adds repeated layers up: act's import does the same.
    no_metadata = gguf(1, 0).tensor("direction.1", [4], 0).pad().data([1] * 4).b
    model_architecture = gguf(1, 1).kv_str("general.architecture", "llama").tensor("direction.1", [4], 0).pad().data([1] * 4).b
    repeated = (gguf(2, 3).cv_meta().tensor("direction.1", [4], 0).tensor("direction.01", [4], 32).pad().data([1] * 4)
                .data([2] * 4).b)
    with_arrays = gguf(1, 5).cv_meta()
    with_arrays.s("strings").raw(struct.pack("<IQ", 8, 2)).s("a").s("bc")
    with_arrays.s("floats").raw(struct.pack("<IQ", 6, 2) + f32([1, 2]))
    with_arrays = with_arrays.tensor("direction.12", [2], 0).pad().data([0.5, 0.25]).b
    return {"two_layers.gguf": good_cv(), "aligned64.gguf": aligned, "arrays.gguf": with_arrays,
            "no_metadata.gguf": no_metadata, "model_architecture.gguf": model_architecture, "repeated_layer.gguf": repeated}


README_HEAD = """# Malformed-file catalogue

One small file per way a map file (`.safetensors`), activation dump (`.npy`) or control vector
(`.gguf`) can be broken. `tests/tools/test_catalogue.cpp` runs `act-cli` on each (`fit --source` for `.npy`,
`info` for `.safetensors`, `import-gguf` for `.gguf`) and requires exit status 1 (never a signal), exactly
one line on stderr naming the file and containing the key phrase below, and no output file left behind.
Under the `asan` preset act-cli runs with AddressSanitizer and UBSan.

The files, this table and `catalogue.tsv` (what the test reads) are written by `generate.py`, which also
writes the fuzzers' seed corpora; edit the cases there and rerun `python3 tests/catalogue/generate.py`. A test
(`generate.py --check`) fails while the committed files differ from what the script writes.

| file | what is wrong | key phrase of the error |
|---|---|---|
"""


def outputs():
    """Every file this script writes, as {path: bytes}, and the number of catalogue cases."""
    files = {}
    rows = []
    for group in (NPY, ST, MAP, GGUF):
        for name, data, wrong, phrase in group:
            assert "\t" not in wrong + phrase, name
            files[os.path.join(HERE, name)] = data
            rows.append((name, wrong, phrase))
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "duplicate catalogue names"
    tsv = "# file\twhat is wrong\tkey phrase of act-cli's one-line error (generated by generate.py)\n"
    tsv += "".join(f"{name}\t{wrong}\t{phrase}\n" for name, wrong, phrase in rows)
    files[os.path.join(HERE, "catalogue.tsv")] = tsv.encode("utf-8")
    cell = lambda text: text.replace("|", "\\|")
    readme = README_HEAD + "".join(f"| `{name}` | {cell(wrong)} | `{cell(phrase)}` |\n" for name, wrong, phrase in rows)
    files[os.path.join(HERE, "README.md")] = readme.encode("utf-8")
    seeds = {
        "fuzz_npy": dict(valid_npy(), **{n: d for n, d, _, _ in NPY}),
        "fuzz_safetensors": dict(valid_st(), **valid_maps(), **{n: d for n, d, _, _ in ST + MAP}),
        "fuzz_map_file": dict(valid_maps(), **{n: d for n, d, _, _ in MAP}),
        "fuzz_gguf": dict(valid_gguf(), **{n: d for n, d, _, _ in GGUF}),
    }
    for target, seed_files in seeds.items():
        for name, data in seed_files.items():
            files[os.path.join(CORPUS, target, name)] = data
    return files, len(rows)


def committed():
    """The generated files present now: catalogue files, its README and TSV, the seeds (not found_*)."""
    paths = [os.path.join(HERE, e) for e in os.listdir(HERE)
             if e.endswith((".npy", ".safetensors", ".gguf")) or e in ("catalogue.tsv", "README.md")]
    for folder, _, names in os.walk(CORPUS):
        paths += [os.path.join(folder, n) for n in names if not n.startswith("found_")]
    return paths


def main():
    files, cases = outputs()
    if sys.argv[1:] == ["--check"]:
        # The committed files must be exactly what this script writes (CI runs this as a test).
        stale = []
        for path in sorted(set(committed()) | set(files)):
            if path not in files:
                stale.append(f"{os.path.relpath(path, HERE)}: committed but not generated")
            elif not os.path.exists(path):
                stale.append(f"{os.path.relpath(path, HERE)}: generated but not committed")
            else:
                with open(path, "rb") as f:
                    if f.read() != files[path]:
                        stale.append(f"{os.path.relpath(path, HERE)}: differs from what generate.py writes")
        for line in stale:
            print(line, file=sys.stderr)
        if stale:
            print("rerun `python3 tests/catalogue/generate.py` and commit its outputs", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files match")
        return 0
    for path in committed():  # inputs the fuzzers found (found_*) are kept
        os.remove(path)
    for path, data in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    print(f"{cases} catalogue files and {len(files) - cases - 2} fuzz seeds written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
