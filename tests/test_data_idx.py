"""The IDX fallback: rebuilding the tutorial's mnist.pkl.gz from the canonical MNIST IDX files (no internet).

The IDX files are written here from the shared pickle's arrays (pixels round(x * 256) as uint8), put in
a mirror without mnist.pkl.gz, and the real download and prepare stages run against it.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import pickle
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dltutorials.config import compose
from dltutorials.data.download import DataError, sha256_of
from dltutorials.data.idx import array_sha256, pickle_matches
from dltutorials.data.prepare import SPLITS, load_split
from dltutorials.stages.data import download_dataset, prepare_dataset, source_file

GITHUB_COPY = "https://raw.githubusercontent.com/mnielsen/neural-networks-and-deep-learning/master/data/mnist.pkl.gz"
FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
TINY_SIZES = {"train": 6, "valid": 2, "test": 3}


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An uncompressed IDX file of unsigned bytes: magic 0x0000 08 <ndim>, big-endian uint32 dims, data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = (0x08 << 8) | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write_mirror(root: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], **replace: bytes) -> Path:
    """Write the four IDX .gz files under ``root/mnist/`` from tutorial splits; ``replace`` overrides a file's bytes."""
    pixels = {split: np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28) for split, (x, _) in splits.items()}
    contents = {
        "train_images": idx_bytes(np.concatenate([pixels["train"], pixels["valid"]])),
        "train_labels": idx_bytes(np.concatenate([splits["train"][1], splits["valid"][1]])),
        "test_images": idx_bytes(pixels["test"]),
        "test_labels": idx_bytes(splits["test"][1]),
    }
    contents.update(replace)
    (root / "mnist").mkdir(parents=True, exist_ok=True)
    for role, name in FILES.items():
        with gzip.open(root / "mnist" / name, "wb", compresslevel=1) as f:
            f.write(contents[role])
    return root


@pytest.fixture(scope="module")
def tutorial(shared_data) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The shared mnist.pkl.gz as {split: (x float32, y int64)}."""
    with gzip.open(shared_data / "mnist" / "mnist.pkl.gz", "rb") as f:
        data = pickle.load(f, encoding="latin1")
    return {split: (np.asarray(x), np.asarray(y)) for split, (x, y) in zip(SPLITS, data)}


@pytest.fixture(scope="module")
def idx_mirror(tmp_path_factory, tutorial) -> Path:
    """A mirror directory holding only the four MNIST IDX files."""
    return write_mirror(tmp_path_factory.mktemp("idx_mirror"), tutorial)


@pytest.fixture
def tiny(tutorial) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A few examples per split: fast to write and parse, for the failure cases."""
    return {split: (x[:TINY_SIZES[split]], y[:TINY_SIZES[split]]) for split, (x, y) in tutorial.items()}


def _config(results: Path, mirror: Path | str, *extra: str):
    return compose([f"paths.results_dir={results}", f"data.mirror={mirror}", *extra])


def _tiny_config(results: Path, mirror: Path):
    return _config(results, mirror, *(f"data.sizes.{split}={n}" for split, n in TINY_SIZES.items()))


def _files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) if directory.exists() else []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def serve() -> Iterator:
    """Start a loopback HTTP server on a directory; returns its base URL."""
    servers = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- configuration ------------------------------------------------------------------------------


def test_github_copy_is_tried_first_then_the_tutorials_urls() -> None:
    data = compose([]).data
    assert list(data.urls) == [GITHUB_COPY, "http://www.iro.umontreal.ca/~lisa/deep/data/mnist/mnist.pkl.gz",
                               "http://deeplearning.net/data/mnist/mnist.pkl.gz"]
    assert data.sha256 == "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
    assert dict(data.idx.files) == FILES
    assert all(url.startswith("https://") and url.endswith("/") for url in data.idx.base_urls)


def test_configured_array_checksums_are_those_of_the_tutorials_file(tutorial) -> None:
    expected = dict(compose([]).data.array_sha256)
    assert {split: array_sha256(x, y) for split, (x, y) in tutorial.items()} == expected
    assert tutorial["train"][0].dtype == np.float32 and tutorial["train"][1].dtype == np.int64


# --- the fallback, end to end -------------------------------------------------------------------


def test_idx_mirror_rebuilds_the_tutorials_splits_exactly(tmp_path, idx_mirror, tutorial, capsys) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(idx_mirror, mirror)
    assert not (mirror / "mnist" / "mnist.pkl.gz").exists()
    cfg = _config(tmp_path / "results", mirror)

    raw = download_dataset(cfg)
    assert "source idx" in capsys.readouterr().out
    sidecar = json.loads(source_file(raw).read_text())
    assert sidecar == {"source": "idx", "files": [(mirror / "mnist" / name).as_uri() for name in FILES.values()]}
    assert _files_under(raw.parent) == ["mnist.pkl.gz", "mnist.pkl.gz.source.json"]

    for split, path in prepare_dataset(cfg).items():
        x, y = load_split(path)
        with np.load(path) as saved:
            assert saved["x"].dtype == np.float32 and saved["y"].dtype == np.int64
        assert np.array_equal(x, tutorial[split][0]) and np.array_equal(y, tutorial[split][1]), split

    # A second run keeps the rebuilt file (its bytes differ from the tutorial's, its arrays match): with the
    # mirror gone, success proves nothing was downloaded.
    shutil.rmtree(mirror)
    before = raw.stat().st_mtime_ns
    assert sha256_of(raw) != cfg.data.sha256
    assert download_dataset(cfg) == raw
    assert "not downloaded again" in capsys.readouterr().out
    assert raw.stat().st_mtime_ns == before


