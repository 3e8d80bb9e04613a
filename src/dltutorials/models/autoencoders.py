"""Tied-weight autoencoders pretrained one layer at a time: denoising (chapter 7) and contractive.

Both share the tutorial's autoencoder (section 7.1): the encoder
y = s(W x + b) of :class:`PretrainedLayer`, the tied decoder

    z = s(W^T y + b'),

and the reconstruction cross-entropy averaged over the minibatch,

    L_H(x, z) = - sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)].

The cross-entropy is computed from the decoder's pre-sigmoid activation
(``binary_cross_entropy_with_logits``): equal to the formula above, but never
NaN or infinite when z saturates at 0 or 1, where the tutorial's
``T.log(z)`` form relied on Theano's graph rewrites.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dltutorials.models.layer import PretrainedLayer


class TiedAutoencoder(PretrainedLayer):
    """The reconstruction shared by the dA and the cA: decoder W^T, bias b', cross-entropy L_H.

    Subclasses implement ``update(x)``.
    """

    def decoder_logits(self, h: Tensor) -> Tensor:
        """Pre-sigmoid reconstruction W^T h + b' (tied weights: the decoder is exactly W^T)."""
        return F.linear(h, self.weight.t(), self.visible_bias)

    def reconstruct(self, h: Tensor) -> Tensor:
        """Reconstruction z = sigmoid(W^T h + b'): the tutorial's get_reconstructed_input (section 7.1)."""
        return torch.sigmoid(self.decoder_logits(h))

    @staticmethod
    def cross_entropy(x: Tensor, logits: Tensor) -> Tensor:
        """Mean over the minibatch of L_H(x, sigmoid(logits)), summed over the inputs k (section 7.1)."""
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()

    def reconstruction_cost(self, x: Tensor, x_tilde: Tensor | None = None) -> Tensor:
        """mean_batch L_H(x, z) with z = reconstruct(encode(x_tilde)), x_tilde = x by default.

        The target is always the clean input ``x``; ``x_tilde`` is what the
        encoder sees (the corrupted input of a dA).
        """
        h = self.encode(x if x_tilde is None else x_tilde)
        return self.cross_entropy(x, self.decoder_logits(h))


class DenoisingAutoencoder(TiedAutoencoder):
    """Denoising autoencoder [Vincent08] (tutorial section 7.2, dA.py).

    Each update corrupts the minibatch by masking noise, x_tilde = x * m with
    m_k ~ Bernoulli(1 - corruption_level) drawn independently per input, and
    descends

        cost = mean_batch L_H(x, s(W^T s(W x_tilde + b) + b'))

    by plain SGD: the clean x is the target. The tutorial's protocol (section
    7.3): 784-500, learning rate 0.1, batch 20, 15 epochs, corruption 0 or 0.3.
    """

    def __init__(self, n_visible: int, n_hidden: int, learning_rate: float, corruption_level: float = 0.0) -> None:
        if not 0.0 <= corruption_level < 1.0:
            raise ValueError(f"corruption_level must be in [0, 1), got {corruption_level!r}")
        super().__init__(n_visible, n_hidden, learning_rate)
        self.save_hyperparameters()
        self.corruption_level = float(corruption_level)

    def corrupt(self, x: Tensor) -> Tensor:
        """Masking noise: zero each input independently with probability corruption_level.

        The tutorial's get_corrupted_input, binomial(n=1, p=1-corruption_level) * x.
        At level 0 this returns ``x`` itself without drawing random numbers.
        """
        if self.corruption_level == 0.0:
            return x
        return x * (torch.rand_like(x) >= self.corruption_level)

    def update(self, x: Tensor) -> Tensor:
        """One SGD step on the denoising cost of minibatch x; returns the (detached) cost."""
        return self.sgd_step(self.reconstruction_cost(x, self.corrupt(x)))


class ContractiveAutoencoder(TiedAutoencoder):
    """Contractive autoencoder [Rifai11] (cA.py of the tutorial's code).

    No corruption; the reconstruction cross-entropy is regularised by the
    squared Frobenius norm of the encoder's Jacobian dh/dx, averaged over the
    minibatch:

        cost = mean_batch L_H(x, z) + contraction_level * mean_batch ||J(x)||_F^2,

    where for h = sigmoid(W x + b), J_ji = h_j (1 - h_j) W_ji, so

        ||J(x)||_F^2 = sum_j (h_j (1 - h_j))^2 * sum_i W_ji^2.
    """

    def __init__(self, n_visible: int, n_hidden: int, learning_rate: float, contraction_level: float = 0.1) -> None:
        if not contraction_level >= 0.0:
            raise ValueError(f"contraction_level must be >= 0, got {contraction_level!r}")
        super().__init__(n_visible, n_hidden, learning_rate)
        self.save_hyperparameters()
        self.contraction_level = float(contraction_level)

    def jacobian_norm(self, h: Tensor) -> Tensor:
        """mean_batch sum_j (h_j (1 - h_j))^2 * sum_i W_ji^2, h = encode(x): the mean of ||dh/dx||_F^2."""
        return ((h * (1.0 - h)).square() @ self.weight.square().sum(1)).mean()

    def cost(self, x: Tensor) -> Tensor:
        """mean_batch L_H(x, z) + contraction_level * jacobian_norm(h), with h = encode(x)."""
        h = self.encode(x)
        return self.cross_entropy(x, self.decoder_logits(h)) + self.contraction_level * self.jacobian_norm(h)

    def update(self, x: Tensor) -> Tensor:
        """One SGD step on the contractive cost of minibatch x; returns the (detached) total cost."""
        return self.sgd_step(self.cost(x))
