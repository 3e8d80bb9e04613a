"""Dataset stages: ``python -m dltutorials.stages.data {download,prepare} [overrides...]``.

    python -m dltutorials.stages.data download data=mnist
    python -m dltutorials.stages.data prepare data=mnist paths.data_dir=results/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import DictConfig

from dltutorials.config import compose
from dltutorials.data.download import DataError, candidate_urls, download
from dltutorials.data.prepare import prepare_pickle


def download_dataset(cfg: DictConfig) -> Path:
    """Fetch ``data.raw_file`` from the mirror or the configured URLs, checking its SHA-256."""
    data = cfg.data
    urls = candidate_urls(list(data.urls), data.mirror, data.mirror_path)
    return download(urls, Path(data.raw_file), data.sha256)


def prepare_dataset(cfg: DictConfig) -> dict[str, Path]:
    """Check the raw file and write ``<prepared_dir>/{train,valid,test}.npz``."""
    data = cfg.data
    return prepare_pickle(Path(data.raw_file), Path(data.prepared_dir), dict(data.sizes),
                          data.n_features, data.n_classes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["download", "prepare"])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=mnist")
    args = parser.parse_args(argv)
    cfg = compose(args.overrides)
    try:
        if args.stage == "download":
            print(f"downloaded {download_dataset(cfg)}")
        else:
            for split, path in prepare_dataset(cfg).items():
                print(f"{split}: {path}")
    except DataError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
