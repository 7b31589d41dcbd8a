# Reads a map file written by act-cli (examples/docs/cli.sh) with nothing but the standard library and NumPy.
import json
import struct

import numpy as np

with open("detox.safetensors", "rb") as f:
    (header_size,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(header_size))
    data = f.read()
metadata = header.pop("__metadata__")
tensors = {name: np.frombuffer(data[t["data_offsets"][0]:t["data_offsets"][1]], np.float32).reshape(t["shape"])
           for name, t in header.items()}
for site in sorted({name.rsplit(".", 1)[0] for name in tensors}):
    print(site, metadata["act.method." + site], "omega[:3] =", tensors[site + ".omega"][:3],
          "bounded:", site + ".lower" in tensors)
