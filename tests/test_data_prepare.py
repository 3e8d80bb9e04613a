"""Tests for dltutorials.data.prepare: validating the tutorial pickle and writing .npz splits."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_MIRROR
from dltutorials.data.download import DataError
from dltutorials.data.prepare import SPLITS, binarize_splits, load_split, prepare_pickle

MNIST = MNIST_MIRROR
MNIST_SIZES = {"train": 50000, "valid": 10000, "test": 10000}

SMALL_SIZES = {"train": 12, "valid": 6, "test": 6}
N_FEATURES = 5
N_CLASSES = 3


@pytest.fixture(scope="module")
def mnist_prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Prepare the real MNIST pickle once for the whole module."""
    if not MNIST.is_file():
        pytest.skip(f"local MNIST copy not found at {MNIST}")
    out_dir = tmp_path_factory.mktemp("mnist_prepared")
    return prepare_pickle(MNIST, out_dir, MNIST_SIZES, n_features=784, n_classes=10)


def _small_splits(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """A valid tiny (train, valid, test) structure in the tutorial's format."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.random((SMALL_SIZES[s], N_FEATURES), dtype=np.float32),
            np.arange(SMALL_SIZES[s], dtype=np.int64) % N_CLASSES,
        )
        for s in SPLITS
    ]


def _write_pickle(path: Path, obj: object) -> Path:
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)
    return path


# --- the real file ------------------------------------------------------------------------------


def test_real_mnist_sizes_and_dtypes(mnist_prepared: dict[str, Path]) -> None:
    assert set(mnist_prepared) == set(SPLITS)
    for split in SPLITS:
        path = mnist_prepared[split]
        assert path.name == f"{split}.npz" and path.is_file()
        x, y = load_split(path)
        assert x.shape == (MNIST_SIZES[split], 784)
        assert y.shape == (MNIST_SIZES[split],)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert 0.05 < x.mean() < 0.25  # mostly-black digits
    # No temp files left beside the outputs.
    assert sorted(p.name for p in mnist_prepared["train"].parent.iterdir()) == ["test.npz", "train.npz", "valid.npz"]


def test_real_mnist_label_distribution(mnist_prepared: dict[str, Path]) -> None:
    for split in SPLITS:
        _, y = load_split(mnist_prepared[split])
        counts = np.bincount(y, minlength=10)
        assert len(counts) == 10
        fractions = counts / counts.sum()
        assert fractions.min() > 0.08 and fractions.max() < 0.125, (split, counts)
    _, y_train = load_split(mnist_prepared["train"])
    assert np.bincount(y_train).sum() == 50000
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first MNIST training labels


# --- crafted files ------------------------------------------------------------------------------


def test_small_valid_pickle_round_trips(tmp_path: Path) -> None:
    splits = _small_splits()
    source = _write_pickle(tmp_path / "small.pkl.gz", tuple(splits))
    paths = prepare_pickle(source, tmp_path / "out", SMALL_SIZES, N_FEATURES, N_CLASSES)
    for (x_in, y_in), split in zip(splits, SPLITS):
        x, y = load_split(paths[split])
        np.testing.assert_array_equal(x, x_in)
        np.testing.assert_array_equal(y, y_in)


def _break_shape(splits):
    x, y = splits[1]
    splits[1] = (x[:, :-1], y)
    return "valid", "shape"


def _break_count(splits):
    x, y = splits[0]
    splits[0] = (x[:-1], y[:-1])
    return "train", "shape"


def _break_labels(splits):
    x, y = splits[2]
    splits[2] = (x, np.where(y == 0, N_CLASSES, y))
    return "test", "labels"


def _break_negative_labels(splits):
    x, y = splits[0]
    splits[0] = (x, y - 1)
    return "train", "labels"


def _break_range(splits):
    x, y = splits[0]
    splits[0] = (x + 1.5, y)
    return "train", "[0, 1]"


def _break_nan(splits):
    x, y = splits[1]
    x = x.copy()
    x[0, 0] = np.nan
    splits[1] = (x, y)
    return "valid", "finite"


def _break_float_labels(splits):
    x, y = splits[2]
    splits[2] = (x, y.astype(np.float64))
    return "test", "integer"


def _break_pair(splits):
    splits[1] = (splits[1][0],)
    return "valid", "(x, y) pair"


@pytest.mark.parametrize(
    "breaker",
    [_break_shape, _break_count, _break_labels, _break_negative_labels, _break_range, _break_nan,
     _break_float_labels, _break_pair],
)
def test_bad_split_raises_naming_split(tmp_path: Path, breaker) -> None:
    splits = _small_splits()
    split, what = breaker(splits)
    source = _write_pickle(tmp_path / "bad.pkl.gz", tuple(splits))
    out_dir = tmp_path / "out"
    with pytest.raises(DataError) as info:
        prepare_pickle(source, out_dir, SMALL_SIZES, N_FEATURES, N_CLASSES)
    message = str(info.value)
    assert "\n" not in message
    assert str(source) in message
    assert f"[{split}]" in message
    assert what in message
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # nothing half-written


def test_wrong_number_of_splits_raises(tmp_path: Path) -> None:
    source = _write_pickle(tmp_path / "two.pkl.gz", tuple(_small_splits()[:2]))
    with pytest.raises(DataError, match="expected a tuple of 3 splits"):
        prepare_pickle(source, tmp_path / "out", SMALL_SIZES, N_FEATURES, N_CLASSES)
    assert not (tmp_path / "out").exists()


def test_corrupt_and_missing_source_raise(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pkl.gz"
    corrupt.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="could not unpickle"):
        prepare_pickle(corrupt, tmp_path / "out", SMALL_SIZES, N_FEATURES, N_CLASSES)
    with pytest.raises(DataError, match="not found"):
        prepare_pickle(tmp_path / "missing.pkl.gz", tmp_path / "out", SMALL_SIZES, N_FEATURES, N_CLASSES)
    assert not (tmp_path / "out").exists()


def test_load_split_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_split(tmp_path / "train.npz")
    bad = tmp_path / "valid.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_split(bad)
    wrong_keys = tmp_path / "test.npz"
    np.savez(wrong_keys, a=np.zeros(3))
    with pytest.raises(DataError, match="expected arrays 'x' and 'y'"):
        load_split(wrong_keys)


def _write_small_splits(folder: Path, pixels: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, x in pixels.items():
        np.savez(folder / f"{split}.npz", x=x, y=np.arange(len(x), dtype=np.int64) % N_CLASSES)
    return folder


def test_binarize_draws_each_pixel_once_with_its_intensity_as_probability(tmp_path: Path) -> None:
    intensities = np.linspace(0, 1, 11, dtype=np.float32)
    source = _write_small_splits(tmp_path / "grey", {split: np.tile(intensities, (4000, 1)) for split in SPLITS})
    paths = binarize_splits(source, tmp_path / "binary", seed=7)
    for split in SPLITS:
        x, y = load_split(paths[split])
        assert set(np.unique(x)) <= {0.0, 1.0} and x.shape == (4000, 11)
        np.testing.assert_array_equal(y, np.arange(4000) % N_CLASSES)
        # the frequency of 1 in each column is its intensity (4000 draws: standard error at most 0.008)
        np.testing.assert_allclose(x.mean(0), intensities, atol=0.03)
        assert x[:, 0].max() == 0 and x[:, -1].min() == 1
    train, valid = load_split(paths["train"])[0], load_split(paths["valid"])[0]
    assert not np.array_equal(train, valid), "each split has its own draw"


def test_binarize_is_the_same_draw_for_a_seed_and_another_for_another_seed(tmp_path: Path) -> None:
    source = _write_small_splits(tmp_path / "grey", {s: np.full((50, 20), 0.5, np.float32) for s in SPLITS})
    first = load_split(binarize_splits(source, tmp_path / "a", seed=1)["test"])[0]
    again = load_split(binarize_splits(source, tmp_path / "b", seed=1)["test"])[0]
    other = load_split(binarize_splits(source, tmp_path / "c", seed=2)["test"])[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_binarize_refuses_pixels_outside_0_1_and_writes_nothing(tmp_path: Path) -> None:
    pixels = {s: np.full((5, 3), 0.5, np.float32) for s in SPLITS}
    pixels["valid"][0, 0] = 2.0
    source = _write_small_splits(tmp_path / "grey", pixels)
    with pytest.raises(DataError, match=r"valid\.npz: binarising needs pixels in \[0, 1\]"):
        binarize_splits(source, tmp_path / "binary", seed=1)
    assert not (tmp_path / "binary").exists()
