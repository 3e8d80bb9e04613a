"""Restricted Boltzmann Machine with binary units, trained by CD-k or PCD-k (tutorial chapter 9).

Notation of the tutorial (section 9.2): visible units v, hidden units h, both
binary; W is ``weight`` (n_hidden x n_visible, so row W_i belongs to hidden
unit i), c is ``hidden_bias`` and b is ``visible_bias``. The energy (9.6) is

    E(v, h) = -b'v - c'h - h'Wv,

the conditionals (9.7)-(9.8) are

    P(h_i = 1 | v) = sigm(c_i + W_i v),     P(v_j = 1 | h) = sigm(b_j + W_j' h),

and the free energy (9.9) is

    F(v) = -b'v - sum_i log(1 + exp(c_i + W_i v)).

Training performs stochastic gradient descent on the negative log-likelihood
with the gradient (9.5): the derivative of mean F(x) over the minibatch minus
mean F over the negative particles, the end of a k-step Gibbs chain (9.3),
treated as a constant. The chain starts from the positive phase's hidden
sample (CD-k, 9.3.1) or from where the previous update left it (PCD-k, 9.3.2).

Beyond the tutorial, for the likelihood comparison of Salakhutdinov & Murray
(2008): the step can carry momentum and an L2 weight decay (Hinton's "A
practical guide to training RBMs", 2010), and its rate can decay linearly over
the epochs, as persistent chains need (Tieleman, 2008). Three more pieces
of the authors' training program (Salakhutdinov's ``rbm.m``) are options: each
grey-level minibatch binarised afresh at random every time it is used
(``binarize_input``), the k schedule of its ``anneal_lr`` switch, k rising by
one every few epochs with the rate divided by k (``cd_k_every``), and small
Gaussian initial weights (``initial_weight_std``). The tutorial's negative
phase is already ``rbm.m``'s: every step samples binary hidden and binary
visible states, and the statistics use the last step's visible sample vk with
the hidden probabilities sigm(c + W vk) (``_gibbs_chain``). All are off by
default, where the update is exactly the tutorial's, from the same random draws.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor

from dltutorials.fields import (
    Gradient,
    NonNegativeFloat,
    NonNegativeInt,
    OneOf,
    PositiveFloat,
    PositiveInt,
    Probability,
    check_arguments,
)
from dltutorials.models.functional import PARAMETERS, affine, bernoulli
from dltutorials.models.layer import PretrainedLayer

LearningRateDecay = Annotated[str, OneOf(("none", "linear"))]


class RBM(PretrainedLayer):
    """Binary-binary RBM (tutorial section 9.4); ``encode`` is the propup mean shared with a DBN's MLP layer.

    Args:
        n_visible, n_hidden: numbers of visible and hidden units.
        learning_rate: SGD step size of the CD/PCD update.
        cd_k: number of Gibbs steps k of CD-k / PCD-k (>= 1).
        cd_k_initial: None for k = cd_k throughout; else the k of the first
            epoch, rising linearly (rounded down) to cd_k in the last one (a
            gradually increasing k, as we believe Salakhutdinov & Murray
            trained their CD25(500)).
        persistent: False for CD-k (chain restarted from the data at every
            update), True for PCD-k (chain state kept in ``persistent_chain``).
        gradient: "explicit" for the closed-form CD statistics applied in
            place (fast), "autograd" for backward through the free-energy
            difference as the tutorial does with ``T.grad``; both give the
            same update for the same random draws.
        weight_decay: lambda of an L2 penalty lambda/2 ||W||^2 on the weights
            (not the biases), added to the cost the step descends.
        momentum: mu of the step Delta <- mu Delta - lr * gradient,
            theta <- theta + Delta (0: plain SGD).
        initial_momentum, initial_momentum_epochs: the momentum of the first
            epochs (0.5 for 5 epochs in Hinton's recipe, then ``momentum``).
        learning_rate_decay: "none", or "linear": the rate of epoch e (from 0)
            of E is lr (1 - e / E), reaching lr / E in the last epoch.
        binarize_input: False for the minibatch as given; True to binarise each
            training minibatch afresh every time ``update`` uses it, x <- (x > u)
            with u ~ U[0, 1) from torch's global generator, drawn before any of
            the update's other draws (pixel on with probability its grey level,
            ``rbm.m``'s ``data = data > rand``). The update and its monitor both
            see the binary minibatch; ``encode`` and the other methods do not
            binarise.
        cd_k_every: None, or s for ``rbm.m``'s ``anneal_lr`` schedule: epoch e
            (from 0) runs k = min(cd_k, ceil((e + 1) / s)) Gibbs steps with its
            learning rate divided by that k (s = 10: k = 1 in epochs 0-9, 2 in
            10-19, ..., 25 in 240-249). The division multiplies whatever
            ``learning_rate_decay`` gives: lr (1 - e / E) / k when linear. The
            weight decay's step, lr lambda W, is divided with it (as in
            ``rbm.m``); momentum is not. Not with ``cd_k_initial``.
        initial_weight_std: None for the tutorial's uniform initial weights; else
            sigma of W ~ N(0, sigma^2) (``rbm.m``'s ``0.01*randn``: 0.01), drawn
            after (and replacing) the uniform draw; the biases stay zero.
    """

    def __init__(self, n_visible: PositiveInt, n_hidden: PositiveInt, learning_rate: PositiveFloat,
                 cd_k: PositiveInt = 1, persistent: bool = False, gradient: Gradient = "explicit",
                 weight_decay: NonNegativeFloat = 0.0, momentum: Probability = 0.0,
                 initial_momentum: Probability = 0.0, initial_momentum_epochs: NonNegativeInt = 0,
                 learning_rate_decay: LearningRateDecay = "none", cd_k_initial: PositiveInt | None = None,
                 binarize_input: bool = False, cd_k_every: PositiveInt | None = None,
                 initial_weight_std: PositiveFloat | None = None) -> None:
        check_arguments(RBM, locals())
        if cd_k_initial is not None and cd_k_initial > cd_k:
            raise ValueError(f"cd_k_initial must be null or an integer from 1 to cd_k ({cd_k}), "
                             f"got {cd_k_initial!r}")
        if cd_k_initial is not None and cd_k_every is not None:
            raise ValueError(f"cd_k_initial ({cd_k_initial!r}) and cd_k_every ({cd_k_every!r}) are two schedules "
                             f"of k: set at most one of them")
        super().__init__(n_visible, n_hidden, learning_rate)  # W ~ U(+-4 sqrt(6/(nv+nh))), biases zero
        if initial_weight_std is not None:
            with torch.no_grad():
                self.weight.normal_(0.0, initial_weight_std)
        self.save_hyperparameters()
        self.cd_k, self.cd_k_initial, self.cd_k_every = cd_k, cd_k_initial, cd_k_every
        self.binarize_input = bool(binarize_input)
        self.persistent, self.gradient = bool(persistent), gradient
        self.weight_decay, self.learning_rate_decay = weight_decay, learning_rate_decay
        self.momentum, self.initial_momentum, self.initial_momentum_epochs = \
            momentum, initial_momentum, initial_momentum_epochs
        # Delta of each parameter, only when some epoch has momentum (buffers: they follow the
        # module to its device; save_layer keeps the parameters only)
        with_momentum = bool(momentum or (initial_momentum and initial_momentum_epochs))
        for name in PARAMETERS:
            self.register_buffer(f"{name}_velocity",
                                 torch.zeros_like(getattr(self, name)) if with_momentum else None)
        # PCD: the tutorial's shared variable `persistent_chain`, zeros of shape
        # (batch_size, n_hidden); sized at the first update (see _chain_start).
        self.register_buffer("persistent_chain", torch.zeros(0, n_hidden) if self.persistent else None)
        # get_pseudo_likelihood_cost's `bit_i_idx`, cycling over the visible units
        self.register_buffer("bit_index", torch.zeros((), dtype=torch.long))

    # -- conditionals and Gibbs sampling (section 9.3, Eqs. 9.7-9.8) --------
    def propup(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """Hidden pre-sigmoid activation c + W v and its mean sigm(c + W v) = P(h=1|v) (Eq. 9.7)."""
        pre_sigmoid = affine(v, self.weight, self.hidden_bias)
        return pre_sigmoid, torch.sigmoid(pre_sigmoid)

    def propdown(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Visible pre-sigmoid activation b + W'h and its mean sigm(b + W'h) = P(v=1|h) (Eq. 9.8)."""
        pre_sigmoid = torch.addmm(self.visible_bias, h, self.weight)
        return pre_sigmoid, torch.sigmoid(pre_sigmoid)

    def sample_h_given_v(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(pre-sigmoid, mean, binary sample) of the hidden units given the visible ones."""
        pre_sigmoid, mean = self.propup(v)
        return pre_sigmoid, mean, bernoulli(mean)

    def sample_v_given_h(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(pre-sigmoid, mean, binary sample) of the visible units given the hidden ones."""
        pre_sigmoid, mean = self.propdown(h)
        return pre_sigmoid, mean, bernoulli(mean)

    def gibbs_hvh(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """One Gibbs step from the hidden state: v ~ P(v|h), then h' ~ P(h|v) (section 9.3).

        Returns (pre_sigmoid_v1, v1_mean, v1_sample, pre_sigmoid_h1, h1_mean, h1_sample), as the tutorial.
        """
        pre_v, v_mean, v_sample = self.sample_v_given_h(h)
        return (pre_v, v_mean, v_sample, *self.sample_h_given_v(v_sample))

    def gibbs_vhv(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """One Gibbs step from the visible state: h ~ P(h|v), then v' ~ P(v|h) (section 9.3).

        Returns (pre_sigmoid_h1, h1_mean, h1_sample, pre_sigmoid_v1, v1_mean, v1_sample), as the tutorial.
        """
        pre_h, h_mean, h_sample = self.sample_h_given_v(v)
        return (pre_h, h_mean, h_sample, *self.sample_v_given_h(h_sample))

    def free_energy(self, v: Tensor) -> Tensor:
        """F(v) = -b'v - sum_i log(1 + exp(c_i + W_i v)) per row of ``v`` (Eq. 9.9).

        log(1 + exp(.)) is ``F.softplus``, which stays finite and exact for
        large activations where the tutorial's T.log(1 + T.exp(.)) overflows.
        """
        return -(v @ self.visible_bias) - F.softplus(F.linear(v, self.weight, self.hidden_bias)).sum(dim=1)

    # -- training (section 9.4, get_cost_updates) -------------------------
    def update(self, x: Tensor) -> Tensor:
        """One CD-k or PCD-k update on the minibatch ``x``; returns the tutorial's monitoring cost.

        The parameters move by -lr times the gradient of
        mean F(x) - mean F(chain_end), chain_end constant (Eqs. 9.4-9.5).
        The monitor is the reconstruction cross-entropy for CD and the
        stochastic pseudo-likelihood for PCD (section 9.4.1). With
        ``binarize_input``, ``x`` is first replaced by a binary sample x > u,
        u ~ U[0, 1), which both the step and the monitor use.
        """
        with torch.no_grad():
            if self.binarize_input:
                x = bernoulli(x)  # u < x: rbm.m's data > rand, the update's first draws
            h0_mean, pre_vk, vk, hk_mean, hk_sample = self._gibbs_chain(x)
            # the tutorial's monitor is an output of the same Theano function as
            # the updates, so it sees the parameters before this update
            if self.persistent:
                monitor = self.pseudo_likelihood_cost(x)
                self.persistent_chain = hk_sample  # updates[persistent] = nh_samples[-1]
            else:
                monitor = self.reconstruction_cost(x, pre_vk)
        if self.gradient == "explicit":
            self._explicit_step(x, h0_mean, vk, hk_mean)
        else:
            self._autograd_step(x, vk)
        return monitor

    def _parameters_in_order(self) -> tuple[Tensor, ...]:
        """W, c and b, in ``PARAMETERS``' order."""
        return tuple(getattr(self, name) for name in PARAMETERS)

    @property
    def velocities(self) -> tuple[Tensor, ...] | None:
        """Delta of W, c and b, in ``PARAMETERS``' order; None without momentum."""
        return None if self.weight_velocity is None else \
            tuple(getattr(self, f"{name}_velocity") for name in PARAMETERS)

    def _epoch(self) -> tuple[int, int | None]:
        """(current epoch, number of epochs) of the Trainer; (0, None) outside one."""
        trainer = self._trainer
        return (0, None) if trainer is None else (trainer.current_epoch, trainer.max_epochs)

    def step_settings(self) -> tuple[float, float]:
        """(learning rate, momentum) of the current epoch: the schedules above, epoch 0 outside a Trainer.

        With ``cd_k_every``, the rate is divided by the epoch's k, as ``gibbs_steps`` gives it.
        """
        epoch, epochs = self._epoch()
        rate = self.learning_rate
        if self.learning_rate_decay == "linear" and epochs is not None:
            rate *= 1.0 - epoch / epochs
        if self.cd_k_every is not None:
            rate /= self.gibbs_steps()
        momentum = self.initial_momentum if epoch < self.initial_momentum_epochs else self.momentum
        return rate, momentum

    def gibbs_steps(self) -> int:
        """k of the current epoch: cd_k, or cd_k_initial's linear rise to it, or cd_k_every's steps
        min(cd_k, ceil((e + 1) / cd_k_every)) (epoch 0's k outside a Trainer)."""
        if self.cd_k_initial is None and self.cd_k_every is None:  # every update asks: no Trainer lookup
            return self.cd_k
        epoch, epochs = self._epoch()
        if self.cd_k_every is not None:
            return min(self.cd_k, (epoch + self.cd_k_every) // self.cd_k_every)  # ceil((epoch + 1) / s)
        if epochs is None or epochs == 1:
            return self.cd_k_initial
        return self.cd_k_initial + (self.cd_k - self.cd_k_initial) * epoch // (epochs - 1)

    def _autograd_step(self, x: Tensor, vk: Tensor) -> None:
        """The step by autograd: T.grad(cost, params, consider_constant=[chain_end]), as the tutorial.

        The chain was run without a graph; F(x) and F(chain_end) are recomputed
        with one, and the weight decay's penalty joins the cost.
        """
        rate, momentum = self.step_settings()
        cost = self.free_energy(x).mean() - self.free_energy(vk.detach()).mean()
        if self.weight_decay:
            cost = cost + 0.5 * self.weight_decay * self.weight.pow(2).sum()
        parameters, velocities = self._parameters_in_order(), self.velocities
        gradients = torch.autograd.grad(cost, parameters)
        with torch.no_grad():
            if velocities is None:
                for parameter, gradient in zip(parameters, gradients):
                    parameter.add_(gradient, alpha=-rate)
            else:
                for parameter, gradient, velocity in zip(parameters, gradients, velocities):
                    parameter.add_(velocity.mul_(momentum).add_(gradient, alpha=-rate))

    def _chain_start(self, batch_size: int) -> Tensor:
        """PCD's stored chain state, reset to zeros when absent or when the batch size changes."""
        chain = self.persistent_chain
        if chain.shape[0] != batch_size:
            chain = torch.zeros(batch_size, self.n_hidden, dtype=self.weight.dtype, device=self.weight.device)
            self.persistent_chain = chain
        return chain

    def _gibbs_chain(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Positive phase and k Gibbs steps; returns (h0_mean, pre_sigmoid_vk, vk, hk_mean, hk_sample).

        h0_mean = sigm(c + W x) and hk_mean = sigm(c + W vk) are the hidden
        means that d F / d theta involves at the data and at the chain end.
        CD starts the chain from a sample of P(h|x) (the tutorial's
        ``chain_start = ph_sample``); PCD from the stored state (the
        positive-phase sample is then unused, so it is not drawn). The k
        steps are ``gibbs_hvh``'s, with the same draws in the same order,
        except that CD never uses the last hidden sample and does not draw it
        (``hk_sample`` is then None).
        """
        if self.persistent:
            h0_mean = self.propup(x)[1]
            h = self._chain_start(len(x))
        else:
            _, h0_mean, h = self.sample_h_given_v(x)
        k = self.gibbs_steps()
        for step in range(k):
            pre_vk, _, vk = self.sample_v_given_h(h)
            hk_mean = self.propup(vk)[1]
            h = bernoulli(hk_mean) if self.persistent or step + 1 < k else None
        return h0_mean, pre_vk, vk, hk_mean, h

    def _explicit_step(self, x: Tensor, h0_mean: Tensor, vk: Tensor, hk_mean: Tensor) -> None:
        """Apply -lr * d/dtheta [mean F(x) - mean F(vk)] in place, in closed form (cf. Eq. 9.10).

        With d F(v)/d W = -sigm(c + W v) v', d F/d c = -sigm(c + W v) and
        d F/d b = -v, the SGD step on a minibatch of B rows is

            W += lr/B (h0_mean' x - hk_mean' vk)
            c += lr/B sum_rows (h0_mean - hk_mean)
            b += lr/B sum_rows (x - vk)

        Both outer products come from one matmul over the stacked rows:
        [h0_mean; -hk_mean]' [x; vk]. The weight decay adds -lr lambda W to
        W's step; with momentum the steps accumulate into the velocities
        (Delta <- mu Delta + step), which are then added to the parameters.
        """
        rate, momentum = self.step_settings()
        parameters, velocities = self._parameters_in_order(), self.velocities
        with torch.no_grad():
            alpha = rate / len(x)
            weight_step, hidden_step, visible_step = parameters if velocities is None else velocities
            if velocities is not None:
                for velocity in velocities:
                    velocity.mul_(momentum)
            if self.weight_decay:  # from W before this update, like the gradient's other terms
                weight_step.add_(self.weight, alpha=-rate * self.weight_decay)
            hidden = torch.cat((h0_mean, hk_mean))
            hidden[len(x):].neg_()
            weight_step.addmm_(hidden.T, torch.cat((x, vk)), alpha=alpha)
            hidden_step.add_(hidden.sum(dim=0), alpha=alpha)
            visible_step.add_(x.sum(dim=0), alpha=alpha).add_(vk.sum(dim=0), alpha=-alpha)
            if velocities is not None:
                for parameter, velocity in zip(parameters, velocities):
                    parameter.add_(velocity)

    # -- monitoring costs (section 9.4.1) ---------------------------------
    def reconstruction_cost(self, x: Tensor, pre_sigmoid_v: Tensor) -> Tensor:
        """Cross-entropy of the reconstruction, the tutorial's get_reconstruction_cost, as a positive cost.

        -mean_rows sum_j [x_j log sigm(a_j) + (1 - x_j) log(1 - sigm(a_j))] with
        a the pre-sigmoid visible activation of the chain's last step. Written
        with log sigm(a) = -softplus(-a) and log(1 - sigm(a)) = -softplus(a)
        (the stable form the tutorial obtains from Theano's softplus rewrite),
        which is ``binary_cross_entropy_with_logits``: finite for any a.
        """
        return F.binary_cross_entropy_with_logits(pre_sigmoid_v, x, reduction="sum").detach() / len(x)

    def pseudo_likelihood_cost(self, x: Tensor) -> Tensor:
        """Stochastic log pseudo-likelihood of get_pseudo_likelihood_cost; advances ``bit_index``.

        With x rounded to {0, 1} and x~ equal to x with bit i flipped,
        N log P(x_i | x_-i) = N log sigm(F(x~) - F(x)), averaged over the
        minibatch, where i cycles through the N visible units from one call
        to the next. F(x~) comes from F(x)'s activation by a rank-one change
        (flipping bit i adds (1 - 2 x_i) W_:,i to c + W x); log sigm is
        ``F.logsigmoid``, finite for any free-energy gap.
        """
        with torch.no_grad():
            xi = torch.round(x)
            index = self.bit_index.view(1)
            pre = F.linear(xi, self.weight, self.hidden_bias)
            fe_xi = -(xi @ self.visible_bias) - F.softplus(pre).sum(dim=1)
            flip = 1.0 - 2.0 * xi.index_select(1, index)  # +1 where bit i is 0, -1 where it is 1
            pre_flip = torch.addmm(pre, flip, self.weight.index_select(1, index).T)
            fe_flip = -(xi @ self.visible_bias) - flip.squeeze(1) * self.visible_bias[index] \
                - F.softplus(pre_flip).sum(dim=1)
            self.bit_index.add_(1).remainder_(self.n_visible)
            return self.n_visible * F.logsigmoid(fe_flip - fe_xi).mean()

    # -- Lightning ---------------------------------------------------------
    def configure_optimizers(self) -> None:
        """No optimiser: both steps write the parameters themselves, with the schedules above."""
        return None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # the chain is sized lazily: take the checkpoint's (batch_size, n_hidden) shape
        key = prefix + "persistent_chain"
        if self.persistent and key in state_dict:
            self.persistent_chain = torch.zeros_like(state_dict[key], device=self.weight.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- sampling for figures (section 9.4, "Sampling from the RBM") -------
    def sample_chains(self, v0: Tensor, n_samples: int, steps_between: int) -> Tensor:
        """Run persistent Gibbs chains from ``v0`` (n_chains, n_visible); (n_samples, n_chains, n_visible).

        Row s is the visible mean-field activation P(v=1|h) after
        (s + 1) * ``steps_between`` steps of ``gibbs_vhv``; the chains carry
        on from the binary visible sample, like the tutorial's
        ``persistent_vis_chain`` (10 rows, 1000 steps apart, from 20 test digits).
        """
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        if steps_between < 1:
            raise ValueError(f"steps_between must be >= 1, got {steps_between}")
        rows = []
        with torch.no_grad():
            v = v0.to(dtype=self.weight.dtype, device=self.weight.device)
            for _ in range(n_samples):
                for _ in range(steps_between):
                    *_, v_mean, v = self.gibbs_vhv(v)
                rows.append(v_mean)
        return torch.stack(rows)
