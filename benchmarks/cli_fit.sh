#!/usr/bin/env bash
# Whole-process `act-cli fit --method linear` on two 4096 x 4096 float32 .npy files, best of 5 under
# /usr/bin/time, next to reading both inputs with `cat` (page cache, best of 5) and, when a bench_fit binary is
# given, the in-process fits of the same size (BM_fit_linear, BM_fit_linear_row_major; act-cli reads C-order files, so
# the row-major one is its in-process counterpart).
#
#   bash benchmarks/cli_fit.sh [ACT_CLI] [BENCH_FIT]
#     ACT_CLI     default build/test/tools/act-cli
#     BENCH_FIT   optional, e.g. build/bench/benchmarks/bench_fit
set -euo pipefail
cli=${1:-build/test/tools/act-cli}
bench_fit=${2:-}
[[ -x $cli ]] || { echo "no act-cli at $cli" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Two C-order float32 .npy files of uniform values in [1, 2): random mantissas under a fixed exponent, built with
# bytes operations only (no NumPy needed).
python3 - "$dir" <<'PY'
import os, sys
rows = cols = 4096
n = rows * cols
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
set_high = bytes(range(256)).translate(bytes((x | 0x80) for x in range(256)))
for name in ("source.npy", "target.npy"):
    data = bytearray(os.urandom(4 * n))
    data[3::4] = b"\x3f" * n
    data[2::4] = bytes(data[2::4]).translate(set_high)
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))
        f.write(data)
PY

best() {  # best wall seconds of 5 runs of "$@", via /usr/bin/time
  local best_s=999999 t
  for _ in 1 2 3 4 5; do
    rm -f "$dir/map.safetensors"
    /usr/bin/time -f "%e" -o "$dir/time" "$@" > /dev/null 2> "$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
    t=$(tail -n1 "$dir/time")
    best_s=$(python3 -c "print(min($best_s, $t))")
  done
  echo "$best_s"
}
cat_s=$(best cat "$dir/source.npy" "$dir/target.npy")
fit_s=$(best "$cli" fit --method linear --source "$dir/source.npy" --target "$dir/target.npy" --out "$dir/map.safetensors" --site s)
echo "cat of both inputs (page cache), best of 5: ${cat_s} s"
echo "act-cli fit --method linear, whole process, best of 5: ${fit_s} s"
if [[ -n $bench_fit ]]; then
  "$bench_fit" --benchmark_filter='BM_sort_columns_radix/|BM_fit_linear/|BM_fit_linear_row_major/' 2>/dev/null | grep -E '^BM_'
fi
