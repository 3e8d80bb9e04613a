"""Supervised training shared by every classifier of the tutorial (sections 3.4, 4.4, 5.2).

Each model is trained by minibatch stochastic gradient descent on the mean
negative log-likelihood of its softmax output,

    cost = NLL(theta) + L1_reg * sum|W| + L2_reg * sum W**2,

where the penalties run over the weight matrices only (never the biases).

The networks made of dense layers (logistic regression, the MLP, the MLP
facade of a pretrained stack) can apply this update in place: backpropagation
written out layer by layer, each weight changed by one fused ``addmm_`` with no
gradient tensor ever stored (``gradient="explicit"``, the default). At the
tutorial's small batches an update is bound by memory traffic over the weights,
not by arithmetic, so skipping the materialised gradient and the optimiser's
second pass over it makes a batch-1 update of the SdA's network about 2x
faster (``bench/bandwidth.py``). At batch 1 on the CPU, each layer above the
first also propagates the error down and takes its step in the same pass over
W (``dltutorials.kernels``), instead of one pass for each.
``gradient="autograd"`` runs the same step through ``backward()`` and
``torch.optim.SGD``; a test checks both agree.
"""

from __future__ import annotations

from typing import Annotated

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics
from torch import Tensor, nn

from dltutorials.fields import Gradient, NonNegativeFloat, OneOf, PositiveFloat, PositiveInt, check_arguments
from dltutorials.kernels import descend_and_forward, fusable, propagate_and_descend
from dltutorials.models.functional import affine, glorot_uniform_


class LogisticLayer(nn.Linear):
    """Softmax regression layer P(Y=i|x) = softmax_i(W x + b), initialised at zero (section 4.1)."""

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class TanhOrSigmoidLayer(nn.Linear):
    """Hidden layer h = s(W x + b) with Glorot-uniform weights, x4 for the sigmoid (section 5.2)."""

    def __init__(self, n_in: PositiveInt, n_out: PositiveInt, activation: Activation = "tanh") -> None:
        check_arguments(TanhOrSigmoidLayer, locals())
        self.activation = activation
        super().__init__(n_in, n_out)

    def reset_parameters(self) -> None:
        gain = 4.0 if self.activation == "sigmoid" else 1.0
        glorot_uniform_(self.weight, self.in_features, self.out_features, gain)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return ACTIVATIONS[self.activation](affine(x, self.weight, self.bias))


ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}
Activation = Annotated[str, OneOf(tuple(ACTIVATIONS))]
# g * s'(z) written with the unit's output a = s(z), g (1 - a^2) for tanh and g a (1 - a) for the
# sigmoid, in one kernel each (autograd's own backward of tanh and sigmoid; a third of the
# operations of the three-step product, equal to it up to float rounding)
BACKPROPAGATE = {"tanh": torch.ops.aten.tanh_backward, "sigmoid": torch.ops.aten.sigmoid_backward}


class TutorialClassifier(L.LightningModule):
    """Base class: subclasses build the network in ``__init__`` and implement ``forward`` (logits).

    A training batch is a *chunk* of k consecutive minibatches stacked as
    (k, batch_size, ...). ``training_step`` performs the k SGD updates of the
    tutorial's inner loop, so Lightning's per-step overhead is paid once per
    chunk instead of once per tiny minibatch. ``self.iteration`` is the
    tutorial's ``iter``: the number of minibatch updates done so far.
    """

    automatic_optimization = False

    def __init__(self, learning_rate: PositiveFloat, l1_reg: NonNegativeFloat = 0.0, l2_reg: NonNegativeFloat = 0.0,
                 n_out: PositiveInt = 10) -> None:
        check_arguments(TutorialClassifier, locals())
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

    def update(self, x: Tensor, y: Tensor) -> Tensor:
        """One SGD step on the minibatch (x, y) through autograd; returns the (detached) cost."""
        optimizer = self.optimizers().optimizer
        optimizer.zero_grad(set_to_none=True)
        cost = self.cost(x, y)
        cost.backward()
        optimizer.step()
        return cost.detach()

    def update_chunk(self, xs: Tensor, ys: Tensor) -> Tensor:
        """``update`` on each minibatch of the chunk in order; returns the sum of their costs."""
        total_cost = torch.zeros((), device=self.device)
        for x, y in zip(xs, ys):
            total_cost += self.update(x, y)
        return total_cost

    def training_step(self, chunk: tuple[Tensor, Tensor], batch_idx: int) -> None:
        xs, ys = chunk
        total_cost = self.update_chunk(xs, ys)
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


