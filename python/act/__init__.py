"""act: steer neural networks by transporting their activations (Linear-AcT and its family).

A thin binding of act's C++ library: every computation runs in C++, with the GIL released; arrays
(NumPy, or tensors through DLPack) are read and edited in place.

    import act
    fit = act.fit("linear", source, target)          # [n_a x d], [n_b x d] float32/float64 samples
    fit.map.apply(acts, strength=0.8)                # in place
    maps = act.MapSet(); maps.insert("blk.3", fit); maps.save("detox.safetensors")

`act.torch` (imported on first use, needs PyTorch) captures activations, steers torch modules with
forward hooks and fits sites causally.
"""

from ._act import (
    AffineMap,
    Error,
    FileError,
    Fit,
    FormatError,
    InvalidArgument,
    MapSet,
    NonFiniteError,
    QuantileMap,
    ShapeError,
    __version__,
    export_gguf,
    fit,
    fit_causal,
    fit_simultaneous,
    import_gguf,
    method,
    methods,
    pool,
)

__all__ = [
    "AffineMap",
    "Error",
    "FileError",
    "Fit",
    "FormatError",
    "InvalidArgument",
    "MapSet",
    "NonFiniteError",
    "QuantileMap",
    "ShapeError",
    "__version__",
    "export_gguf",
    "fit",
    "fit_causal",
    "fit_simultaneous",
    "import_gguf",
    "method",
    "methods",
    "pool",
]


def __getattr__(name):
    # act.torch is imported on first use only: importing act must not import torch.
    if name == "torch":
        import importlib

        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'act' has no attribute '{name}'")
