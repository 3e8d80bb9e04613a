"""Pretrain the RNN-RBM's W, b_v, b_h as an independent RBM on shuffled frames (tutorial section 12.4).

    python -m dltutorials.stages.music_pretrain rnnrbm_variant=improved preset=quick

With every recurrent weight zero, each frame's RBM is one and the same RBM, so
the project's RBM (models/rbm.py, CD-k) trains it on the training frames,
shuffled once with the run's seed (frames of a tune are far from independent
in order). Writes ``<run_dir>/rbm/``: ``layer.pt`` (its W, b_h, b_v and the
settings that made it, written last) and ``epochs.csv``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from dltutorials import stages
from dltutorials.config import ConfigError, validate_music
from dltutorials.data.datamodule import UnlabelledDataModule
from dltutorials.data.tunes import TuneDataModule
from dltutorials.fields import PositiveFloat, PositiveInt
from dltutorials.fingerprints import music_pretraining_settings
from dltutorials.models.rbm import RBM
from dltutorials.stages.pretrain import EpochCosts
from dltutorials.training.layers import save_layer


@dataclass(frozen=True)
class RBMPretraining:
    """``model.pretrain_rbm`` (null: no pretraining): the RBM's CD-k training on the shuffled frames."""

    learning_rate: PositiveFloat
    cd_k: PositiveInt
    batch_size: PositiveInt
    epochs: PositiveInt


def rbm_file(run_dir: str | Path) -> Path:
    return Path(run_dir) / "rbm" / "layer.pt"


def pretrain(cfg: DictConfig, run_dir: str | Path | None = None) -> dict:
    """Train the RBM of ``model.pretrain_rbm`` and save it; returns its summary."""
    plain = validate_music(cfg)
    settings = plain["model"]["pretrain_rbm"]
    if settings is None:
        raise ConfigError("model.pretrain_rbm is null: this run starts from random weights, nothing to pretrain "
                          "(rnnrbm_variant=improved pretrains)")
    out = rbm_file(run_dir or cfg.paths.run_dir).parent
    stages.start(cfg)
    tunes = TuneDataModule(cfg.data.prepared_dir, cfg.model.train_subset, cfg.data.transposed).training_tunes
    frames = torch.cat(tunes)[torch.randperm(sum(len(tune) for tune in tunes))]
    datamodule = UnlabelledDataModule(frames, settings["batch_size"])
    low, high = plain["data"]["note_range"]
    rbm = RBM(high - low, plain["model"]["module"]["n_hidden"], settings["learning_rate"], settings["cd_k"])
    costs = EpochCosts(label="RNN-RBM pretraining (reconstruction cost)")
    trainer = instantiate(cfg.trainer, max_epochs=settings["epochs"], callbacks=[costs],
                          logger=instantiate(cfg.logger, save_dir=str(out)))
    start = time.perf_counter()
    trainer.fit(rbm, datamodule=datamodule)
    summary = {"class": "RBM", "frames": len(frames), "epochs": len(costs.rows), "final_cost": costs.rows[-1]["cost"],
               "pretrain_seconds": round(time.perf_counter() - start, 2),
               "fingerprint": music_pretraining_settings(plain)}
    costs.write_csv(out / "epochs.csv")
    # config.yaml, then the layer's file last: its presence marks a finished pretraining
    return stages.finish(out, plain, summary, summary["fingerprint"],
                         last=lambda result: save_layer(out / "layer.pt", rbm, result))


def main() -> None:
    stages.main(__doc__, pretrain, lambda summary: f"RBM on {summary['frames']} shuffled frames: reconstruction "
                f"cost {summary['final_cost']:.3f} after {summary['epochs']} epochs, "
                f"{summary['pretrain_seconds']:.0f} s", config_name="rnnrbm")


if __name__ == "__main__":
    main()
