"""Train one model under one preset and measure its test error with the best-validation weights.

For layer-wise models (SdA, DBN, ...) this is the supervised fine-tuning: the
network starts from the pipeline's pretrained layers,
``<paths.run_dir>/layer<k>/layer.pt`` written by ``stages.pretrain``, and
refuses layers made with other pretraining settings than the run's own.

    python -m dltutorials.stages.train model=mlp preset=quick seed=1
    python -m dltutorials.stages.train -m model=logreg model.module.learning_rate=0.1,0.13   # a sweep

Writes into Hydra's output directory: ``model.ckpt``, ``config.yaml`` (the
resolved config), ``logs/metrics.csv`` and, last, ``metrics.json``. Snakemake
points it at the run's folder (``hydra.run.dir=results/runs/...``); a run by
hand goes to ``results/hand_runs/...`` and a sweep to ``results/sweeps/...``,
so neither ever changes what the pipeline's tables report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from dltutorials import stages
from dltutorials.atomic import atomic_path
from dltutorials.config import ConfigError, validate
from dltutorials.fields import PositiveInt
from dltutorials.fingerprints import differences, layer_settings, training_settings
from dltutorials.results import tutorial_value
from dltutorials.training.early_stopping import TutorialEarlyStopping
from dltutorials.training.layers import layer_dir, load_layer


@dataclass(frozen=True)
class Schedule:
    """What ``train`` reads of the model section besides ``module`` (the network, its class's arguments) and
    ``early_stopping`` (``TutorialEarlyStopping``'s): the minibatch size and the most epochs."""

    batch_size: PositiveInt
    max_epochs: PositiveInt


def pretrained_layers(cfg: DictConfig, plain: dict) -> list:
    """The run's pretrained layers, bottom first ([] for models trained from scratch).

    Each must have been made with this run's pretraining settings (its recorded
    fingerprint): a hand run or sweep that changes them would otherwise fine-tune
    layers that do not belong to it.
    """
    if "pretrain" not in cfg.model:
        return []
    layers = []
    for k in range(1, len(cfg.model.hidden_sizes) + 1):
        path = layer_dir(cfg.paths.run_dir, k) / "layer.pt"
        layer = load_layer(path)
        changed = differences(layer.info.get("fingerprint", {}), layer_settings(plain, k))
        if changed:
            raise ConfigError(f"{path} was pretrained with other settings ({', '.join(changed)} differ); "
                              f"pretraining settings are changed or swept through Snakemake, e.g. "
                              f"snakemake --cores 2 --config 'overrides=[...]'")
        layers.append(layer)
    return layers


def train(cfg: DictConfig, out_dir: str | Path | None = None) -> dict:
    """Fit ``cfg.model`` on ``cfg.data`` with the tutorial's early stopping; returns the result row.

    Writes into ``out_dir`` (default: ``paths.run_dir``, the pipeline's run folder).
    """
    plain = validate(cfg)
    run_dir = Path(out_dir or cfg.paths.run_dir)
    stages.start(cfg)

    datamodule = instantiate(cfg.data.datamodule, batch_size=cfg.model.batch_size)
    datamodule.setup("fit")
    stopping = TutorialEarlyStopping(datamodule.n_train_batches, **cfg.model.early_stopping)
    datamodule.chunk_alignment = stopping.validation_frequency
    model = instantiate(cfg.model.module)
    pretrained = pretrained_layers(cfg, plain)
    if pretrained:  # SdA, DBN, ...: start from the layer-wise pretrained weights
        model.load_pretrained(pretrained)
    trainer = instantiate(cfg.trainer, max_epochs=cfg.model.max_epochs, callbacks=[stopping],
                          logger=instantiate(cfg.logger, save_dir=str(run_dir)))

    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)  # ends with the best-validation weights restored
    train_seconds = time.perf_counter() - start
    test_error = trainer.test(model, datamodule=datamodule, verbose=False)[0]["test/error"]

    model_name, dataset = cfg.model.name, cfg.data.name
    reported = tutorial_value(model_name, dataset, "test_error")
    summary = stopping.summary()
    row = {
        "model": model_name,
        "preset": cfg.preset_name,
        "seed": cfg.seed,
        "dataset": dataset,
        "best_valid_error": summary["best_valid_error"],
        "test_error": round(test_error, 4),
        "test_examples": datamodule.n_test_examples,
        "best_epoch": summary["best_epoch"],
        "best_iteration": summary["best_iteration"],
        "epochs_run": summary["epochs_run"],
        "iterations_run": summary["iterations_run"],
        "train_seconds": round(train_seconds, 2),
        **{f"pretrain_seconds_layer{k}": layer.info["pretrain_seconds"] for k, layer in enumerate(pretrained, 1)},
        **({"finetune_seconds": round(train_seconds, 2)} if pretrained else {}),
        "tutorial_valid_error": tutorial_value(model_name, dataset, "valid_error"),
        "tutorial_test_error": reported,
        "test_error_minus_tutorial": None if reported is None else round(test_error - reported, 4),
        "device": str(model.device),
        "torch_threads": torch.get_num_threads(),
    }
    with atomic_path(run_dir / "model.ckpt") as tmp:
        trainer.save_checkpoint(tmp)
    return stages.finish(run_dir, plain, row, {**training_settings(plain), "seed": plain["seed"]})


def main() -> None:
    stages.main(__doc__, train, lambda row: f"{row['model']} ({row['preset']}): best valid "
                f"{row['best_valid_error']:.2f} %, test {row['test_error']:.2f} % after {row['epochs_run']} epochs, "
                f"{row['train_seconds']:.0f} s")


if __name__ == "__main__":
    main()
