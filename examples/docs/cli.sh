# Activations at one site, rows are inputs and columns neurons: 300 source and 300 target inputs, 16 neurons.
python3 -c 'import numpy as np; r = np.random.default_rng(0)
np.save("toxic.npy", r.normal(0, 1, (300, 16)).astype(np.float32))
np.save("polite.npy", r.normal(2, 0.5, (300, 16)).astype(np.float32))'
act-cli fit --method linear --source toxic.npy --target polite.npy --out detox.safetensors --site blk.12
act-cli fit --method mean --source toxic.npy --target polite.npy --out detox.safetensors --site blk.13
act-cli info detox.safetensors
act-cli apply --map detox.safetensors --site blk.12 --strength 0.8 --input toxic.npy --output steered.npy
