"""Layer-wise pretraining: train layer k on the codes of layers 1..k-1, or encode through it.

    python -m dltutorials.stages.pretrain train 2 model=dbn preset=quick seed=1234
    python -m dltutorials.stages.pretrain encode 2 model=dbn preset=quick seed=1234

Layer k reads ``<run_dir>/layer<k-1>/codes.npy`` (the prepared training split
for k = 1) and writes ``<run_dir>/layer<k>/``: see ``dltutorials.training.layers``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf

from dltutorials import stages
from dltutorials.atomic import write_text
from dltutorials.config import ConfigError, per_layer_settings, validate
from dltutorials.data.datamodule import UnlabelledDataModule, load_inputs
from dltutorials.fields import PositiveInt
from dltutorials.fingerprints import layer_settings
from dltutorials.training import run_folders
from dltutorials.training.layers import encode, layer_dir, load_layer, save_codes, save_layer


@dataclass(frozen=True)
class StackOn:
    """``model.pretrain.stack_on``: the first ``layers`` of the stack are those of ``model``'s run on ``data``
    (same preset and seed), as the AIS paper's DBN puts a second RBM on its CD25(500) RBM."""

    model: str
    data: str
    layers: PositiveInt


@dataclass(frozen=True)
class Pretraining:
    """``model.pretrain``: the class and settings every layer shares (``layer``, the arguments of its
    ``_target_``), each layer's own (``per_layer``, by layer number from 1), the minibatch size and epochs
    of every layer, and whether each epoch's parameters are kept (``<layer>/epochs/``)."""

    layer: dict
    batch_size: PositiveInt
    epochs: PositiveInt
    per_layer: dict | None = None
    keep_epochs: bool = False
    stack_on: dict | None = None  # StackOn


def layer_sizes(cfg: DictConfig) -> list[int]:
    """[n_in, n_hidden_1, ..., n_hidden_L] of the stack."""
    return [cfg.data.n_features, *cfg.model.hidden_sizes]


def layer_dirs(cfg: DictConfig) -> list[Path]:
    """Each layer's folder, 1..L: <run_dir>/layer<k>, or another run's for the layers it stacks on."""
    below = cfg.model.pretrain.get("stack_on")
    return [Path(folder) for folder in run_folders.stack_layer_dirs(
        cfg.paths.run_dir, len(cfg.model.hidden_sizes), OmegaConf.to_container(below) if below else None,
        cfg.preset_name, cfg.seed, cfg.paths.results_dir)]


def layer_inputs(cfg: DictConfig, k: int) -> Path:
    if k == 1:
        return Path(cfg.data.prepared_dir) / "train.npz"
    return layer_dirs(cfg)[k - 2] / "codes.npy"


def check_layer(cfg: DictConfig, k: int) -> None:
    n_layers = len(cfg.model.hidden_sizes)
    if not 1 <= k <= n_layers:
        raise ConfigError(f"layer {k} does not exist: model.hidden_sizes has {n_layers} layers")
    below = cfg.model.pretrain.get("stack_on")
    if below and k <= below.layers:
        raise ConfigError(f"layer {k} of {cfg.model.name} is layer {k} of {below.model}'s run on {below.data} "
                          f"(model.pretrain.stack_on): train or encode it there, as model={below.model} "
                          f"data={below.data}")


def build_layer(cfg: DictConfig, k: int) -> L.LightningModule:
    """Layer k's module: the shared ``pretrain.layer`` settings, then layer k's own ``pretrain.per_layer.<k>``."""
    sizes = layer_sizes(cfg)
    own = per_layer_settings(OmegaConf.to_container(cfg.model.pretrain, resolve=True), k)
    return instantiate(cfg.model.pretrain.layer, n_visible=sizes[k - 1], n_hidden=sizes[k], **own)