class DenseClassifier(TutorialClassifier):
    """A stack of dense layers s(W x + b) under a logistic layer, with the in-place SGD step.

    Subclasses set ``self.hidden_layers`` (a list of :class:`TanhOrSigmoidLayer`,
    bottom first; empty for logistic regression) and ``self.logistic``.
    """

    def __init__(self, learning_rate: PositiveFloat, l1_reg: NonNegativeFloat = 0.0, l2_reg: NonNegativeFloat = 0.0,
                 n_out: PositiveInt = 10, gradient: Gradient = "explicit") -> None:
        check_arguments(DenseClassifier, locals())
        super().__init__(learning_rate, l1_reg, l2_reg, n_out)
        self.gradient = gradient

    def hidden_stack(self) -> list[TanhOrSigmoidLayer]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        for layer in self.hidden_stack():
            x = layer(x)
        return self.logistic(x)

    def configure_optimizers(self) -> torch.optim.Optimizer | None:
        """No optimiser for the explicit update, which writes the parameters itself."""
        return None if self.gradient == "explicit" else super().configure_optimizers()

    def update(self, x: Tensor, y: Tensor) -> Tensor:
        return self.explicit_update(x, y) if self.gradient == "explicit" else super().update(x, y)

    @torch.no_grad()
    def explicit_update(self, x: Tensor, y: Tensor) -> Tensor:
        """Backpropagation of the cost by hand, each layer updated in place right after its delta is used.

        With a_0 = x, a_l = s(W_l a_{l-1} + b_l) and p = softmax(W_o a_L + b_o),
        the error at the logistic layer's input is delta = (p - onehot(y)) / B
        (the gradient of the mean NLL); going down, delta_{l-1} = (delta_l W_l)
        * s'(a_{l-1}), computed *before* W_l moves. Each layer then takes the
        SGD step of section 3.4 with the penalties' gradients:

            W <- (1 - 2 lr L2) W - lr L1 sign(W) - lr delta' a,    b <- b - lr sum_rows delta
        """
        inputs = [x.flatten(1)]
        cost, delta = self._descend_above_first(inputs, y)
        self._sgd_in_place((self.hidden_stack() or [self.logistic])[0], delta, inputs[0])
        return cost

    def _descend_above_first(self, inputs: list[Tensor], y: Tensor) -> tuple[Tensor, Tensor]:
        """``explicit_update`` but the first layer's step: the cost and the error at that layer's output.

        ``inputs`` holds the layers' inputs known so far (at least x); the
        forward pass is completed from there, appending to it.
        """
        layers = [*self.hidden_stack(), self.logistic]
        for layer in layers[len(inputs) - 1:-1]:
            inputs.append(layer(inputs[-1]))
        log_p = F.log_softmax(self.logistic(inputs[-1]), dim=1)
        cost = F.nll_loss(log_p, y)
        if self.l1_reg:
            cost += self.l1_reg * sum(w.abs().sum() for w in self.weight_matrices())
        delta = log_p.exp_()  # p - onehot(y): subtract 1 at each row's label
        delta.scatter_add_(1, y.unsqueeze(1), torch.full((len(y), 1), -1.0, dtype=delta.dtype, device=delta.device))
        delta /= len(y)
        one_pass = len(y) == 1 and fusable(delta, inputs[0], *(layer.weight for layer in layers))
        for k in range(len(layers) - 1, 0, -1):
            if one_pass:  # delta W_k and W_k's step in the same pass over W_k (kernels.py)
                back = self._propagate_and_descend(layers[k], delta, inputs[k])
            else:
                back = delta @ layers[k].weight  # uses W_k before its update
                self._sgd_in_place(layers[k], delta, inputs[k])
            delta = BACKPROPAGATE[layers[k - 1].activation](back, inputs[k])
        return cost, delta

    def update_chunk(self, xs: Tensor, ys: Tensor) -> Tensor:
        """The updates of k minibatches in order; at batch 1 on the CPU, W_1 is passed over once per example.

        Each example's step on the first layer waits for the next example,
        whose product W_1 x + b_1 is computed in the same pass over W_1 as that
        step (``kernels.descend_and_forward``), where the step and the next
        forward pass would each read W_1. The layers above take their steps
        as in ``explicit_update``; every value is the one ``update`` computes
        in turn, up to rounding.
        """
        hidden = self.hidden_stack()
        if not (self.gradient == "explicit" and hidden and xs.shape[1] == 1 and fusable(xs, hidden[0].weight)):
            return super().update_chunk(xs, ys)
        first, lr, penalties = hidden[0], self.learning_rate, self._penalty_steps()
        total_cost, step = torch.zeros(()), None
        with torch.no_grad():
            for x, y in zip(xs, ys):
                x = x.flatten(1)
                pre_activation = descend_and_forward(first.weight, first.bias, x[0], lr, step, **penalties)
                output = ACTIVATIONS[first.activation](pre_activation).unsqueeze(0)
                cost, delta = self._descend_above_first([x, output], y)
                total_cost += cost
                step = (delta[0], x[0])
            self._sgd_in_place(first, *(t.unsqueeze(0) for t in step))
        return total_cost

    def _penalty_steps(self) -> dict[str, float]:
        """The penalties' part of the step, W <- shrink W - l1_step sign(W) - ...: 1 - 2 lr L2 and lr L1."""
        return {"shrink": 1.0 - 2.0 * self.learning_rate * self.l2_reg, "l1_step": self.learning_rate * self.l1_reg}

    def _propagate_and_descend(self, layer: nn.Linear, delta: Tensor, inputs: Tensor) -> Tensor:
        """delta W (W before the step), and the step of ``_sgd_in_place``, for one example, in one pass over W."""
        back = propagate_and_descend(layer.weight, layer.bias, delta[0], inputs[0], self.learning_rate,
                                     **self._penalty_steps())
        return back.unsqueeze(0)

    def _sgd_in_place(self, layer: nn.Linear, delta: Tensor, inputs: Tensor) -> None:
        """W <- (1 - 2 lr L2) W - lr L1 sign(W) - lr delta' inputs in one pass over W (two with L1)."""
        lr, penalties = self.learning_rate, self._penalty_steps()
        sign = layer.weight.sign() if self.l1_reg else None
        layer.weight.addmm_(delta.T, inputs, beta=penalties["shrink"], alpha=-lr)
        if sign is not None:
            layer.weight.add_(sign, alpha=-penalties["l1_step"])
        layer.bias.add_(delta[0] if len(delta) == 1 else delta.sum(dim=0), alpha=-lr)  # a row's own sum at batch 1
