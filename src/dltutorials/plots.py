"""Figures in the tutorial's style: filters and samples tiled into one grey image (tutorial appendix,
``tile_raster_images``), saved as PNG with matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dltutorials.atomic import atomic_path  # noqa: E402


def scale_to_unit_interval(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Map each row to [0, 1] independently (filters are shown up to a multiplicative constant)."""
    x = x - x.min(axis=1, keepdims=True)
    return x / (x.max(axis=1, keepdims=True) + eps)


def tile_images(rows: np.ndarray, image_shape: tuple[int, int], tile_shape: tuple[int, int],
                spacing: int = 1, scale_rows: bool = True) -> np.ndarray:
    """Lay out the first tile_rows x tile_cols rows of ``rows`` (each an image) in a grid, 1-pixel black gaps."""
    height, width = image_shape
    tile_rows, tile_cols = tile_shape
    if rows.shape[1] != height * width:
        raise ValueError(f"rows have {rows.shape[1]} values, image_shape {image_shape} needs {height * width}")
    rows = scale_to_unit_interval(rows) if scale_rows else rows
    out = np.zeros((tile_rows * (height + spacing) - spacing, tile_cols * (width + spacing) - spacing))
    for i, row in enumerate(rows[: tile_rows * tile_cols]):
        r, c = divmod(i, tile_cols)
        out[r * (height + spacing):r * (height + spacing) + height,
            c * (width + spacing):c * (width + spacing) + width] = row.reshape(height, width)
    return out


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write a [0, 1] grey image as PNG, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        plt.imsave(f, image, cmap="gray", vmin=0.0, vmax=1.0, format="png")


def save_filters(path: str | Path, weight: np.ndarray, image_shape: tuple[int, int] = (28, 28),
                 tile_shape: tuple[int, int] = (10, 10)) -> None:
    """The first 100 hidden units' weight vectors (rows of W) as images."""
    save_image(path, tile_images(weight, image_shape, tile_shape))


def save_samples(path: str | Path, samples: np.ndarray, image_shape: tuple[int, int] = (28, 28)) -> None:
    """``samples`` (n_rows, n_chains, n_visible) in [0, 1]: one row per sampling round, one column per chain."""
    n_rows, n_chains, n_visible = samples.shape
    save_image(path, tile_images(samples.reshape(n_rows * n_chains, n_visible), image_shape, (n_rows, n_chains),
                                 scale_rows=False))
