"""Tests for dltutorials.data.download, using the local MNIST copy in shared/data (no internet)."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SHARED_DATA  # noqa: E402
from dltutorials.data.download import DataError, candidate_urls, download, fetch, sha256_of

MNIST_REL = "mnist/mnist.pkl.gz"
MNIST = SHARED_DATA / MNIST_REL
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
BAD_SHA256 = "0" * 64

needs_mnist = pytest.mark.skipif(not MNIST.is_file(), reason=f"local MNIST copy not found at {MNIST}")


def _closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def http_mirror() -> Iterator[str]:
    """Base URL of a loopback HTTP server serving the shared data directory."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data directory not found at {SHARED_DATA}")
    handler = functools.partial(_QuietHandler, directory=str(SHARED_DATA))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- candidate_urls ---------------------------------------------------------------------------


def test_candidate_urls_without_mirror_returns_urls_unchanged() -> None:
    urls = ["http://a.example/x.gz", "http://b.example/x.gz"]
    assert candidate_urls(urls, None, MNIST_REL) == urls
    assert candidate_urls(urls, "", MNIST_REL) == urls


def test_candidate_urls_directory_mirror_becomes_absolute_file_url(tmp_path: Path, monkeypatch) -> None:
    assert candidate_urls(["http://x"], str(tmp_path), MNIST_REL) == [(tmp_path / MNIST_REL).as_uri()]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    assert candidate_urls(["http://x"], "rel", MNIST_REL) == [(tmp_path.resolve() / "rel" / MNIST_REL).as_uri()]


@pytest.mark.parametrize(
    "mirror", ["file:///srv/data", "file:///srv/data/", "http://127.0.0.1:8000/data", "https://mirror.example/data/"]
)
def test_candidate_urls_url_mirrors(mirror: str) -> None:
    assert candidate_urls(["http://x"], mirror, MNIST_REL) == [mirror.rstrip("/") + "/" + MNIST_REL]


# --- successful downloads ---------------------------------------------------------------------


