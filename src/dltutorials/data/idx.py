"""Rebuild the tutorial's ``mnist.pkl.gz`` from the canonical MNIST IDX files: the last-resort source.

The tutorial's pickle is the original MNIST in the original order: train = the first 50,000 training
images, valid = the last 10,000, test = the test set, pixels k/256 as float32 (k/256 is exact in
float32, so the rebuilt arrays are bit-identical), labels int64. The IDX files have no checksum we can
trust across mirrors, so what is verified is the arrays: a SHA-256 per split (:func:`array_sha256`)
against the values computed from the tutorial's own file. Only then is the pickle written, atomically,
so ``prepare`` reads it exactly as it reads the original.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import tempfile
import urllib.parse
import zlib
from pathlib import Path

import numpy as np

from dltutorials.atomic import atomic_path
from dltutorials.data.download import DataError, fetch, one_line
from dltutorials.data.prepare import SPLITS, load_pickle

__all__ = ["IDX_FILES", "array_sha256", "pickle_matches", "read_idx", "build_splits", "build_from_idx"]

# Roles of the four files, as named in the config (``data.idx.files``).
IDX_FILES = ("train_images", "train_labels", "test_images", "test_labels")

_UNSIGNED_BYTE = 0x08  # the IDX type code of every MNIST file
_X_DTYPE = np.dtype("<f4")  # the byte layout hashed by array_sha256
_Y_DTYPE = np.dtype("<i8")

Splits = dict[str, tuple[np.ndarray, np.ndarray]]


def array_sha256(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of x as little-endian float32 then y as little-endian int64, both C order.

    A checksum of the content, not of a file: a pickle (or IDX files) written differently but holding
    the same arrays gets the same value.
    """
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x, dtype=_X_DTYPE).tobytes())
    digest.update(np.ascontiguousarray(y, dtype=_Y_DTYPE).tobytes())
    return digest.hexdigest()


def _mismatches(splits: Splits, expected: dict[str, str]) -> list[str]:
    """The splits whose arrays differ from ``expected`` (including splits missing from either side)."""
    wrong = []
    for split in SPLITS:
        actual = array_sha256(*splits[split]) if split in splits else None
        if actual != str(expected.get(split, "")).lower():
            wrong.append(f"{split} expected {expected.get(split)}, got {actual}")
    return wrong


def pickle_matches(path: Path, expected: dict[str, str]) -> bool:
    """Whether the gzipped pickle at ``path`` holds splits whose arrays match ``expected``.

    Lets a raw file rebuilt from IDX files (its bytes differ from the tutorial's) count as present.
    """
    try:
        data = load_pickle(Path(path))
        splits = {split: (np.asarray(pair[0]), np.asarray(pair[1])) for split, pair in zip(SPLITS, data, strict=True)}
    except (DataError, TypeError, ValueError, IndexError):
        return False
    return not _mismatches(splits, expected)


