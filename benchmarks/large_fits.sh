#!/bin/sh
# Large fits, per process: wall time and peak resident memory of act-cli fit in memory and out of
# core, and of act-mpi on 1, 2 and 4 ranks, on 4096 x 4096 float32 per side (64 MB per side, written by
# NumPy in C order; act-mpi reads the same rows as 4 shards per side).
# usage: benchmarks/large_fits.sh BUILD_DIR [METHOD] (e.g. build/bench linear); needs /usr/bin/time, python3
# with NumPy (or $PYTHON), and mpirun for the act-mpi rows. Prints one line per run: what, seconds, peak RSS in MB.
set -eu
build=$1
method=${2:-linear}
cli=$build/tools/act-cli
mpi=$build/tools/act-mpi
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" - "$work" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1)
a = rng.standard_normal((4096, 4096), dtype=np.float32)
b = (0.5 + 1.5 * rng.standard_normal((4096, 4096))).astype(np.float32)
np.save(f"{d}/a.npy", a); np.save(f"{d}/b.npy", b)
for k in range(4):
    np.save(f"{d}/a{k}.npy", a[k * 1024:(k + 1) * 1024]); np.save(f"{d}/b{k}.npy", b[k * 1024:(k + 1) * 1024])
PY
measure() {  # label, command...
  label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  awk -v l="$label" '{ printf "%-40s %7.2f s %7.1f MB\n", l, $1, $2 / 1024 }' "$work/time"
}
for run in 1 2 3; do
  measure "act-cli fit in memory (--memory 1024)" "$cli" fit --method "$method" --source "$work/a.npy" --target "$work/b.npy" --out "$work/m.st" --quiet
  measure "act-cli fit --memory 16" "$cli" fit --method "$method" --source "$work/a.npy" --target "$work/b.npy" --out "$work/m16.st" --quiet --memory 16
  measure "act-cli fit --memory 64" "$cli" fit --method "$method" --source "$work/a.npy" --target "$work/b.npy" --out "$work/m64.st" --quiet --memory 64
  cmp -s "$work/m.st" "$work/m16.st" && cmp -s "$work/m.st" "$work/m64.st" || echo "MAPS DIFFER"
  if [ -x "$mpi" ] && command -v mpirun >/dev/null; then
    for ranks in 1 2 4; do
      rm -f "$work/p.st"
      measure "act-mpi fit, $ranks rank(s) (max RSS of a rank)" "$here/../tests/mpi/mpirun.sh" mpirun "$ranks" "$mpi" fit --method "$method" \
        --source "$work"/a0.npy "$work"/a1.npy "$work"/a2.npy "$work"/a3.npy \
        --target "$work"/b0.npy "$work"/b1.npy "$work"/b2.npy "$work"/b3.npy --out "$work/p.st" --quiet
      cmp -s "$work/m.st" "$work/p.st" || echo "act-mpi MAP DIFFERS"
    done
  fi
done
