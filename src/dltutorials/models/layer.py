"""Base class of the layers trained without labels, one at a time: dA, contractive AE, RBM.

Each layer has a weight matrix W (n_hidden x n_visible, nn.Linear's layout)
and a hidden bias b shared with a sigmoid layer of an MLP (the "two facades"
of tutorial sections 8.1 and 10.3), plus a visible bias used only for
reconstruction or sampling. ``encode`` gives the layer's representation
sigmoid(W x + b), the next layer's input and the MLP layer's output.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from dltutorials.fields import PositiveFloat, PositiveInt, check_arguments
from dltutorials.models.functional import affine, glorot_uniform_


class PretrainedLayer(L.LightningModule):
    """Subclasses implement ``update(x)``: one training update on minibatch x, returning the monitor.

    A training batch is a chunk (k, batch_size, n_visible) of k consecutive
    minibatches (see ``dltutorials.data.datamodule``); ``training_step`` runs
    the k updates and logs the mean monitor as ``train/cost``, averaged over
    the epoch like the tutorial's printed cost.
    """

    automatic_optimization = False

    def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat) -> None:
        check_arguments(PretrainedLayer, locals())
        super().__init__()
        self.n_visible, self.n_hidden, self.learning_rate = n_visible, n_hidden, learning_rate
        self.weight = nn.Parameter(torch.empty(n_hidden, n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        # U(-4 sqrt(6/(n_visible+n_hidden)), +...) for sigmoid units (sections 7.1, 9.4)
        glorot_uniform_(self.weight, n_visible, n_hidden, gain=4.0)
        self.iteration = 0

    def encode(self, x: Tensor) -> Tensor:
        """Hidden representation sigmoid(W x + b): the tutorial's get_hidden_values / propup mean."""
        return torch.sigmoid(affine(x, self.weight, self.hidden_bias))

    def update(self, x: Tensor) -> Tensor:
        """One training update on the minibatch ``x``; returns the monitored cost as a detached scalar."""
        raise NotImplementedError

    def sgd_step(self, cost: Tensor) -> Tensor:
        """Plain SGD on ``cost`` (for layers trained by autograd); returns the detached cost."""
        optimizer = self.optimizers().optimizer  # the bare optimiser, see TutorialClassifier.training_step
        optimizer.zero_grad(set_to_none=True)
        cost.backward()
        optimizer.step()
        return cost.detach()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.learning_rate)

    def update_chunk(self, xs: Tensor) -> Tensor:
        """``update`` on each minibatch of ``xs`` (k, batch_size, n_visible) in order; the sum of the monitors."""
        total = torch.zeros((), device=self.device)
        for x in xs:
            total += self.update(x)
        return total

    def training_step(self, chunk: tuple[Tensor, ...], batch_idx: int) -> None:
        xs = chunk[0]
        total = self.update_chunk(xs)
        self.iteration += len(xs)
        self.log("train/cost", total / len(xs), on_step=False, on_epoch=True, prog_bar=True, batch_size=len(xs))

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["iteration"] = self.iteration

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.iteration = checkpoint.get("iteration", 0)
