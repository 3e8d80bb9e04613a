"""Files of layer-wise pretraining: one directory per layer, ``<run_dir>/layer<k>/``.

    layer.pt     the layer's parameters (weight, hidden_bias, visible_bias), written last
    codes.npy    the training set encoded by layers 1..k: the input of layer k+1
    epochs.csv   per-epoch mean training cost (the tutorial's printed monitor) and seconds
    epochs/      epoch<N>.pt: the parameters after each epoch, when model.pretrain.keep_epochs is true
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from dltutorials.atomic import atomic_path
from dltutorials.models.functional import PARAMETERS


def layer_dir(run_dir: str | Path, k: int) -> Path:
    return Path(run_dir) / f"layer{k}"


def save_layer(path: str | Path, layer: torch.nn.Module, info: dict) -> None:
    """Save a pretrained layer's shared parameters and what made it, atomically."""
    state = {name: getattr(layer, name).detach().cpu() for name in PARAMETERS}
    with atomic_path(path) as tmp:
        torch.save({"parameters": state, "info": info}, tmp)


def load_layer(path: str | Path) -> SimpleNamespace:
    """The parameters saved by ``save_layer`` as attributes (``.weight``, ``.hidden_bias``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pretrained layer not found; make it with: snakemake --cores all {path}")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    return SimpleNamespace(**saved["parameters"], info=saved["info"])


@torch.no_grad()
def encode(layer: SimpleNamespace, x: torch.Tensor, batch_size: int = 5000) -> torch.Tensor:
    """Mean hidden activations sigmoid(W x + b) of every row of ``x`` (sections 8.1, 10.1 step 2)."""
    return torch.cat([torch.sigmoid(torch.nn.functional.linear(xb, layer.weight, layer.hidden_bias))
                      for xb in x.split(batch_size)])


def save_codes(path: str | Path, codes: torch.Tensor) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, codes.numpy())
