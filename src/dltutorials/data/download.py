"""Fetch a data file from a list of URLs (or a local mirror) with SHA-256 verification.

Downloads stream into a temporary file beside the destination, are checked
(checksum, and gzip integrity for ``.gz`` files) and only then moved into place
with :func:`os.replace`, so the destination is either absent or complete.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from dltutorials.atomic import atomic_path

__all__ = ["DataError", "candidate_urls", "sha256_of", "fetch", "download"]

_CHUNK = 1 << 20


class DataError(RuntimeError):
    """A data file could not be obtained or failed validation (one-line message)."""


class _Rejected(Exception):
    """One URL failed; the reason is collected and the next URL tried."""


def one_line(text: object) -> str:
    """Collapse whitespace so an error message stays on one line."""
    return " ".join(str(text).split())


def candidate_urls(urls: list[str], mirror: str | None, mirror_path: str) -> list[str]:
    """Return the URLs to try: ``urls`` itself, or only the mirror location if one is set.

    ``mirror`` may be a local directory (absolute or relative), a ``file://`` URL or an
    ``http(s)://`` URL; ``mirror_path`` (e.g. ``"mnist/mnist.pkl.gz"``) is joined onto it.
    """
    if not mirror:
        return list(urls)
    relative = mirror_path.lstrip("/")
    scheme = urllib.parse.urlsplit(mirror).scheme.lower()
    if scheme in ("file", "http", "https"):
        return [mirror.rstrip("/") + "/" + urllib.parse.quote(relative)]
    return [(Path(mirror).expanduser().resolve() / relative).as_uri()]


def sha256_of(path: Path | str) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_gzip(path: Path) -> str | None:
    """Return None if ``path`` decompresses fully, else a short reason."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(_CHUNK):
                pass
    except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
        return f"not a valid gzip: {one_line(exc) or type(exc).__name__}"
    return None


def _fetch(url: str, tmp_path: Path, sha256: str | None, timeout: float, check_gzip: bool) -> str | None:
    """Stream ``url`` into ``tmp_path`` and validate it; return None or a failure reason.

    ``sha256=None`` skips the file checksum (the caller verifies the content); the gzip check still runs.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("file", "http", "https"):
        return f"unsupported URL scheme {scheme!r} (expected file, http or https)"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp_path, "wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return "not found (HTTP 404)"
        return f"HTTP error {exc.code}: {one_line(exc.reason)}"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):
            return "not found"
        return f"unreachable: {one_line(exc.reason)}"
    except (OSError, ValueError) as exc:  # timeouts, resets, bad URLs
        return f"unreachable: {one_line(exc) or type(exc).__name__}"

    if sha256 is not None:
        actual = sha256_of(tmp_path)
        if actual != sha256.lower():
            return f"sha256 mismatch: expected {sha256.lower()}, got {actual}"
    if check_gzip:
        return _check_gzip(tmp_path)
    return None


def fetch(
    urls: list[str], destination: Path, sha256: str | None, timeout: float = 60.0, label: str | None = None
) -> str:
    """Download the first URL that passes the checks to ``destination`` and return that URL.

    Always downloads (see :func:`download` for reusing a good existing file); the caller learns which
    source was used, to record it. ``sha256=None`` means the file has no known checksum and the
    caller verifies its content. Raises :class:`DataError` listing every URL's failure if none works;
    ``label`` replaces "<name> to <destination>" there (e.g. when the destination is a temporary file).
    """
    destination = Path(destination)
    label = label or f"{destination.name} to {destination}"
    if not urls:
        raise DataError(f"no URLs given to download {label}")
    destination.parent.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    for url in urls:
        try:
            with atomic_path(destination) as tmp:
                reason = _fetch(url, tmp, sha256, timeout, destination.name.endswith(".gz"))
                if reason is not None:
                    raise _Rejected(reason)
            return url
        except _Rejected as rejected:
            failures.append(f"{url}: {rejected}")

    raise DataError(f"could not download {label}: " + "; ".join(failures))


def download(urls: list[str], destination: Path, sha256: str | None, timeout: float = 60.0) -> Path:
    """Download the first URL whose content matches ``sha256`` to ``destination``.

    Returns ``destination`` immediately if it already exists with the right checksum (never when
    ``sha256`` is None: nothing could vouch for an existing file). Raises :class:`DataError` listing
    every URL's failure if none works.
    """
    destination = Path(destination)
    if urls and sha256 is not None and destination.is_file() and sha256_of(destination) == sha256.lower():
        return destination
    fetch(urls, destination, sha256, timeout)
    return destination
