#!/usr/bin/env bash
# The format gate: every C++ file git tracks must be as clang-format (.clang-format at the top) leaves it.
# Prints the files that differ and exits 1; `bash cmake/check_format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format is missing (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.inc')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'check_format: not formatted: %s\n' "${bad[@]}" >&2
  echo "check_format: run 'bash cmake/check_format.sh --fix' ($(clang-format --version))" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
