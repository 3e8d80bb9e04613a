"""The piano-roll datasets' download stage: a zip archive (the tutorial's) or a mirror folder with SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dltutorials.config import compose
from dltutorials.data.download import DataError
from dltutorials.data.split_folders import download_split_folders, extract_archive, read_manifest
from dltutorials.stages.music_data import download_piano_rolls, prepare_piano_rolls

COUNTS = {"train": 3, "valid": 2, "test": 1}


def make_mirror(folder: Path, counts=COUNTS) -> str:
    """A mirror folder of split folders with small fake .mid files and its SHA256SUMS; returns the manifest's hash."""
    lines = []
    for split, n in counts.items():
        (folder / split).mkdir(parents=True)
        for i in range(n):
            path = folder / split / f"tune {i}.mid"  # a space: URLs must be quoted
            path.write_bytes(f"{split} {i}".encode())
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  ./{split}/{path.name}\n")
    (folder / "SHA256SUMS").write_text("".join(lines))
    return hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()


def make_zip(path: Path, counts=COUNTS, top="Nottingham") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for split, n in counts.items():
            for i in range(n):
                archive.writestr(f"{top}/{split}/tune{i}.mid", f"{split} {i}")
        archive.writestr(f"{top}/readme.txt", "not a tune")
        archive.writestr(f"__MACOSX/{top}/train/._tune0.mid", "resource fork")
    return path


def listing(folder: Path) -> dict[str, list[str]]:
    return {split: sorted(p.name for p in (folder / split).iterdir()) for split in COUNTS}


def test_mirror_folder_is_copied_and_verified(tmp_path):
    manifest_sha = make_mirror(tmp_path / "mirror")
    source = download_split_folders([], None, tmp_path / "raw", suffix=".mid", expected=None,
                                    mirror_url=(tmp_path / "mirror").as_uri(), manifest_sha256=manifest_sha)
    assert listing(tmp_path / "raw") == listing(tmp_path / "mirror")
    assert (tmp_path / "raw" / "train" / "tune 0.mid").read_bytes() == b"train 0"
    assert source["manifest_sha256"] == manifest_sha
    assert json.loads((tmp_path / "raw" / "source.json").read_text())["source"] == (tmp_path / "mirror").as_uri()


def test_mirror_with_a_changed_file_leaves_nothing(tmp_path):
    manifest_sha = make_mirror(tmp_path / "mirror")
    (tmp_path / "mirror" / "valid" / "tune 1.mid").write_bytes(b"tampered")
    with pytest.raises(DataError, match=r"tune%201\.mid.*sha256 mismatch"):
        download_split_folders([], None, tmp_path / "raw", suffix=".mid", expected=None,
                               mirror_url=(tmp_path / "mirror").as_uri(), manifest_sha256=manifest_sha)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror"]  # no raw/, no .part folder


def test_mirror_with_another_manifest_is_refused(tmp_path):
    make_mirror(tmp_path / "mirror")
    with pytest.raises(DataError, match="SHA256SUMS.*sha256 mismatch"):
        download_split_folders([], None, tmp_path / "raw", suffix=".mid", expected=None,
                               mirror_url=(tmp_path / "mirror").as_uri(), manifest_sha256="0" * 64)


@pytest.mark.parametrize("line", ["abc  ./train/x.mid", f"{'0' * 64}  ./other/x.mid", f"{'0' * 64}  ../x.mid"])
def test_manifest_lines_outside_the_split_folders_are_refused(tmp_path, line):
    (tmp_path / "SHA256SUMS").write_text(line + "\n")
    with pytest.raises(DataError, match="line 1"):
        read_manifest(tmp_path / "SHA256SUMS")


def test_archive_split_folders_are_extracted_at_any_depth(tmp_path):
    counts = extract_archive(make_zip(tmp_path / "n.zip"), tmp_path / "raw", ".mid", COUNTS)
    assert counts == COUNTS
    assert listing(tmp_path / "raw") == {split: [f"tune{i}.mid" for i in range(n)] for split, n in COUNTS.items()}
    manifest = read_manifest(tmp_path / "raw" / "SHA256SUMS")  # written for what was extracted
    assert len(manifest) == sum(COUNTS.values())
    record = json.loads((tmp_path / "raw" / "source.json").read_text())
    assert record["archive_sha256"] == hashlib.sha256((tmp_path / "n.zip").read_bytes()).hexdigest()


def test_archive_with_other_tune_counts_is_refused(tmp_path):
    with pytest.raises(DataError, match="expected .* found"):
        extract_archive(make_zip(tmp_path / "n.zip"), tmp_path / "raw", ".mid", {**COUNTS, "valid": 173})
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("expected", [None, {"train": 2, "valid": 1, "test": 1}])  # counts that would pass
@pytest.mark.parametrize("second", ["nottingham/more/train/a.mid", "nottingham/more/train/A.mid"])
def test_archive_with_one_tune_name_twice_in_a_split_is_refused(tmp_path, second, expected):
    """Folders are flattened to <split>/<name>: a second a.mid (or A.mid) deeper down would replace the first."""
    archive = tmp_path / "n.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for split in COUNTS:
            zipped.writestr(f"nottingham/{split}/a.mid", f"{split} a")  # one name in every split is fine
        zipped.writestr(second, "another a")
    message = (f"{archive}: train/{second.rpartition('/')[2]} is in the archive twice (nottingham/train/a.mid and "
               f"{second}): one tune would silently replace the other")
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        extract_archive(archive, tmp_path / "raw", ".mid", expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.zip"], "no raw/, no .part folder"


def test_archive_without_a_split_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="no .mid file in split folder.*test"):
        extract_archive(make_zip(tmp_path / "n.zip", {"train": 2, "valid": 1, "test": 0}), tmp_path / "raw",
                        ".mid", None)


def test_not_a_zip_is_a_clear_error(tmp_path):
    (tmp_path / "n.zip").write_bytes(b"<html>moved</html>")
    with pytest.raises(DataError, match="not a zip archive"):
        extract_archive(tmp_path / "n.zip", tmp_path / "raw", ".mid", None)


def test_archive_urls_are_tried_in_order(tmp_path):
    good = make_zip(tmp_path / "good.zip")
    source = download_split_folders([(tmp_path / "missing.zip").as_uri(), good.as_uri()], None, tmp_path / "raw",
                                    suffix=".mid", expected=COUNTS)
    assert source["source"] == good.as_uri()
    assert listing(tmp_path / "raw")["train"] == ["tune0.mid", "tune1.mid", "tune2.mid"]
    assert not (tmp_path / "raw.zip").exists()  # the archive itself is not kept


def test_every_failure_is_listed(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"junk")
    with pytest.raises(DataError, match=r"missing\.zip.*not found.*bad\.zip.*not a zip"):
        download_split_folders([(tmp_path / "missing.zip").as_uri(), bad.as_uri()], None, tmp_path / "raw",
                               suffix=".mid", expected=None)


def test_nottingham_stages_from_the_shared_mirror(tmp_path, shared_data):
    """The configured dataset end to end: the shared copy (694/170/170 tunes) through download and prepare."""
    cfg = compose(["data=nottingham", f"paths.data_dir={tmp_path}", f"data.mirror={shared_data}"])
    download_piano_rolls(cfg.data)
    prepared = prepare_piano_rolls(cfg.data)
    tunes = {split: len(np.load(path)["offsets"]) - 1 for split, path in prepared.items()}
    assert tunes == {"train": 694, "valid": 170, "test": 170}
