"""Piano-roll dataset stages (the RNN-RBM's tunes): ``python -m dltutorials.stages.music_data {download,prepare}``.

    python -m dltutorials.stages.music_data download data=nottingham   # the MIDI split folders
    python -m dltutorials.stages.music_data download data=jsb_chorales # exported from music21's corpus
    python -m dltutorials.stages.music_data prepare data=nottingham    # one .npz of piano rolls per split

Apart from ``stages.data`` (the images), so that the image models' results do not depend on the MIDI code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import DictConfig

from dltutorials import stages
from dltutorials.config import ConfigError
from dltutorials.data.corpus import export_corpus
from dltutorials.data.download import candidate_urls
from dltutorials.data.midi import prepare_split
from dltutorials.data.split_folders import SPLITS, download_split_folders


def download_piano_rolls(data: DictConfig) -> Path:
    """Fetch the MIDI split folders into ``data.raw_dir``: from the mirror folder if set, else the archive URLs;
    for a dataset with a ``corpus`` section (the Bach chorales), export them from the music21 corpus instead."""
    if data.get("corpus") is not None:
        source = export_corpus(Path(data.raw_dir), **data.corpus, split=data.split,
                               skip_bad_files=data.skip_bad_files)
    else:
        mirror = candidate_urls([], data.mirror, data.mirror_path)
        source = download_split_folders(list(data.urls), data.sha256, Path(data.raw_dir), suffix=".mid",
                                        expected=data.archive_tunes, mirror_url=mirror[0] if mirror else None,
                                        manifest_sha256=data.manifest_sha256)
    print(f"{data.raw_dir}: source {source['source']}")
    return Path(data.raw_dir)


def prepare_piano_rolls(data: DictConfig) -> dict[str, Path]:
    """One ``<prepared_dir>/<split>.npz`` of piano rolls per split folder of ``data.raw_dir``."""
    outputs = {}
    for split in SPLITS:
        outputs[split] = Path(data.prepared_dir) / f"{split}.npz"
        counts = prepare_split(Path(data.raw_dir) / split, outputs[split], data.dt, tuple(data.note_range),
                               data.skip_bad_files, data.frames_per_quarter_note, data.minor_key)
        print(f"{split}: {counts['tunes']} tunes, {counts['frames']} frames, {counts['skipped']} skipped")
    return outputs


def run(cfg: DictConfig, folder: None, step: str) -> dict:
    """One step on ``cfg.data``, a piano-roll dataset: what it wrote, by name."""
    if cfg.data.get("kind") != "piano_roll":
        raise ConfigError(f"data={cfg.data.name} is not a piano-roll dataset: "
                          f"python -m dltutorials.stages.data {step} data={cfg.data.name}")
    if step == "download":
        return {"raw": download_piano_rolls(cfg.data)}  # prints which source it used
    return prepare_piano_rolls(cfg.data)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("step", choices=["download", "prepare"])


def main() -> None:
    stages.main(__doc__, run, lambda paths: "\n".join(f"{name}: {path}" for name, path in paths.items()),
                arguments=arguments, run_folder=False)


if __name__ == "__main__":
    main()