@needs_mnist
def test_download_from_directory_mirror(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "nested" / "mnist.pkl.gz"  # parents are created
    urls = candidate_urls(["http://unused.invalid/mnist.pkl.gz"], str(SHARED_DATA), MNIST_REL)
    assert download(urls, dest, MNIST_SHA256) == dest
    assert sha256_of(dest) == MNIST_SHA256
    assert sorted(p.name for p in dest.parent.iterdir()) == ["mnist.pkl.gz"]


@needs_mnist
def test_download_from_file_url(tmp_path: Path) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    urls = candidate_urls([], SHARED_DATA.as_uri(), MNIST_REL)
    assert urls[0].startswith("file://")
    download(urls, dest, MNIST_SHA256)
    assert sha256_of(dest) == MNIST_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.pkl.gz"]


@needs_mnist
def test_download_from_loopback_http(tmp_path: Path, http_mirror: str) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    urls = candidate_urls([], http_mirror, MNIST_REL)
    download(urls, dest, MNIST_SHA256, timeout=10)
    assert sha256_of(dest) == MNIST_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.pkl.gz"]


@needs_mnist
def test_first_url_fails_second_succeeds(tmp_path: Path, http_mirror: str) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    urls = [f"{http_mirror}/no/such/file.gz", f"{http_mirror}/{MNIST_REL}"]
    download(urls, dest, MNIST_SHA256, timeout=10)
    assert sha256_of(dest) == MNIST_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.pkl.gz"]


@needs_mnist
def test_existing_good_file_is_not_downloaded_again(tmp_path: Path) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    shutil.copyfile(MNIST, dest)
    before = dest.stat().st_mtime_ns
    # The only URL is unreachable: success proves nothing was fetched.
    assert download([f"http://127.0.0.1:{_closed_port()}/mnist.pkl.gz"], dest, MNIST_SHA256, timeout=5) == dest
    assert dest.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.pkl.gz"]


@needs_mnist
def test_existing_bad_file_is_replaced(tmp_path: Path) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    dest.write_bytes(b"stale partial content")
    download(candidate_urls([], str(SHARED_DATA), MNIST_REL), dest, MNIST_SHA256)
    assert sha256_of(dest) == MNIST_SHA256


@needs_mnist
def test_fetch_returns_the_url_used(tmp_path: Path, http_mirror: str) -> None:
    urls = [f"{http_mirror}/no/such/file.gz", f"{http_mirror}/{MNIST_REL}"]
    assert fetch(urls, tmp_path / "mnist.pkl.gz", MNIST_SHA256, timeout=10) == urls[1]


@needs_mnist
def test_without_checksum_the_file_is_fetched_and_never_trusted_as_is(tmp_path: Path) -> None:
    # sha256=None: no known file checksum (the caller verifies the content), so an existing file is replaced.
    dest = tmp_path / "mnist.pkl.gz"
    dest.write_bytes(b"stale content")
    assert download(candidate_urls([], str(SHARED_DATA), MNIST_REL), dest, None) == dest
    assert sha256_of(dest) == MNIST_SHA256


@needs_mnist
def test_without_checksum_a_truncated_gzip_is_still_rejected(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    (mirror / MNIST_REL).write_bytes(MNIST.read_bytes()[:1_000_000])
    dest_dir = tmp_path / "dest"
    with pytest.raises(DataError, match="not a valid gzip"):
        download(candidate_urls([], str(mirror), MNIST_REL), dest_dir / "mnist.pkl.gz", None)
    assert list(dest_dir.iterdir()) == []


# --- failures -----------------------------------------------------------------------------------


@needs_mnist
def test_wrong_checksum_raises_and_leaves_nothing(tmp_path: Path) -> None:
    dest_dir = tmp_path / "dest"
    urls = candidate_urls([], str(SHARED_DATA), MNIST_REL)
    with pytest.raises(DataError) as info:
        download(urls, dest_dir / "mnist.pkl.gz", BAD_SHA256)
    message = str(info.value)
    assert "\n" not in message
    assert "sha256 mismatch" in message
    assert BAD_SHA256 in message and MNIST_SHA256 in message
    assert urls[0] in message
    assert list(dest_dir.iterdir()) == []


@needs_mnist
def test_truncated_gzip_raises_and_leaves_nothing(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    truncated = mirror / MNIST_REL
    truncated.write_bytes(MNIST.read_bytes()[:1_000_000])
    real_sha = sha256_of(truncated)  # checksum matches, so only the gzip check can catch it
    dest_dir = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        download(candidate_urls([], str(mirror), MNIST_REL), dest_dir / "mnist.pkl.gz", real_sha)
    message = str(info.value)
    assert "\n" not in message
    assert "not a valid gzip" in message
    assert list(dest_dir.iterdir()) == []


def test_unreachable_mirror_raises(tmp_path: Path) -> None:
    dest_dir = tmp_path / "dest"
    urls = candidate_urls([], f"http://127.0.0.1:{_closed_port()}", MNIST_REL)
    with pytest.raises(DataError) as info:
        download(urls, dest_dir / "mnist.pkl.gz", MNIST_SHA256, timeout=5)
    message = str(info.value)
    assert "unreachable" in message and urls[0] in message
    assert "\n" not in message
    assert list(dest_dir.iterdir()) == []


def test_missing_file_in_directory_mirror_raises(tmp_path: Path) -> None:
    dest_dir = tmp_path / "dest"
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    with pytest.raises(DataError, match="not found") as info:
        download(candidate_urls([], str(empty_mirror), MNIST_REL), dest_dir / "mnist.pkl.gz", MNIST_SHA256)
    assert "mnist.pkl.gz" in str(info.value)
    assert list(dest_dir.iterdir()) == []


def test_missing_file_on_http_mirror_raises(tmp_path: Path, http_mirror: str) -> None:
    dest_dir = tmp_path / "dest"
    with pytest.raises(DataError, match="not found"):
        download([f"{http_mirror}/no/such/file.gz"], dest_dir / "file.gz", MNIST_SHA256, timeout=10)
    assert list(dest_dir.iterdir()) == []


def test_all_failures_are_listed(tmp_path: Path) -> None:
    urls = [f"http://127.0.0.1:{_closed_port()}/a.gz", (tmp_path / "missing.gz").as_uri()]
    with pytest.raises(DataError) as info:
        download(urls, tmp_path / "dest" / "a.gz", MNIST_SHA256, timeout=5)
    message = str(info.value)
    assert all(url in message for url in urls)
    assert "unreachable" in message and "not found" in message


def test_unsupported_scheme_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unsupported URL scheme 'ftp'"):
        download(["ftp://mirror.invalid/x.gz"], tmp_path / "dest" / "x.gz", MNIST_SHA256)
    assert list((tmp_path / "dest").iterdir()) == []


def test_empty_url_list_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no URLs"):
        download([], tmp_path / "x.gz", MNIST_SHA256)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    import dltutorials.data.download as mod

    def interrupted(*args, **kwargs):
        # Simulate Ctrl-C after the temp file was created and partly written.
        args[1].write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "_fetch", interrupted)
    dest_dir = tmp_path / "dest"
    with pytest.raises(KeyboardInterrupt):
        download(["file:///whatever.gz"], dest_dir / "x.gz", MNIST_SHA256)
    assert list(dest_dir.iterdir()) == []
