"""The tutorial's early-stopping rule (section 3.4.3) and a Lightning callback applying it.

    validation_frequency = min(n_train_batches, patience // 2)
    after the update with index `iter` (0-based, counted over all epochs):
        if (iter + 1) % validation_frequency == 0:
            if valid_error < best:
                if valid_error < best * improvement_threshold:
                    patience = max(patience, iter * patience_increase)
                best = valid_error; keep a copy of the parameters
        if patience <= iter: stop

The test error is then measured with the kept (best-validation) parameters.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field

import lightning as L
from lightning.pytorch.callbacks import Callback

from dltutorials.fields import Fraction, PositiveFloat, PositiveInt

log = logging.getLogger(__name__)


@dataclass
class PatienceRule:
    """Pure bookkeeping of the rule; knows nothing about models or Lightning."""

    n_train_batches: int
    patience: float
    patience_increase: float = 2
    improvement_threshold: float = 0.995
    best_error: float = math.inf
    best_iteration: int | None = None
    validation_frequency: int = field(init=False)

    def __post_init__(self) -> None:
        if self.patience < 2:
            raise ValueError(f"patience must be >= 2 iterations, got {self.patience}")
        if self.n_train_batches < 1:
            raise ValueError(f"n_train_batches must be >= 1, got {self.n_train_batches}")
        # Fixed once from the initial patience, as in the tutorial.
        self.validation_frequency = min(self.n_train_batches, int(self.patience // 2))

    def validates_after(self, iteration: int) -> bool:
        return (iteration + 1) % self.validation_frequency == 0

    def record(self, iteration: int, valid_error: float) -> bool:
        """Apply one validation result; True when it is a new best (keep these parameters)."""
        if valid_error >= self.best_error:
            return False
        if valid_error < self.best_error * self.improvement_threshold:
            # a float, as in the tutorial: truncating it would stop earlier for a non-integer increase
            self.patience = max(self.patience, iteration * self.patience_increase)
        self.best_error = valid_error
        self.best_iteration = iteration
        return True

    def exhausted_after(self, iteration: int) -> bool:
        return self.patience <= iteration


class TutorialEarlyStopping(Callback):
    """Validates, tracks patience and keeps the best weights; restores them when training ends.

    The training loop delivers chunks of minibatches whose ends include every
    validation iteration (see ``dltutorials.data.datamodule.chunk_bounds``),
    so the rule is applied exactly as if it were checked after each update.
    """

    def __init__(self, n_train_batches: PositiveInt, patience: PositiveInt, patience_increase: PositiveFloat = 2,
                 improvement_threshold: Fraction = 0.995) -> None:
        """``model.early_stopping`` holds every argument but ``n_train_batches`` (the config's validation
        checks it against this signature)."""
        self.rule = PatienceRule(n_train_batches, patience, patience_increase, improvement_threshold)
        self.best_state: dict | None = None
        self.last_iteration = -1

    @property
    def validation_frequency(self) -> int:
        return self.rule.validation_frequency

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        last = pl_module.iteration - 1  # index of the chunk's last update
        self.last_iteration = last
        if self.rule.exhausted_after(last - 1):
            # Patience ran out on an update inside this chunk, before any
            # validation its end would bring: the tutorial stopped there, at
            # the first update >= patience (the chunk's later updates are
            # never kept: the best weights are restored at the end).
            self.last_iteration = math.ceil(self.rule.patience)
            trainer.should_stop = True
            return
        if self.rule.validates_after(last):
            valid_x, valid_y = trainer.datamodule.valid_tensors
            error = pl_module.error_rate(valid_x, valid_y)
            improved = self.rule.record(last, error)
            if improved:
                self.best_state = copy.deepcopy(pl_module.state_dict())
            n = self.rule.n_train_batches
            log.info("epoch %d, minibatch %d/%d, validation error %.4f %%%s", last // n + 1, last % n + 1, n,
                     error, " (best so far)" if improved else "")
            pl_module.log_dict({"val/error": error, "val/best_error": self.rule.best_error,
                                "val/patience": float(self.rule.patience)}, prog_bar=True)
        if self.rule.exhausted_after(last):
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.best_state is not None:
            pl_module.load_state_dict(self.best_state)

    def summary(self) -> dict:
        """Numbers the results table reports, in the tutorial's terms."""
        n = self.rule.n_train_batches
        best = self.rule.best_iteration
        return {
            "best_valid_error": self.rule.best_error,
            "best_iteration": best,
            "best_epoch": None if best is None else best // n + 1,
            "iterations_run": self.last_iteration + 1,
            "epochs_run": math.ceil((self.last_iteration + 1) / n),
        }
