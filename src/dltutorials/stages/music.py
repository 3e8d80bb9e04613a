"""Train the RNN-RBM on piano rolls (tutorial chapter 12), evaluate it and generate music.

    python -m dltutorials.stages.music                          # the tutorial's run: Nottingham, 200 epochs
    python -m dltutorials.stages.music preset=quick seed=2
    python -m dltutorials.stages.music model.module.learning_rate=0.01 model.epochs=20

Writes into Hydra's output directory (Snakemake passes
``results/runs/<preset>/rnnrbm/<dataset>/seed<N>``): ``epochs.csv`` (the
tutorial's printed monitor and the seconds of every epoch), ``model.ckpt``,
``samples.npz`` and ``sample<i>.mid`` (generated piano rolls), ``config.yaml``
and, last, ``metrics.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from dltutorials import stages
from dltutorials.atomic import atomic_path
from dltutorials.config import ConfigError, validate_music
from dltutorials.data.midi import write_midi
from dltutorials.data.tunes import TuneDataModule
from dltutorials.fields import Count
from dltutorials.fingerprints import differences, music_pretraining_settings, music_settings
from dltutorials.models.rnnrbm import RNNRBM
from dltutorials.results import rnnrbm_tutorial_trace
from dltutorials.stages.music_pretrain import rbm_file
from dltutorials.stages.pretrain import EpochCosts
from dltutorials.training.layers import load_layer


@dataclass(frozen=True)
class MusicTraining:
    """The ``model`` section of conf/rnnrbm.yaml: the RNN-RBM (``module``, the arguments of ``RNNRBM``), its
    epochs, the first ``train_subset`` tunes only (null: all), and the RBM it may start from
    (``pretrain_rbm``, ``stages.music_pretrain.RBMPretraining``; null: none)."""

    name: str
    module: dict
    epochs: Count
    train_subset: Count | None = None
    pretrain_rbm: dict | None = None


@dataclass(frozen=True)
class Evaluation:
    """``evaluation``: the Gibbs steps of each frame's prediction; the first ``eval_subset`` tunes (null: all)."""

    gibbs_steps: Count
    eval_subset: Count | None = None


@dataclass(frozen=True)
class Generation:
    """``generation``: ``n_samples`` sequences of ``n_frames`` frames, each drawn by ``gibbs_steps`` steps."""

    n_samples: Count
    n_frames: Count
    gibbs_steps: Count


def evaluate_split(model: RNNRBM, tunes: list[torch.Tensor], gibbs_steps: int) -> dict:
    """The training monitor (mean over subsequences) and the expected frame-level accuracy on ``tunes``.

    Each tune is cut into subsequences of ``model.sequence_length`` frames,
    each starting from u_0, exactly as in training, so the valid and test
    monitors compare with the training one. ACC = TP / (TP + FP + FN) summed
    over every frame (Bay et al. 2009, as Boulanger-Lewandowski et al. 2012).
    """
    monitors, tp, fp, fn = [], 0, 0, 0
    model.eval()
    with torch.no_grad():
        for tune in tunes:
            for piece in model.subsequences(tune.to(model.device)):
                result = model.evaluate(piece, gibbs_steps)
                monitors.append(float(result["monitor"]))
                tp, fp, fn = tp + int(result["tp"]), fp + int(result["fp"]), fn + int(result["fn"])
    return {"monitor": float(np.mean(monitors)), "accuracy": tp / max(tp + fp + fn, 1),
            "subsequences": len(monitors), "frames": sum(len(tune) for tune in tunes)}


def pretrained_rbm(plain: dict, run_dir: Path) -> SimpleNamespace:
    """The RBM ``stages.music_pretrain`` trained for this run, refused if made with other settings."""
    path = rbm_file(run_dir)
    layer = load_layer(path)
    changed = differences(layer.info.get("fingerprint", {}), music_pretraining_settings(plain))
    if changed:
        raise ConfigError(f"{path} was pretrained with other settings ({', '.join(changed)} differ); "
                          f"pretrain again with python -m dltutorials.stages.music_pretrain (same overrides)")
    return layer


def run(cfg: DictConfig, out_dir: str | Path | None = None) -> dict:
    """Train, evaluate and generate; returns the result row (also ``metrics.json``)."""
    plain = validate_music(cfg)
    run_dir = Path(out_dir or cfg.paths.run_dir)
    stages.start(cfg)
    low, high = plain["data"]["note_range"]
    datamodule = TuneDataModule(cfg.data.prepared_dir, cfg.model.train_subset, cfg.data.transposed)
    model = instantiate(cfg.model.module, n_visible=high - low)
    rbm = pretrained_rbm(plain, run_dir) if plain["model"]["pretrain_rbm"] is not None else None
    if rbm is not None:  # section 12.4: start from an RBM trained on shuffled frames
        model.start_from_rbm(rbm)
    epochs = EpochCosts(metric="train/monitor", column="monitor", label="RNN-RBM")
    trainer = instantiate(cfg.trainer, max_epochs=cfg.model.epochs, callbacks=[epochs],
                          logger=instantiate(cfg.logger, save_dir=str(run_dir)))
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    evaluation = {split: evaluate_split(model, datamodule.split(split, cfg.evaluation.eval_subset),
                                        cfg.evaluation.gibbs_steps) for split in ("valid", "test")}
    eval_seconds = time.perf_counter() - start
    generation = cfg.generation
    with torch.no_grad():
        samples = [model.generate(generation.n_frames, generation.gibbs_steps).cpu().numpy().astype(np.uint8)
                   for _ in range(generation.n_samples)]
    for i, roll in enumerate(samples, start=1):
        write_midi(roll, run_dir / f"sample{i}.mid", cfg.data.dt, (low, high))
    with atomic_path(run_dir / "samples.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, samples=np.stack(samples), dt=cfg.data.dt, note_range=np.array([low, high]))

    trace = rnnrbm_tutorial_trace() if cfg.data.name == "nottingham" else {}
    table = pd.DataFrame(epochs.rows)
    table["tutorial_monitor"] = table["epoch"].map(trace)
    with atomic_path(run_dir / "epochs.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(run_dir / "model.ckpt") as tmp:
        trainer.save_checkpoint(tmp)

    last = epochs.rows[-1]
    row = {
        "model": "rnnrbm",
        "preset": cfg.preset_name,
        "seed": cfg.seed,
        "dataset": cfg.data.name,
        "variant": cfg.variant,
        "epochs": last["epoch"],
        "train_monitor": last["monitor"],
        "tutorial_train_monitor": trace.get(last["epoch"]),
        **{f"{split}_{name}": value for split, result in evaluation.items() for name, value in result.items()},
        "pretrain_seconds": rbm.info["pretrain_seconds"] if rbm is not None else None,
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(train_seconds / last["epoch"], 2),
        "eval_seconds": round(eval_seconds, 2),
        "device": str(model.device),
    }
    return stages.finish(run_dir, plain, row, {**music_settings(plain), "seed": plain["seed"]})


def main() -> None:
    stages.main(__doc__, run, lambda row: f"rnnrbm ({row['preset']}, {row['dataset']}): train monitor "
                f"{row['train_monitor']:.3f} after {row['epochs']} epochs ({row['seconds_per_epoch']:.1f} s each); "
                f"valid monitor {row['valid_monitor']:.3f}, accuracy {row['valid_accuracy']:.2%}; test monitor "
                f"{row['test_monitor']:.3f}, accuracy {row['test_accuracy']:.2%}", config_name="rnnrbm")


if __name__ == "__main__":
    main()