def read_idx(path: Path, ndim: int, name: str | None = None) -> np.ndarray:
    """Parse a gzipped IDX file of unsigned bytes with ``ndim`` dimensions (big-endian header).

    Format: two zero bytes, the type code 0x08, the number of dimensions, then one big-endian uint32
    per dimension, then the data. ``name`` (default: the file name) is what error messages call it.
    """
    name = name or Path(path).name
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{name}: not a valid gzip ({one_line(exc) or type(exc).__name__})") from exc

    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} bytes, expected at least {header_size})")
    magic = int.from_bytes(raw[:4], "big")
    expected_magic = (_UNSIGNED_BYTE << 8) | ndim
    if magic != expected_magic:
        raise DataError(f"{name}: bad IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
                        f"(unsigned bytes, {ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected_bytes = int(np.prod(dims))
    found_bytes = len(raw) - header_size
    if found_bytes != expected_bytes:
        what = "truncated" if found_bytes < expected_bytes else "trailing data"
        raise DataError(f"{name}: {what}: dimensions {dims} need {expected_bytes} data bytes, found {found_bytes}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


def _read_pair(images: Path, labels: Path, n_features: int, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one images/labels pair as (N, n_features) uint8 pixels and (N,) uint8 labels, checked."""
    x = read_idx(images, 3, names[0])
    y = read_idx(labels, 1, names[1])
    if x.shape[1] * x.shape[2] != n_features:
        raise DataError(f"{names[0]}: images of {x.shape[1]}x{x.shape[2]} pixels, expected {n_features} pixels each")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{names[1]}: {y.shape[0]} labels for {x.shape[0]} images in {names[0]}")
    return x.reshape(x.shape[0], n_features), y


def _as_tutorial(pixels: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels k -> k/256 as float32 (exact; the tutorial's scaling, not k/255), labels -> int64."""
    return pixels.astype(np.float32) / np.float32(256), labels.astype(np.int64)


def build_splits(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                 sizes: dict[str, int], names: tuple[str, str] = ("training set", "test set")) -> Splits:
    """The tutorial's splits: train = first sizes["train"], valid = the next sizes["valid"], test = test set."""
    n_train, n_valid, n_test = sizes["train"], sizes["valid"], sizes["test"]
    if len(train[0]) != n_train + n_valid:
        raise DataError(f"{names[0]}: {len(train[0])} images, expected {n_train + n_valid} (train + valid)")
    if len(test[0]) != n_test:
        raise DataError(f"{names[1]}: {len(test[0])} images, expected {n_test}")
    x, y = _as_tutorial(*train)
    return {"train": (x[:n_train], y[:n_train]), "valid": (x[n_train:], y[n_train:]), "test": _as_tutorial(*test)}


def _write_pickle(destination: Path, splits: Splits) -> None:
    """Write ((x, y), (x, y), (x, y)) as a gzipped pickle, the tutorial's structure, atomically."""
    with atomic_path(destination) as tmp, gzip.open(tmp, "wb", compresslevel=6) as f:
        pickle.dump(tuple(splits[split] for split in SPLITS), f, protocol=4)


def _clear_stale_work_dirs(destination: Path) -> None:
    """Remove download directories left by a run that was killed."""
    for stale in destination.parent.glob(f".{destination.name}.idx-*"):
        shutil.rmtree(stale, ignore_errors=True)


def build_from_idx(file_urls: dict[str, list[str]], destination: Path, sizes: dict[str, int], n_features: int,
                   expected_sha256: dict[str, str], timeout: float = 60.0) -> list[str]:
    """Download the four IDX files, rebuild the splits, verify their arrays and write ``destination``.

    ``file_urls`` maps each role in :data:`IDX_FILES` to the URLs to try in order. The files go to a
    temporary directory beside ``destination`` that is removed afterwards, so a failure (a bad file, a
    checksum mismatch) leaves nothing behind. Returns the URL each file came from.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale_work_dirs(destination)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=f".{destination.name}.idx-") as work:
        paths: dict[str, Path] = {}
        used: dict[str, str] = {}
        for role in IDX_FILES:
            urls = file_urls[role]
            if not urls:
                raise DataError(f"no URLs given for the IDX file {role}")
            name = Path(urllib.parse.unquote(urls[0].rsplit("/", 1)[-1])).name
            paths[role] = Path(work) / name
            used[role] = fetch(urls, paths[role], None, timeout, label=name)
        train = _read_pair(paths["train_images"], paths["train_labels"], n_features,
                           (used["train_images"], used["train_labels"]))
        test = _read_pair(paths["test_images"], paths["test_labels"], n_features,
                          (used["test_images"], used["test_labels"]))
        splits = build_splits(train, test, sizes, (used["train_images"], used["test_images"]))
    wrong = _mismatches(splits, expected_sha256)
    if wrong:
        raise DataError(f"arrays built from the IDX files do not match data.array_sha256: {'; '.join(wrong)}")
    _write_pickle(destination, splits)
    return [used[role] for role in IDX_FILES]
