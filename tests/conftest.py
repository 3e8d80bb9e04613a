"""Shared fixtures: the tutorial's data beside the checkout (../shared/data), prepared once."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dltutorials.config import PROJECT_ROOT

# The tutorial's data: ../shared/data beside the checkout (as CI lays it out), or DLTUTORIALS_TEST_DATA.
SHARED_DATA = Path(os.environ.get("DLTUTORIALS_TEST_DATA", PROJECT_ROOT.parent / "shared" / "data"))
MNIST_MIRROR = SHARED_DATA / "mnist" / "mnist.pkl.gz"
MISSING_DATA = f"tutorial data not found at {SHARED_DATA} (CI lays shared/ beside the checkout)"


def pytest_sessionstart(session):
    """In CI (CI=true) missing data fails the run: skipping most tests would leave it green."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and not MNIST_MIRROR.is_file():
        pytest.exit(f"CI: {MISSING_DATA}", returncode=1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not MNIST_MIRROR.is_file():
        pytest.skip(MISSING_DATA)
    return SHARED_DATA


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory, shared_data) -> Path:
    """A results directory holding the downloaded and prepared MNIST, made through the real stages."""
    from dltutorials.config import compose
    from dltutorials.stages.data import download_dataset, prepare_dataset

    results = tmp_path_factory.mktemp("results")
    cfg = compose([f"paths.results_dir={results}", f"data.mirror={shared_data}"])
    download_dataset(cfg)
    prepare_dataset(cfg)
    return results


@pytest.fixture(autouse=True)
def _no_mirror_from_environment(monkeypatch):
    """Tests say where data comes from; a developer's DLTUTORIALS_DATA_MIRROR must not leak in."""
    monkeypatch.delenv("DLTUTORIALS_DATA_MIRROR", raising=False)
    yield
    os.environ.pop("DLTUTORIALS_DATA_MIRROR", None)


SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(PROJECT_ROOT / "Snakefile"), "--cores", "2"]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in ``workdir``; fail the test with its output if it fails."""
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def mirror_url(shared_data):
    """An HTTP server on loopback serving ../shared/data, as a mirror would."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mirror_url):
    """The default target of the workflow on the tiny preset, downloading over loopback HTTP.

    DLTUTORIALS_TINY_WORKDIR=<folder> keeps the workflow's folder between test runs (a developer's
    shortcut: only what changed since is rebuilt); by default each session starts from nothing.
    """
    kept = os.environ.get("DLTUTORIALS_TINY_WORKDIR")
    workdir = Path(kept) if kept else tmp_path_factory.mktemp("workflow")
    workdir.mkdir(parents=True, exist_ok=True)
    snakemake(workdir, "--config", "preset=tiny", f"data_mirror={mirror_url}")
    return workdir, mirror_url
