"""Datasets that come as ``train/``, ``valid/``, ``test/`` folders of files (the Nottingham MIDI tunes).

Two kinds of source, each written atomically into one directory:

- a zip archive (the tutorial's ``Nottingham.zip``): the files are taken from
  the ``train``, ``valid`` and ``test`` folders wherever they sit inside it;
  with no published checksum the archive is checked by its contents (the
  tune counts of the config) and its SHA-256 is recorded;
- a mirror folder holding the same layout and a ``SHA256SUMS`` manifest
  (``../shared/data/nottingham``, a directory, ``file://`` or ``http://``):
  the manifest is verified against the config's checksum and every file
  against the manifest.

Either way the result holds ``<split>/<name>`` files, a ``SHA256SUMS`` of
exactly those files and ``source.json`` naming where they came from.
"""

from __future__ import annotations

import json
import urllib.parse
import zipfile
from pathlib import Path, PurePosixPath

from dltutorials.atomic import atomic_directory, atomic_path
from dltutorials.data.download import DataError, fetch, sha256_of

SPLITS = ("train", "valid", "test")
MANIFEST = "SHA256SUMS"


def read_manifest(path: Path) -> list[tuple[str, str]]:
    """(sha256, "split/name") pairs of a ``sha256sum`` listing, each path checked to be a file of a split folder."""
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        relative = PurePosixPath(name.removeprefix("./"))
        if len(digest) != 64 or len(relative.parts) != 2 or relative.parts[0] not in SPLITS:
            raise DataError(f"{path}: line {number} is not '<sha256>  ./<train|valid|test>/<file>': {line!r}")
        entries.append((digest.lower(), str(relative)))
    if not entries:
        raise DataError(f"{path}: no file listed")
    return entries


def write_manifest(folder: Path) -> int:
    """Write ``folder/SHA256SUMS`` for every file of its split folders; returns the number of files."""
    files = sorted(path for split in SPLITS for path in (folder / split).glob("*") if path.is_file())
    lines = [f"{sha256_of(path)}  ./{path.relative_to(folder).as_posix()}\n" for path in files]
    (folder / MANIFEST).write_text("".join(lines))
    return len(files)


def fetch_mirror_folder(base_url: str, destination: Path, manifest_sha256: str, timeout: float = 60.0) -> int:
    """Copy a mirror folder (``base_url``/SHA256SUMS and the files it lists) into ``destination``.

    ``manifest_sha256`` vouches for the manifest, the manifest for each file.
    Returns the number of files.
    """
    base = base_url.rstrip("/")
    with atomic_directory(destination) as tmp:
        fetch([f"{base}/{MANIFEST}"], tmp / MANIFEST, manifest_sha256, timeout)
        entries = read_manifest(tmp / MANIFEST)
        for digest, relative in entries:
            fetch([f"{base}/{urllib.parse.quote(relative)}"], tmp / relative, digest, timeout)
        write_source(tmp, {"source": base_url, "manifest_sha256": manifest_sha256})
    return len(entries)


def extract_archive(archive: Path, destination: Path, suffix: str, expected: dict[str, int] | None) -> dict:
    """Unpack the ``*<suffix>`` files of the archive's split folders into ``destination/<split>/``.

    A file counts when its parent folder is named ``train``, ``valid`` or
    ``test``, at any depth (the tutorial's zip has ``Nottingham/train/...``).
    Folders are flattened, so a file name (case aside) may appear once per split.
    ``expected`` tune counts per split, when given, must match. Returns the counts.
    """
    try:
        with zipfile.ZipFile(archive) as zipped, atomic_directory(destination) as tmp:
            counts = dict.fromkeys(SPLITS, 0)
            members = {}  # (split, case-folded name) -> the member extracted there
            for member in zipped.infolist():
                path = PurePosixPath(member.filename)
                if member.is_dir() or not path.name.lower().endswith(suffix) or len(path.parts) < 2:
                    continue
                split = path.parts[-2]
                if split not in SPLITS or path.name.startswith("."):
                    continue
                # folders are flattened, so one name twice in a split would silently keep one tune; names that
                # differ in case only are refused too: they would overwrite each other on a case-blind disk
                first = members.setdefault((split, path.name.casefold()), member)
                if first is not member:
                    raise DataError(f"{archive}: {split}/{path.name} is in the archive twice ({first.filename} and "
                                    f"{member.filename}): one tune would silently replace the other")
                target = tmp / split / path.name  # never a path from the archive: no '..' can escape
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(zipped.read(member))
                counts[split] += 1
            if expected is not None and counts != {split: int(expected[split]) for split in SPLITS}:
                raise DataError(f"{archive}: expected {dict(expected)} {suffix} files per split, found {counts}")
            if not all(counts.values()):
                raise DataError(f"{archive}: no {suffix} file in split folder(s) "
                                f"{', '.join(split for split in SPLITS if not counts[split])}")
            write_manifest(tmp)
            write_source(tmp, {"source": str(archive), "archive_sha256": sha256_of(archive), "counts": counts})
    except zipfile.BadZipFile as error:
        raise DataError(f"{archive}: not a zip archive ({error})") from None
    return counts


def download_split_folders(urls: list[str], sha256: str | None, destination: Path, *, suffix: str,
                           expected: dict[str, int] | None, mirror_url: str | None = None,
                           manifest_sha256: str | None = None, timeout: float = 60.0) -> dict:
    """Fill ``destination`` from the mirror folder when one is given, else from the first archive URL that works.

    Returns what ``source.json`` records. Raises :class:`DataError` listing every failure.
    """
    destination = Path(destination)
    if mirror_url:
        if not manifest_sha256:
            raise DataError(f"a mirror folder needs the SHA-256 of its {MANIFEST} (data.manifest_sha256)")
        fetch_mirror_folder(mirror_url, destination, manifest_sha256, timeout)
        return read_source(destination)
    failures = []
    archive = destination.with_name(destination.name + ".zip")
    for url in urls:
        try:
            fetch([url], archive, sha256, timeout)
            extract_archive(archive, destination, suffix, expected)
        except DataError as error:
            failures.append(str(error) if url in str(error) else f"{url}: {error}")
            continue
        finally:
            archive.unlink(missing_ok=True)
        source = {**read_source(destination), "source": url}
        write_source(destination, source)
        return source
    raise DataError(f"could not download {destination}: " + "; ".join(failures or ["no URLs given"]))


def write_source(folder: Path, record: dict) -> None:
    with atomic_path(folder / "source.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def read_source(folder: Path) -> dict:
    return json.loads((Path(folder) / "source.json").read_text())
