#!/usr/bin/env bash
# Compile-time benchmark: compiles each translation unit of benchmarks/compile_time/ with the
# project's compiler and flags, best of N, and prints seconds (user + system CPU of the compiler: less
# sensitive to other load than wall time) and peak memory, with the ratio to the floor (Eigen/Core +
# fmt/core.h). Units marked "compiled" are compiled again with -DACT_COMPILED, as a target linking
# act::act_compiled sees them.
#
#   benchmarks/compile_time.sh [--runs N] [--cxx g++] [--flags "-O2 -std=c++17"]
#
# The CMake target `compile_time_benchmark` (benchmarks preset) runs it with the build's compiler and flags.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=3
cxx=${CXX:-g++}
flags="-O2 -std=c++17"
includes="-I$root/include -I/usr/include/eigen3"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --includes) includes=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--cxx COMPILER] [--flags FLAGS] [--includes -I...]" >&2; exit 2 ;;
  esac
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# best "seconds kilobytes" of $runs compiles of $1 with extra flags $2
measure() {
  local best_s="" best_kb=""
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%U %S %M" -o "$scratch/time" "$cxx" $flags $2 $includes -c "$1" -o "$scratch/unit.o"
    read -r user sys kb <"$scratch/time"
    local s
    s=$(awk -v u="$user" -v y="$sys" 'BEGIN { printf "%.2f", u + y }')
    if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then best_s=$s; best_kb=$kb; fi
  done
  echo "$best_s $best_kb"
}

echo "compiler: $("$cxx" --version | head -n 1); flags: $flags; best of $runs; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
read -r floor_s floor_kb < <(measure "$here/compile_time/floor.cpp" "")
printf '%-52s %8s %10s %7s\n' "translation unit" "seconds" "memory MB" "x floor"
printf '%-52s %8s %10d %7s\n' "floor: Eigen/Core + fmt/core.h" "$floor_s" $((floor_kb / 1024)) "1.00"
row() {  # label file extra-flags
  read -r s kb < <(measure "$here/compile_time/$2" "$3")
  printf '%-52s %8s %10d %7s\n' "$1" "$s" $((kb / 1024)) "$(awk -v a="$s" -v b="$floor_s" 'BEGIN { printf "%.2f", a / b }')"
}
row "act/act.hpp, empty main" umbrella_empty.cpp ""
row "act/act.hpp + Linear-AcT fit + affine hook" umbrella_linear_hook.cpp ""
row "linear_act.hpp + affine_hook.hpp, same use" layer_linear_hook.cpp ""
row "estimators/pca_direction.hpp alone" alone_pca_direction.cpp ""
row "estimators/itic.hpp alone" alone_itic.cpp ""
row "io/map_file.hpp alone" alone_map_file.cpp ""
row "host: act/host.hpp, load + apply f32/f16/bf16" host.cpp ""
row "host, compiled mode (act::act_compiled)" host.cpp "-DACT_COMPILED"
row "every estimator fitted" every_estimator.cpp ""
row "every method fitted by name (act::fit)" by_name.cpp ""
row "by name, compiled mode (act::act_compiled)" by_name.cpp "-DACT_COMPILED"
