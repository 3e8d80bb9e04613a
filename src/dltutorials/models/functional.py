"""Building blocks shared by the models, on plain tensors: the ground module of ``dltutorials.models``.

Every model module may import from here; this module imports only torch. It holds the affine map
W x + b, Glorot's initialisation, Bernoulli sampling, and the names of a pretrained layer's shared
parameters (what ``dltutorials.training.layers`` writes to ``layer<k>/layer.pt``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# A layer trained without labels (``dltutorials.models.layer.PretrainedLayer``): W, the hidden bias c it
# shares with a sigmoid layer of an MLP, and the visible bias b, in this order.
PARAMETERS = ("weight", "hidden_bias", "visible_bias")


def affine(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """W x + b for every row x of a minibatch: ``F.linear(x, weight, bias)``, computed fast at small batches.

    MKL's sgemm (torch 2.13's CPU build) is up to 2x slower on the rows-times-W' product
    for minibatches of about 5 to 16 rows, the DBN's 10 among them, than on the
    same product computed as (W x')' with W on the left; below and above that
    range the two are equally fast (measured for 500-1000-unit layers).
    """
    if 4 < x.shape[0] < 20 and x.dim() == 2:
        return torch.addmm(bias.unsqueeze(1), weight, x.T).T
    return F.linear(x, weight, bias)


def glorot_uniform_(weight: Tensor, fan_in: int, fan_out: int, gain: float = 1.0) -> Tensor:
    """Fill ``weight`` from U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) [Xavier10].

    The tutorial uses gain 1 for tanh units and gain 4 for sigmoid units (section 5.2).
    """
    bound = gain * (6.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def bernoulli(p: Tensor) -> Tensor:
    """A binary sample of the same dtype as ``p`` with P(1) = p: u < p with u ~ U[0, 1).

    The tutorial's ``theano_rng.binomial(n=1, p=p)`` (sections 9.4 and 12.2); ``lt_`` writes the
    comparison into the uniform draws in place, so one tensor is allocated.
    """
    return torch.rand_like(p).lt_(p)
