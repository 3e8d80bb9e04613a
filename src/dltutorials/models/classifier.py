"""Supervised training shared by every classifier of the tutorial (sections 3.4, 4.4, 5.2).

Each model is trained by minibatch stochastic gradient descent on the mean
negative log-likelihood of its softmax output,

    cost = NLL(theta) + L1_reg * sum|W| + L2_reg * sum W**2,

where the penalties run over the weight matrices only (never the biases).
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics
from torch import Tensor, nn


def glorot_uniform_(weight: Tensor, fan_in: int, fan_out: int, gain: float = 1.0) -> Tensor:
    """Fill ``weight`` from U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) [Xavier10].

    The tutorial uses gain 1 for tanh units and gain 4 for sigmoid units (section 5.2).
    """
    bound = gain * (6.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


class LogisticLayer(nn.Linear):
    """Softmax regression layer P(Y=i|x) = softmax_i(W x + b), initialised at zero (section 4.1)."""

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class TanhOrSigmoidLayer(nn.Linear):
    """Hidden layer h = s(W x + b) with Glorot-uniform weights, x4 for the sigmoid (section 5.2)."""

    def __init__(self, n_in: int, n_out: int, activation: str = "tanh") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        super().__init__(n_in, n_out)

    def reset_parameters(self) -> None:
        gain = 4.0 if self.activation == "sigmoid" else 1.0
        glorot_uniform_(self.weight, self.in_features, self.out_features, gain)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return ACTIVATIONS[self.activation](super().forward(x))


ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}


class TutorialClassifier(L.LightningModule):
    """Base class: subclasses build the network in ``__init__`` and implement ``forward`` (logits).

    A training batch is a *chunk* of k consecutive minibatches stacked as
    (k, batch_size, ...). ``training_step`` performs the k SGD updates of the
    tutorial's inner loop, so Lightning's per-step overhead is paid once per
    chunk instead of once per tiny minibatch. ``self.iteration`` is the
    tutorial's ``iter``: the number of minibatch updates done so far.
    """

    automatic_optimization = False

    def __init__(self, learning_rate: float, l1_reg: float = 0.0, l2_reg: float = 0.0, n_out: int = 10) -> None:
        super().__init__()
        self.learning_rate = learning_rate
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.iteration = 0
        self.test_accuracy = torchmetrics.Accuracy(task="multiclass", num_classes=n_out)

    # -- the model ---------------------------------------------------------
    def weight_matrices(self) -> list[Tensor]:
        """Parameters the L1/L2 penalties apply to: every weight, no bias."""
        return [p for name, p in self.named_parameters() if name.endswith("weight")]

    def negative_log_likelihood(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean over the minibatch of -log P(Y=y|x) (section 4.2)."""
        return F.cross_entropy(self(x), y)

    def cost(self, x: Tensor, y: Tensor) -> Tensor:
        """Training cost without the L2 term, which the optimiser applies as weight decay."""
        cost = self.negative_log_likelihood(x, y)
        if self.l1_reg:
            cost = cost + self.l1_reg * sum(w.abs().sum() for w in self.weight_matrices())
        return cost

    @torch.no_grad()
    def error_rate(self, x: Tensor, y: Tensor, batch_size: int = 2000) -> float:
        """Zero-one loss in percent over a whole split (section 3.4.1)."""
        mistakes = 0
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            mistakes += int((self(xb).argmax(dim=1) != yb).sum())
        return 100.0 * mistakes / len(y)

    # -- Lightning ---------------------------------------------------------
    def configure_optimizers(self) -> torch.optim.Optimizer:
        # d/dW [L2_reg * sum W**2] = 2 * L2_reg * W: identical updates to the
        # tutorial's L2 term, as weight decay on the weight matrices only.
        weights = {id(w) for w in self.weight_matrices()}
        others = [p for p in self.parameters() if id(p) not in weights]
        groups = [
            {"params": self.weight_matrices(), "weight_decay": 2.0 * self.l2_reg},
            {"params": others, "weight_decay": 0.0},
        ]
        return torch.optim.SGD(groups, lr=self.learning_rate)

    def on_fit_start(self) -> None:
        # training_step calls backward() and the optimiser directly (Lightning's
        # manual_backward and LightningOptimizer.step cost ~0.3 ms per call, a
        # third of an MLP update at batch 20): fine for one device in float32,
        # the tutorial's setting, but not for mixed precision or several devices.
        if self.trainer.precision not in ("32-true", "32") or self.trainer.world_size != 1:
            raise ValueError(f"tutorial models train on one device in float32; got trainer.precision="
                             f"{self.trainer.precision!r} on {self.trainer.world_size} devices")

    def training_step(self, chunk: tuple[Tensor, Tensor], batch_idx: int) -> None:
        optimizer = self.optimizers().optimizer
        xs, ys = chunk
        total_cost = torch.zeros((), device=self.device)
        for x, y in zip(xs, ys):
            optimizer.zero_grad(set_to_none=True)
            cost = self.cost(x, y)
            cost.backward()
            optimizer.step()
            total_cost += cost.detach()
        self.iteration += len(xs)
        self.log("train/cost", total_cost / len(xs), prog_bar=True, batch_size=len(xs))

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        self.test_accuracy.update(self(x).argmax(dim=1), y)

    def on_test_epoch_end(self) -> None:
        self.log("test/error", 100.0 * (1.0 - self.test_accuracy.compute()))
        self.test_accuracy.reset()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["iteration"] = self.iteration

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.iteration = checkpoint.get("iteration", 0)
