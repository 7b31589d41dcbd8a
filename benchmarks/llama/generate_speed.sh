#!/usr/bin/env bash
# Tokens per second of `act-llama generate`: no maps (llama.cpp's own path, no callback), Linear-AcT
# maps at 4 tensors, and at every block's output, on the tiny test model and on a larger random model
# (12 blocks, n_embd 768, n_ff 2048, 12 heads, F32). Configurations are interleaved, REPS runs each; the
# table shows medians, and the overhead in processor time per token against no maps (wall-clock speed on a
# shared machine follows its load). Results: benchmarks/README.md.
#
#   bash benchmarks/llama/generate_speed.sh [BUILD]      BUILD: a build with act-llama and the llama tests
#                                                        (default build/test, from `cmake --workflow --preset test`)
# Environment: REPS (default 7), THREADS (default 1), N_TINY (tokens, default 256), N_BIG (default 96).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/test}
tool=$build/tools/act_llama/act-llama
writer=$build/tests/llama/act_llama_random_model
reps=${REPS:-7}
threads=${THREADS:-1}
[ -x "$tool" ] && [ -x "$writer" ] || { echo "need $tool and $writer: build the test preset with llama.cpp first" >&2; exit 1; }
work=$build/llama_bench
mkdir -p "$work"

[ -f "$work/tiny.gguf" ] || "$writer" "$work/tiny.gguf"
[ -f "$work/big.gguf" ] || "$writer" "$work/big.gguf" --layers 12 --embd 768 --ff 2048 --heads 12 --vocab 512

cat >"$work/source.txt" <<'TXT'
I hate the rain and the night
you are very cruel and sad
we cry with a bad friend
the dog is sad in the rain
war and hate in the world
it was a bad night, I cry
TXT
cat >"$work/target.txt" <<'TXT'
I love the sun and the day
you are very kind and happy
we smile with a good friend
the cat is happy in the sun
peace and love to the world
hello friend, this is a good day
TXT

# Linear-AcT maps fitted on each model (causal): 4 block outputs, and every block output.
fit() {  # model layers... -> map file
  local model=$1 out=$2 tensors=$3
  [ -f "$out" ] || "$tool" fit --model "$model" --source-prompts "$work/source.txt" --target-prompts "$work/target.txt" \
    --tensors "$tensors" --method linear --out "$out" --threads "$threads" >/dev/null
}
every() { local n=$1 list="" i; for ((i = 0; i < n; i++)); do list+="${list:+,}l_out-$i"; done; echo "$list"; }
fit "$work/tiny.gguf" "$work/tiny-4.safetensors" l_out-0,l_out-1,l_out-2,l_out-3
fit "$work/tiny.gguf" "$work/tiny-all.safetensors" "$(every 4)"
fit "$work/big.gguf" "$work/big-4.safetensors" l_out-2,l_out-5,l_out-8,l_out-11
fit "$work/big.gguf" "$work/big-all.safetensors" "$(every 12)"

speed() {  # model n maps... -> "tokens/s processor-ms-per-token"
  local model=$1 n=$2; shift 2
  "$tool" generate --model "$model" --prompt "the cat is" -n "$n" --temp 0 --threads "$threads" "$@" 2>&1 >/dev/null |
    sed -n 's/.*(\([0-9.]*\) tokens\/s, \([0-9.]*\) ms of processor time per token).*/\1 \2/p'
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
column_median() { tr ';' '\n' <<<"$1" | sed '/^$/d' | cut -d' ' -f"$2" | median; }

echo "act-llama generate, greedy, --threads $threads, median of $reps interleaved runs; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "overhead: processor time per token against no maps (wall-clock tokens/s shown too; it follows the machine's load)"
printf '%-6s %-24s %10s %16s %10s\n' model maps "tokens/s" "CPU ms/token" overhead
for model in tiny big; do
  n=${N_TINY:-256}
  [ "$model" = big ] && n=${N_BIG:-96}
  declare -A runs=()
  for ((r = 0; r < reps; r++)); do
    runs[none]+="$(speed "$work/$model.gguf" "$n");"
    runs[four]+="$(speed "$work/$model.gguf" "$n" --maps "$work/$model-4.safetensors");"
    runs[all]+="$(speed "$work/$model.gguf" "$n" --maps "$work/$model-all.safetensors");"
  done
  base=$(column_median "${runs[none]}" 2)
  for config in none four all; do
    tps=$(column_median "${runs[$config]}" 1)
    cpu=$(column_median "${runs[$config]}" 2)
    case $config in none) label="none (no callback)" ;; four) label="Linear-AcT at 4 tensors" ;; *) label="Linear-AcT at every block" ;; esac
    printf '%-6s %-24s %10.1f %16.4f %9.1f%%\n' "$model" "$label" "$tps" "$cpu" "$(awk -v b="$base" -v m="$cpu" 'BEGIN {print (m / b - 1) * 100}')"
  done
  unset runs
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
