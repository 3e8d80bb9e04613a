"""Epoch time of the project's Lightning training against a minimal raw PyTorch loop.

Both train the same model (the project's module class, same init) on the same
in-memory MNIST with the tutorial's SGD, validating once per epoch: the
project through its real training path (Trainer, chunks, in-place updates),
the raw loop the way a PyTorch user would write it (autograd and
``torch.optim.SGD``). The ratio is project / raw, medians over interleaved
repeats.
"""

from __future__ import annotations

import functools
import sys
import time
import warnings

import lightning as L
import torch
import torch.nn.functional as F
from common import exit_status, interleaved, report
from hydra.utils import instantiate

from dltutorials.config import compose
from dltutorials.training.early_stopping import TutorialEarlyStopping

warnings.filterwarnings("ignore")


class EpochTimer(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds.append(time.perf_counter() - self.start)

    def __init__(self):
        self.seconds = []


def project_epoch(cfg, datamodule, epochs: int) -> float:
    """Seconds per epoch of the real training path (the last epoch, after warm-up)."""
    stopping = TutorialEarlyStopping(datamodule.n_train_batches, patience=10**9)
    datamodule.chunk_alignment = stopping.validation_frequency
    model = instantiate(cfg.model.module)
    timer = EpochTimer()
    trainer = instantiate(cfg.trainer, max_epochs=epochs, callbacks=[stopping, timer], logger=False,
                          enable_progress_bar=False)
    trainer.fit(model, datamodule=datamodule)
    return timer.seconds[-1]


def raw_epoch(cfg, datamodule) -> float:
    """Seconds of one epoch of a plain loop: slice, forward, backward, SGD step; then validate."""
    model = instantiate(cfg.model.module, gradient="autograd")
    optimizer = model.configure_optimizers()
    x, y = datamodule.splits["train"]
    valid_x, valid_y = datamodule.valid_tensors
    batch = datamodule.batch_size
    start = time.perf_counter()
    for i in range(datamodule.n_train_batches):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch]).backward()
        optimizer.step()
    model.error_rate(valid_x, valid_y)
    return time.perf_counter() - start


def main(repeats: int = 3) -> None:
    torch.set_num_threads(torch.get_num_threads())
    for model_name, goal in (("mlp", 1.15), ("logreg", 1.5)):
        cfg = compose([f"model={model_name}"])
        datamodule = instantiate(cfg.data.datamodule, batch_size=cfg.model.batch_size)
        datamodule.setup("fit")
        project, raw = interleaved(functools.partial(project_epoch, cfg, datamodule, epochs=2),
                                   functools.partial(raw_epoch, cfg, datamodule), repeats)
        report(f"{model_name}_epoch_batch{datamodule.batch_size}", project, raw, goal, repeats,
               extra=f"project {project:.3f}s raw {raw:.3f}s per epoch")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
