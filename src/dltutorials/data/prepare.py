"""Validate the tutorial's gzipped pickle and split it into per-split ``.npz`` files."""

from __future__ import annotations

import gzip
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dltutorials.atomic import atomic_path
from dltutorials.data.download import DataError, one_line
from dltutorials.fields import NonNegativeInt

__all__ = ["SPLITS", "binarize_splits", "prepare_pickle", "load_split"]

SPLITS = ("train", "valid", "test")


def load_pickle(source: Path) -> Any:
    """Unpickle a gzipped Python-2 pickle, mapping any failure to DataError."""
    if not source.is_file():
        raise DataError(f"{source}: file not found (expected a gzipped pickle)")
    try:
        with gzip.open(source, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except Exception as exc:  # corrupt gzip, truncated/invalid pickle, ...
        raise DataError(f"{source}: could not unpickle ({type(exc).__name__}: {one_line(exc)})") from exc


def _validate_split(
    source: Path, split: str, item: Any, expected_n: int, n_features: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Check one (x, y) pair and return it as (float32, int64) arrays."""
    where = f"{source} [{split}]"
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise DataError(f"{where}: expected an (x, y) pair, found {type(item).__name__}")
    try:
        x = np.asarray(item[0])
        y = np.asarray(item[1])
    except Exception as exc:
        raise DataError(f"{where}: x/y are not arrays ({one_line(exc)})") from exc

    if x.shape != (expected_n, n_features):
        raise DataError(f"{where}: expected x shape ({expected_n}, {n_features}), found {x.shape}")
    if y.shape != (expected_n,):
        raise DataError(f"{where}: expected y shape ({expected_n},), found {y.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{where}: expected floating-point x, found dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise DataError(f"{where}: expected finite x, found {int((~np.isfinite(x)).sum())} non-finite values")
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < 0.0 or x_max > 1.0:
        raise DataError(f"{where}: expected x within [0, 1], found range [{x_min}, {x_max}]")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: expected integer labels, found dtype {y.dtype}")
    y_min, y_max = int(y.min()), int(y.max())
    if y_min < 0 or y_max >= n_classes:
        raise DataError(f"{where}: expected labels in [0, {n_classes}), found range [{y_min}, {y_max}]")
    return x.astype(np.float32, copy=False), y.astype(np.int64, copy=False)


def _write_npz(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write ``x``/``y`` to ``path`` atomically (temp file + os.replace)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, x=x, y=y)


def prepare_pickle(
    source: Path, out_dir: Path, expected_sizes: dict[str, int], n_features: int, n_classes: int
) -> dict[str, Path]:
    """Validate ``source`` (gzipped (train, valid, test) pickle) and write ``<out_dir>/<split>.npz``.

    All splits are validated before anything is written. Returns {split: path}.
    """
    source = Path(source)
    out_dir = Path(out_dir)
    data = load_pickle(source)
    if not isinstance(data, (tuple, list)) or len(data) != len(SPLITS):
        found = f"{type(data).__name__} of length {len(data)}" if hasattr(data, "__len__") else type(data).__name__
        raise DataError(f"{source}: expected a tuple of {len(SPLITS)} splits {SPLITS}, found {found}")

    arrays = {
        split: _validate_split(source, split, item, expected_sizes[split], n_features, n_classes)
        for split, item in zip(SPLITS, data)
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for split, (x, y) in arrays.items():
        paths[split] = out_dir / f"{split}.npz"
        _write_npz(paths[split], x, y)
    return paths


@dataclass(frozen=True)
class Binarized:
    """What ``binarize_splits`` reads of a binarised dataset's section (conf/data/mnist_binarized.yaml):
    the dataset it draws from and the seed of its draws."""

    binarized_from: str | None = None
    binarize_seed: NonNegativeInt | None = None


def binarize_splits(source_dir: Path, out_dir: Path, seed: int) -> dict[str, Path]:
    """``<out_dir>/<split>.npz``: the prepared splits of ``source_dir`` with every pixel drawn once as 0 or 1,
    its intensity the probability of 1 (stochastic binarisation, Salakhutdinov & Murray 2008). Each split's
    draw comes from ``seed`` and the split's index, so it is the same whatever the other splits hold."""
    arrays = {split: load_split(Path(source_dir) / f"{split}.npz") for split in SPLITS}
    for split, (x, _) in arrays.items():
        if x.min() < 0 or x.max() > 1:
            raise DataError(f"{source_dir}/{split}.npz: binarising needs pixels in [0, 1], "
                            f"found [{x.min()}, {x.max()}]")
    paths = {}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for index, (split, (x, y)) in enumerate(arrays.items()):
        draws = np.random.default_rng([seed, index]).random(x.shape, dtype=np.float32)
        paths[split] = Path(out_dir) / f"{split}.npz"
        _write_npz(paths[split], (draws < x).astype(np.float32), y)
    return paths


def load_split(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Load a split written by :func:`prepare_pickle` as (x float32, y int64)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: split file not found; prepare it with: snakemake --cores all {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except KeyError as exc:
        raise DataError(f"{path}: expected arrays 'x' and 'y', missing {exc}") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {one_line(exc)})") from exc
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise DataError(f"{path}: expected x (N, D) and y (N,), found {x.shape} and {y.shape}")
    return x.astype(np.float32, copy=False), y.astype(np.int64, copy=False)
