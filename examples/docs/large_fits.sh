# Two source shards and one 3-D target file of 64 sequences of 12 tokens with their lengths, 32 neurons.
python3 -c 'import numpy as np; r = np.random.default_rng(1)
for i in range(2): np.save(f"toxic_{i}.npy", r.normal(0, 1, (500, 32)).astype(np.float32))
np.save("polite_BxTxd.npy", r.normal(1, 2, (64, 12, 32)).astype(np.float32))
np.save("polite_len.npy", r.integers(1, 13, 64).astype(np.int64))'
act-cli fit --method linear --source toxic_0.npy --source toxic_1.npy --target polite_BxTxd.npy \
    --lengths polite_len.npy --pooling mean --memory 16 --out detox.safetensors --site blk.12
act-cli info detox.safetensors
