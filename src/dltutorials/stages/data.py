"""Image dataset stages: ``python -m dltutorials.stages.data {download,prepare,binarize} [overrides...]``.

    python -m dltutorials.stages.data download data=mnist
    python -m dltutorials.stages.data prepare data=mnist paths.data_dir=results/data
    python -m dltutorials.stages.data binarize data=mnist_binarized   # from mnist's prepared splits

Piano rolls (data=nottingham) are ``stages.music_data``'s, so that the image models' results do not depend on
the MIDI code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import DictConfig

from dltutorials import stages
from dltutorials.atomic import write_json
from dltutorials.config import ConfigError
from dltutorials.data.download import DataError, candidate_urls, fetch, sha256_of
from dltutorials.data.idx import IDX_FILES, build_from_idx, pickle_matches
from dltutorials.data.prepare import binarize_splits, prepare_pickle


def source_file(raw_file: Path) -> Path:
    """The sidecar recording where ``raw_file`` came from: ``<raw_file>.source.json``."""
    return raw_file.with_name(raw_file.name + ".source.json")


def _is_present(raw_file: Path, data: DictConfig) -> bool:
    """Whether ``raw_file`` is already good: its SHA-256 matches, or (rebuilt from IDX) its arrays do."""
    if not raw_file.is_file():
        return False
    if sha256_of(raw_file) == str(data.sha256).lower():
        return True
    return data.get("array_sha256") is not None and pickle_matches(raw_file, dict(data.array_sha256))


def _idx_urls(data: DictConfig) -> dict[str, list[str]]:
    """URLs to try for each IDX file: under each base URL, or only beside ``mirror_path`` on a mirror."""
    mirror_dir = data.mirror_path.rpartition("/")[0]
    urls = {}
    for role in IDX_FILES:
        name = data.idx.files[role]
        bases = [base.rstrip("/") + "/" + name for base in data.idx.base_urls]
        urls[role] = candidate_urls(bases, data.mirror, f"{mirror_dir}/{name}" if mirror_dir else name)
    return urls


def _from_idx(data: DictConfig, raw_file: Path, pickle_error: DataError) -> list[str]:
    """Rebuild ``raw_file`` from the IDX files; on failure report both the pickle's and the IDX's errors."""
    if data.get("array_sha256") is None:
        raise DataError(f"{pickle_error}; no IDX fallback: data.idx needs data.array_sha256 to verify it")
    print(f"{pickle_error}; falling back to the IDX files", flush=True)
    try:
        return build_from_idx(_idx_urls(data), raw_file, dict(data.sizes), data.n_features, dict(data.array_sha256))
    except DataError as idx_error:
        raise DataError(f"{pickle_error}; IDX fallback failed: {idx_error}") from idx_error


def _images(cfg: DictConfig, step: str) -> DictConfig:
    """``cfg.data``, an image dataset; a piano-roll dataset is refused with the stage that takes it."""
    if cfg.data.get("kind") == "piano_roll":
        raise ConfigError(f"data={cfg.data.name} is a piano-roll dataset: "
                          f"python -m dltutorials.stages.music_data {step} data={cfg.data.name}")
    return cfg.data


def download_dataset(cfg: DictConfig) -> Path:
    """Fetch ``data.raw_file``: the configured URLs (or the mirror) in order, then the IDX fallback.

    An existing good file is kept. The source used is printed (the rule's log) and written to
    ``<raw_file>.source.json`` so a user can see where the data came from.
    """
    data = _images(cfg, "download")
    raw_file = Path(data.raw_file)
    if _is_present(raw_file, data):
        print(f"{raw_file}: already present and verified, not downloaded again")
        return raw_file
    try:
        source = fetch(candidate_urls(list(data.urls), data.mirror, data.mirror_path), raw_file, data.sha256)
        files = [source]
    except DataError as pickle_error:
        if data.get("idx") is None:
            raise
        files = _from_idx(data, raw_file, pickle_error)
        source = "idx"
    write_json(source_file(raw_file), {"source": source, "files": files})
    print(f"{raw_file}: source {source}" + (f" ({', '.join(files)})" if source == "idx" else ""))
    return raw_file


def prepare_dataset(cfg: DictConfig) -> dict[str, Path]:
    """Check the raw file and write ``<prepared_dir>/{train,valid,test}.npz``."""
    data = _images(cfg, "prepare")
    return prepare_pickle(Path(data.raw_file), Path(data.prepared_dir), dict(data.sizes),
                          data.n_features, data.n_classes)


def run(cfg: DictConfig, folder: None, step: str) -> dict:
    """One step on ``cfg.data``: what it wrote, by name."""
    if step == "download":
        return {"raw": download_dataset(cfg)}  # prints which source it used
    if step == "binarize":
        if cfg.data.get("binarized_from") is None:
            raise ConfigError(f"data={cfg.data.name} has no binarized_from: nothing to binarise")
        return binarize_splits(Path(cfg.data.source_dir), Path(cfg.data.prepared_dir), cfg.data.binarize_seed)
    return prepare_dataset(cfg)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("step", choices=["download", "prepare", "binarize"])


def main() -> None:
    stages.main(__doc__, run, lambda paths: "\n".join(f"{name}: {path}" for name, path in paths.items()),
                arguments=arguments, run_folder=False)


if __name__ == "__main__":
    main()
