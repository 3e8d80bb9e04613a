"""The MLP facade of a stack of pretrained layers (SdA, DBN, one-layer contractive AE).

Tutorial sections 8.1 and 10.3: the pretrained layers (dAs, RBMs, cAs) share
their weight matrix and hidden bias with the sigmoid layers of an MLP; a
logistic-regression layer is added on top and the whole network is
fine-tuned by SGD on the negative log-likelihood, with early stopping.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dltutorials.fields import Gradient, NonNegativeFloat, PositiveFloat, PositiveInt, check_arguments
from dltutorials.models.classifier import DenseClassifier, LogisticLayer, TanhOrSigmoidLayer


class StackedSigmoidClassifier(DenseClassifier):
    """x -> sigmoid layers of sizes ``hidden_sizes`` -> softmax over ``n_out`` classes."""

    def __init__(self, n_in: PositiveInt, hidden_sizes: Sequence[int], n_out: PositiveInt,
                 learning_rate: PositiveFloat, l1_reg: NonNegativeFloat = 0.0, l2_reg: NonNegativeFloat = 0.0,
                 gradient: Gradient = "explicit") -> None:
        check_arguments(StackedSigmoidClassifier, locals())
        super().__init__(learning_rate, l1_reg, l2_reg, n_out, gradient)
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one hidden layer")
        self.save_hyperparameters()
        sizes = [n_in, *hidden_sizes]
        self.hidden = nn.ModuleList(TanhOrSigmoidLayer(a, b, "sigmoid") for a, b in zip(sizes[:-1], sizes[1:]))
        self.logistic = LogisticLayer(sizes[-1], n_out)

    def hidden_stack(self) -> list[TanhOrSigmoidLayer]:
        return list(self.hidden)

    @torch.no_grad()
    def load_pretrained(self, layers: Sequence[nn.Module]) -> None:
        """Copy each pretrained layer's ``weight`` and ``hidden_bias`` into the sigmoid layer it shares them with."""
        if len(layers) != len(self.hidden):
            raise ValueError(f"{len(layers)} pretrained layers for {len(self.hidden)} hidden layers")
        for k, (pretrained, layer) in enumerate(zip(layers, self.hidden), start=1):
            if pretrained.weight.shape != layer.weight.shape:
                raise ValueError(f"pretrained layer {k} has weights {tuple(pretrained.weight.shape)}, "
                                 f"the network expects {tuple(layer.weight.shape)}")
            layer.weight.copy_(pretrained.weight)
            layer.bias.copy_(pretrained.hidden_bias)
