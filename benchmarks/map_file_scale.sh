#!/bin/sh
# Map files with many sites: wall time and peak RSS of act-cli fit --out into a map of N sites (read,
# add one site, write under the lock), of info on it, and of import-gguf of a control vector of N tensors.
# usage: benchmarks/map_file_scale.sh BUILD_DIR [N] (N = 100000 by default); needs /usr/bin/time and python3
# with NumPy (or $PYTHON). Prints one line per run: what, wall seconds, CPU seconds (user + system), peak RSS in MB.
set -eu
build=$1
n=${2:-100000}
cli=$build/tools/act-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" - "$work" "$n" <<'PY'
import json, struct, sys
import numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
np.save(f"{d}/s.npy", rng.standard_normal((64, 4), dtype=np.float32))
np.save(f"{d}/t.npy", (1 + rng.standard_normal((64, 4))).astype(np.float32))
# A map file of n additive sites of 4 neurons (act's layout: omega, beta, provenance per site).
meta = {"act.format_version": "1", "act.library_version": "0.3.0"}
header, offset, data = {}, 0, []
values = struct.pack("<4f", 1, 1, 1, 1) + struct.pack("<4f", 0.5, 0.5, 0.5, 0.5)
for k in range(n):
    site = f"blk.{k}.out"
    for field in ("omega", "beta"):
        header[f"{site}.{field}"] = {"dtype": "F32", "shape": [4], "data_offsets": [offset, offset + 16]}
        offset += 16
    data.append(values)
    meta[f"act.method.{site}"] = "mean"
    meta[f"act.samples.{site}"] = "64,64"
    meta[f"act.pooling.{site}"] = "mean"
    meta[f"act.support.{site}"] = "all"
header = {"__metadata__": meta, **header}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(f"{d}/big.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(data))
# A control vector of n directions of 4 values (GGUF v3, F32, 32-byte alignment).
def s(text):
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw
out = [b"GGUF", struct.pack("<IQQ", 3, n, 3)]
out += [s("general.architecture"), struct.pack("<I", 8), s("controlvector")]
out += [s("controlvector.model_hint"), struct.pack("<I", 8), s("llama")]
out += [s("controlvector.layer_count"), struct.pack("<II", 5, n)]
for k in range(n):
    out += [s(f"direction.{k + 1}"), struct.pack("<I", 1), struct.pack("<Q", 4), struct.pack("<IQ", 0, 32 * k)]
blob = b"".join(out)
blob += b"\0" * (-len(blob) % 32)
direction = struct.pack("<4f", 0.1, 0.2, 0.3, 0.4) + b"\0" * 16
with open(f"{d}/cv.gguf", "wb") as f:
    f.write(blob + direction * n)
PY
measure() {  # label, command...
  label=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null
  awk -v l="$label" '{ printf "%-48s %7.2f s wall %7.2f s CPU %7.1f MB\n", l, $1, $2 + $3, $4 / 1024 }' "$work/time"
}
for run in 1 2 3; do
  cp "$work/big.safetensors" "$work/m.safetensors"
  measure "fit --out into a map of $n sites" "$cli" fit --method mean --source "$work/s.npy" --target "$work/t.npy" \
    --out "$work/m.safetensors" --site new --quiet
  measure "info on the map of $((n + 1)) sites" "$cli" info "$work/m.safetensors"
  rm -f "$work/cv.safetensors"
  measure "import-gguf of $n tensors" "$cli" import-gguf --gguf "$work/cv.gguf" --out "$work/cv.safetensors"
done
