"""Figures: first-layer filters of a pretrained layer, and samples from an RBM.

    python -m dltutorials.drawing.figures filters OUT.png model=dbn preset=quick seed=1234
    python -m dltutorials.drawing.figures samples OUT.png model=rbm preset=quick seed=1234
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from dltutorials import drawing
from dltutorials.config import ConfigError, compose
from dltutorials.data.prepare import load_split
from dltutorials.drawing.plots import save_filters, save_samples
from dltutorials.models.functional import PARAMETERS
from dltutorials.stages.pretrain import build_layer
from dltutorials.training.layers import layer_dir, load_layer


def image_shape(cfg: DictConfig) -> tuple[int, int]:
    channels, height, width = cfg.data.image_shape
    if channels != 1:
        raise ConfigError(f"data.image_shape {list(cfg.data.image_shape)}: filters are drawn for grey images only")
    return height, width


def draw_filters(cfg: DictConfig, out: Path) -> None:
    """Rows of layer 1's W as images, like the tutorial's filters_corruption_30.png / filters_at_epoch_14.png."""
    layer = load_layer(layer_dir(cfg.paths.run_dir, 1) / "layer.pt")
    save_filters(out, layer.weight.numpy(), image_shape(cfg))


def chain_starts(test_x: np.ndarray, n_chains: int, seed: int) -> np.ndarray:
    """``n_chains`` consecutive test digits from a random offset drawn with ``seed`` (the tutorial's test_idx)."""
    if not 1 <= n_chains <= len(test_x):
        raise ConfigError(f"model.samples.n_chains must be in [1, {len(test_x)}], got {n_chains}")
    offset = int(np.random.default_rng(seed).integers(len(test_x) - n_chains + 1))
    return test_x[offset:offset + n_chains]


def draw_samples(cfg: DictConfig, out: Path) -> None:
    """Persistent Gibbs chains from ``n_chains`` consecutive test digits at a random offset (seeded by
    ``seed``); one row of mean-field images every ``steps_between_rows`` steps (tutorial section 9.4,
    "Sampling from the RBM": ``test_idx = rng.randint(number_of_test_samples - n_chains)``)."""
    settings = cfg.model.get("samples")
    if settings is None:
        raise ConfigError(f"model {cfg.model.name!r} has no `samples` settings (an RBM's config has)")
    rbm = build_layer(cfg, 1)
    saved = load_layer(layer_dir(cfg.paths.run_dir, 1) / "layer.pt")
    rbm.load_state_dict({name: getattr(saved, name) for name in PARAMETERS}, strict=False)
    torch.manual_seed(cfg.seed)
    test_x, _ = load_split(Path(cfg.data.prepared_dir) / "test.npz")
    start = torch.from_numpy(chain_starts(test_x, settings.n_chains, cfg.seed))
    samples = rbm.sample_chains(start, settings.n_rows, settings.steps_between_rows)
    save_samples(out, samples.numpy(), image_shape(cfg))


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {"filters": lambda output, overrides: draw_filters(compose(overrides), output),
                           "samples": lambda output, overrides: draw_samples(compose(overrides), output)},
                 "Hydra overrides naming the run, e.g. model=rbm preset=quick seed=1234", argv, at_least_one=False)


if __name__ == "__main__":
    main()
