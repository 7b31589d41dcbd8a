# The bundled toy LM: sample continuations of a toxic-eliciting prompt, then a quick run of the paper's
# experiments (a smoke run with noisy numbers; `cmake --build build/demo --target run_experiments` runs the full one).
toy_lm sample --prompt "you are such a" --n 3 --seed 3
toy_lm_experiments --quick --out report --json report/results.json
ls report