class EpochCosts(Callback):
    """Per-epoch mean training cost and seconds, like the tutorial's 'Training epoch %d, cost' lines.

    ``metric`` is the logged epoch value to record, ``column`` its name in ``rows``.
    """

    def __init__(self, metric: str = "train/cost", column: str = "cost", label: str = "layer pretraining") -> None:
        self.metric, self.column, self.label = metric, column, label
        self.rows: list[dict] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        value = float(trainer.callback_metrics[self.metric])
        self.rows.append({"epoch": trainer.current_epoch + 1, self.column: value,
                          "seconds": round(time.perf_counter() - self.start, 3)})
        print(f"{self.label} epoch {trainer.current_epoch + 1}, {self.column} {value:.4f}", flush=True)

    def write_csv(self, path: Path) -> None:
        """``epoch,<column>,seconds``, one line per epoch, written atomically."""
        write_text(path, f"epoch,{self.column},seconds\n"
                   + "".join(f"{r['epoch']},{r[self.column]},{r['seconds']}\n" for r in self.rows))


class EpochSnapshots(Callback):
    """The layer's parameters after every epoch, ``<layer dir>/epochs/epoch<N>.pt`` (``model.pretrain.keep_epochs``):
    what a measure of the layer per epoch reads (e.g. the RBM likelihood curves), without training again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        save_layer(self.folder / f"epoch{epoch}.pt", pl_module, {"epoch": epoch, "class": type(pl_module).__name__,
                                                                 "settings": dict(pl_module.hparams)})


def pretrain_layer(cfg: DictConfig, k: int) -> dict:
    """Train layer k for ``pretrain.epochs`` epochs; returns a summary (also in the layer's files)."""
    plain = validate(cfg)
    check_layer(cfg, k)
    stages.start(cfg, seed=cfg.seed + k)  # each layer its own random stream
    pretrain = cfg.model.pretrain
    datamodule = UnlabelledDataModule(layer_inputs(cfg, k), pretrain.batch_size,
                                      cfg.data.datamodule.updates_per_step, cfg.data.datamodule.train_subset)
    layer = build_layer(cfg, k)
    costs = EpochCosts()
    out = layer_dir(cfg.paths.run_dir, k)
    callbacks = [costs, EpochSnapshots(out / "epochs")] if pretrain.get("keep_epochs") else [costs]
    trainer = instantiate(cfg.trainer, max_epochs=pretrain.epochs, callbacks=callbacks,
                          logger=instantiate(cfg.logger, save_dir=str(out)))
    start = time.perf_counter()
    trainer.fit(layer, datamodule=datamodule)
    seconds = time.perf_counter() - start
    summary = {"layer": k, "class": type(layer).__name__, "epochs": len(costs.rows),
               "final_cost": costs.rows[-1]["cost"], "pretrain_seconds": round(seconds, 2),
               "settings": dict(layer.hparams), "fingerprint": layer_settings(plain, k)}
    costs.write_csv(out / "epochs.csv")
    # config.yaml, then the layer's file last: its presence marks a finished layer
    return stages.finish(out, plain, summary, {**summary["fingerprint"], "seed": plain["seed"]},
                         last=lambda result: save_layer(out / "layer.pt", layer, result))


def encode_layer(cfg: DictConfig, k: int) -> Path:
    """Write the training set as seen by layer k+1: layer k's mean activations on its own inputs."""
    check_layer(cfg, k)
    out = layer_dir(cfg.paths.run_dir, k) / "codes.npy"
    save_codes(out, encode(load_layer(layer_dir(cfg.paths.run_dir, k) / "layer.pt"), load_inputs(layer_inputs(cfg, k))))
    return out


def run(cfg: DictConfig, folder: None, action: str, layer: int) -> dict:
    """``train``: pretrain the layer (its summary); ``encode``: its codes of the training set."""
    if action == "train":
        return pretrain_layer(cfg, layer)
    return {"layer": layer, "codes": str(encode_layer(cfg, layer))}


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["train", "encode"])
    parser.add_argument("layer", type=int, help="layer number, 1 = the one on the data")


def main() -> None:
    stages.main(__doc__, run, lambda result: f"wrote {result['codes']}" if "codes" in result else str(result),
                arguments=arguments, run_folder=False)


if __name__ == "__main__":
    main()
