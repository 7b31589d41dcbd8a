# A file that is not a map file is refused with one line naming it (exit status 1).
printf 'not a map file' > forged.safetensors
act-cli info forged.safetensors || echo "exit status $?"
# Four fits into one map file at the same time: the file's lock keeps every site.
python3 -c 'import numpy as np; r = np.random.default_rng(2)
np.save("a.npy", r.normal(0, 1, (100, 8)).astype(np.float32)); np.save("b.npy", r.normal(1, 1, (100, 8)).astype(np.float32))'
for site in blk.1 blk.2 blk.3 blk.4; do
  act-cli fit --method linear --source a.npy --target b.npy --out shared.safetensors --site $site --quiet &
done
wait
act-cli info shared.safetensors
