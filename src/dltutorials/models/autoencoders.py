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

Both apply their SGD step in place by default (``gradient="explicit"``): the
gradients of the cost written out by hand and added straight into W and the
biases, one fused ``addmm_`` for W's two terms (encoder and decoder). At the
SdA's batch of 1 this is several times faster than autograd, which stores a
gradient as large as W and passes over it again in the optimiser; there, on
the CPU, the dA's step takes a single pass over W (``dltutorials.kernels``).
``gradient="autograd"`` takes the same step through ``backward()``; a test
checks both agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dltutorials.fields import Gradient, NonNegativeFloat, PositiveFloat, PositiveInt, Probability, check_arguments
from dltutorials.kernels import fusable, tied_autoencoder_pass
from dltutorials.models.layer import PretrainedLayer


class TiedAutoencoder(PretrainedLayer):
    """The reconstruction shared by the dA and the cA: decoder W^T, bias b', cross-entropy L_H.

    Subclasses implement ``update(x)``.
    """

    def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat,
                 gradient: Gradient = "explicit") -> None:
        check_arguments(TiedAutoencoder, locals())
        super().__init__(n_visible, n_hidden, learning_rate)
        self.gradient = gradient

    def configure_optimizers(self) -> torch.optim.Optimizer | None:
        """No optimiser for the explicit update, which writes the parameters itself."""
        return None if self.gradient == "explicit" else super().configure_optimizers()

    @torch.no_grad()
    def explicit_step(self, x: Tensor, x_tilde: Tensor, h: Tensor, logits: Tensor,
                      extra_hidden_delta: Tensor | None = None, weight_decay_rows: Tensor | None = None) -> None:
        """The SGD step on mean_batch L_H(x, z), z = s(W^T h + b'), h = s(W x_tilde + b), in place.

        With delta_v = (z - x) / B at the decoder's pre-activation and
        delta_h = (delta_v W^T) * h (1 - h) at the encoder's, the tied W gets
        both terms, h' delta_v (decoder) + delta_h' x_tilde (encoder), from one
        matmul over stacked rows: [h; delta_h]' [delta_v; x_tilde].
        ``extra_hidden_delta`` and ``weight_decay_rows`` add a penalty's
        gradient (the contractive AE's): the first to delta_h, the second as
        d/dW_j = weight_decay_rows_j * W_j.
        """
        lr = self.learning_rate
        delta_v = torch.sigmoid(logits).sub_(x).div_(len(x))
        plain = extra_hidden_delta is None and weight_decay_rows is None
        if plain and len(x) == 1 and fusable(self.weight, self.hidden_bias, delta_v, h, x_tilde):
            # delta_h and W's step in one pass over W (kernels.py)
            tied_autoencoder_pass(self.weight, self.hidden_bias, lr, step=(delta_v[0], h[0], x_tilde[0]))
        else:
            delta_h = (delta_v @ self.weight.T).mul_(h * (1.0 - h))
            if extra_hidden_delta is not None:
                delta_h += extra_hidden_delta
            if weight_decay_rows is not None:  # uses W before the update, like the other terms
                self.weight.mul_((1.0 - lr * weight_decay_rows).unsqueeze(1))
            self.weight.addmm_(torch.cat((h, delta_h)).T, torch.cat((delta_v, x_tilde)), alpha=-lr)
            self.hidden_bias.add_(delta_h.sum(dim=0), alpha=-lr)
        self.visible_bias.add_(delta_v.sum(dim=0), alpha=-lr)

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

    def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat,
                 corruption_level: Probability = 0.0, gradient: Gradient = "explicit") -> None:
        check_arguments(DenoisingAutoencoder, locals())
        super().__init__(n_visible, n_hidden, learning_rate, gradient)
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

    def update_chunk(self, xs: Tensor) -> Tensor:
        """The updates of k minibatches in order; at batch 1 on the CPU, one pass over W per example.

        Each example's step waits for the next example, whose code and
        decoding are computed in the same pass over W as that step
        (``kernels.tied_autoencoder_pass``): W is read and written once per
        example, where encoding, decoding and the step read it three times.
        Every value is the one ``update`` computes in turn (up to rounding),
        with the same random draws in the same order.
        """
        if not (self.gradient == "explicit" and xs.shape[1] == 1 and fusable(xs, self.weight)):
            return super().update_chunk(xs)
        lr = self.learning_rate
        total, step = torch.zeros(()), None
        with torch.no_grad():
            for x in xs[:, 0]:
                x_tilde = self.corrupt(x)
                h, decoded = tied_autoencoder_pass(self.weight, self.hidden_bias, lr, step, x_next=x_tilde)
                logits = decoded.add_(self.visible_bias)
                total += self.cross_entropy(x.unsqueeze(0), logits.unsqueeze(0))
                delta_v = torch.sigmoid(logits).sub_(x)
                self.visible_bias.sub_(delta_v, alpha=lr)  # b' is not used by the rest of this step
                step = (delta_v, h, x_tilde)
            tied_autoencoder_pass(self.weight, self.hidden_bias, lr, step)
        return total

    def update(self, x: Tensor) -> Tensor:
        """One SGD step on the denoising cost of minibatch x; returns the (detached) cost."""
        x_tilde = self.corrupt(x)
        if self.gradient == "autograd":
            return self.sgd_step(self.reconstruction_cost(x, x_tilde))
        with torch.no_grad():
            h = self.encode(x_tilde)
            logits = self.decoder_logits(h)
            cost = self.cross_entropy(x, logits)
            self.explicit_step(x, x_tilde, h, logits)
        return cost


class ContractiveAutoencoder(TiedAutoencoder):
    """Contractive autoencoder [Rifai11] (cA.py of the tutorial's code).

    No corruption; the reconstruction cross-entropy is regularised by the
    squared Frobenius norm of the encoder's Jacobian dh/dx, averaged over the
    minibatch:

        cost = mean_batch L_H(x, z) + contraction_level * mean_batch ||J(x)||_F^2,

    where for h = sigmoid(W x + b), J_ji = h_j (1 - h_j) W_ji, so

        ||J(x)||_F^2 = sum_j (h_j (1 - h_j))^2 * sum_i W_ji^2.
    """

    def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat,
                 contraction_level: NonNegativeFloat = 0.1, gradient: Gradient = "explicit") -> None:
        check_arguments(ContractiveAutoencoder, locals())
        super().__init__(n_visible, n_hidden, learning_rate, gradient)
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
        """One SGD step on the contractive cost of minibatch x; returns the (detached) total cost.

        The penalty's gradient, with g = h (1 - h) and s_j = sum_i W_ji^2, is
        d/dW_ji = (2 lambda / B) sum_b g_bj^2 W_ji through s_j, plus the
        pre-activation term (2 lambda / B) g^2 (1 - 2h) s_j that reaches W and
        b through the encoder like delta_h.
        """
        if self.gradient == "autograd":
            return self.sgd_step(self.cost(x))
        with torch.no_grad():
            h = self.encode(x)
            logits = self.decoder_logits(h)
            slope_sq = (h * (1.0 - h)).square()
            row_norms = self.weight.square().sum(dim=1)
            cost = self.cross_entropy(x, logits) + self.contraction_level * (slope_sq @ row_norms).mean()
            scale = 2.0 * self.contraction_level / len(x)
            extra = (slope_sq * (1.0 - 2.0 * h)).mul_(row_norms).mul_(scale)
            self.explicit_step(x, x, h, logits, extra_hidden_delta=extra,
                               weight_decay_rows=scale * slope_sq.sum(dim=0))
        return cost