def test_idx_fallback_over_loopback_http(tmp_path, idx_mirror, serve) -> None:
    base = serve(idx_mirror)
    cfg = _config(tmp_path / "results", base)
    raw = download_dataset(cfg)
    assert json.loads(source_file(raw).read_text())["files"] == [f"{base}/mnist/{name}" for name in FILES.values()]
    assert pickle_matches(raw, dict(cfg.data.array_sha256))


def test_the_pickle_is_preferred_and_its_source_recorded(tmp_path, shared_data) -> None:
    cfg = _config(tmp_path / "results", shared_data)
    raw = download_dataset(cfg)
    url = (shared_data / "mnist" / "mnist.pkl.gz").as_uri()
    assert json.loads(source_file(raw).read_text()) == {"source": url, "files": [url]}
    assert sha256_of(raw) == cfg.data.sha256


def test_file_with_other_arrays_is_not_accepted(tmp_path, tutorial) -> None:
    expected = dict(compose([]).data.array_sha256)
    path = tmp_path / "mnist.pkl.gz"
    x, y = tutorial["test"]
    swapped = (tutorial["train"], tutorial["valid"], (x, np.roll(y, 1)))
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(swapped, f)
    assert not pickle_matches(path, expected)
    path.write_bytes(b"not a gzip")
    assert not pickle_matches(path, expected)


# --- failures leave nothing behind --------------------------------------------------------------


def _labels(split_labels: np.ndarray) -> bytes:
    return idx_bytes(split_labels)


@pytest.mark.parametrize(
    ("case", "named", "reason"),
    [
        ("bad_magic", "train-images-idx3-ubyte.gz", "bad IDX magic number 0x00000801, expected 0x00000803"),
        ("truncated", "t10k-images-idx3-ubyte.gz", "truncated"),
        ("two_dims", "train-images-idx3-ubyte.gz", "bad IDX magic number 0x00000802, expected 0x00000803"),
        ("image_size", "t10k-images-idx3-ubyte.gz", "images of 27x28 pixels, expected 784 pixels each"),
        ("image_count", "train-images-idx3-ubyte.gz", "7 images, expected 8 (train + valid)"),
        ("label_count", "train-labels-idx1-ubyte.gz", "7 labels for 8 images"),
    ],
)
def test_corrupt_idx_file_is_one_line_error_naming_it(tmp_path, tiny, case, named, reason) -> None:
    train_pixels = np.rint(np.concatenate([tiny["train"][0], tiny["valid"][0]]) * 256).astype(np.uint8)
    test_pixels = np.rint(tiny["test"][0] * 256).astype(np.uint8).reshape(-1, 28, 28)
    replace = {
        "bad_magic": {"train_images": idx_bytes(train_pixels.reshape(-1, 28, 28), magic=0x0801)},
        "truncated": {"test_images": idx_bytes(test_pixels)[:-100]},
        "two_dims": {"train_images": idx_bytes(train_pixels)},  # (N, 784): two dimensions, not three
        "image_size": {"test_images": idx_bytes(test_pixels[:, 1:, :])},
        "image_count": {"train_images": idx_bytes(train_pixels.reshape(-1, 28, 28)[:-1]),
                        "train_labels": _labels(np.concatenate([tiny["train"][1], tiny["valid"][1]])[:-1])},
        "label_count": {"train_labels": _labels(np.concatenate([tiny["train"][1], tiny["valid"][1]])[:-1])},
    }[case]
    mirror = write_mirror(tmp_path / "mirror", tiny, **replace)
    results = tmp_path / "results"
    with pytest.raises(DataError) as info:
        download_dataset(_tiny_config(results, mirror))
    message = str(info.value)
    assert "\n" not in message
    assert f"{named}: " in message and reason in message
    assert _files_under(results / "data") in ([], ["mnist"])


def test_truncated_gzip_of_an_idx_file_is_rejected(tmp_path, tiny) -> None:
    mirror = write_mirror(tmp_path / "mirror", tiny)
    labels = mirror / "mnist" / FILES["test_labels"]
    labels.write_bytes(labels.read_bytes()[:-12])
    results = tmp_path / "results"
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not a valid gzip") as info:
        download_dataset(_tiny_config(results, mirror))
    assert "\n" not in str(info.value)
    assert _files_under(results / "data") in ([], ["mnist"])


def test_wrong_array_checksum_is_rejected_and_nothing_written(tmp_path, tiny) -> None:
    # Well-formed IDX files whose arrays are not the tutorial's: only the array checksums can tell.
    mirror = write_mirror(tmp_path / "mirror", tiny)
    results = tmp_path / "results"
    with pytest.raises(DataError, match="do not match data.array_sha256") as info:
        download_dataset(_tiny_config(results, mirror))
    message = str(info.value)
    assert "\n" not in message
    assert all(f"{split} expected" in message for split in SPLITS)
    assert _files_under(results / "data") in ([], ["mnist"])


def test_a_mirror_with_neither_source_lists_both_failures(tmp_path) -> None:
    empty = tmp_path / "mirror"
    empty.mkdir()
    results = tmp_path / "results"
    with pytest.raises(DataError) as info:
        download_dataset(_config(results, empty))
    message = str(info.value)
    assert "\n" not in message
    assert "mnist.pkl.gz" in message and "IDX fallback failed" in message and FILES["train_images"] in message
    assert _files_under(results / "data") in ([], ["mnist"])
