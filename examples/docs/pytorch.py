# A small torch model steered at its norms: Linear-AcT maps fitted causally from "source" inputs toward
# "target" inputs, saved as a map file, then applied by forward hooks.
import act
import act.torch
import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16), torch.nn.ReLU(),
                            torch.nn.Linear(16, 16), torch.nn.LayerNorm(16), torch.nn.Linear(16, 2))
source = [torch.randn(64, 8) for _ in range(4)]        # batches of inputs, [batch x features]
target = [torch.randn(64, 8) + 1.5 for _ in range(4)]
sites = act.torch.sites(model, ["1", "4"])              # module paths (or patterns such as "layers.*.norm")
maps = act.torch.fit_causal(model, sites, source, target, method="linear")
maps.save("steer.safetensors")                          # the map file act-cli, C++ hosts and act-llama read
with torch.no_grad():
    plain = model(source[0])
    with act.torch.steer(model, act.MapSet.load("steer.safetensors"), sites, strength=1.0):
        steered = model(source[0])
print("sites:", maps.sites())
print("mean output moved from", plain.mean(0).tolist(), "to", steered.mean(0).tolist())
