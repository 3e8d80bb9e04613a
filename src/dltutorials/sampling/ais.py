"""Annealed importance sampling for binary RBMs (Salakhutdinov & Murray, ICML 2008): log Z and log p(v).

The tutorial reports only proxies of an RBM's likelihood (pseudo-likelihood, reconstruction cost), since
the partition function Z = sum_v,h exp(-E(v, h)) has 2^(visible + hidden) terms. AIS estimates it by
moving independent runs from a distribution whose Z is known to the RBM through a sequence of
intermediate distributions, indexed by inverse temperatures 0 = beta_0 < ... < beta_K = 1:

    p*_k(v) = exp((1 - beta_k) v.b_A + beta_k v.b) prod_j (1 + exp(beta_k (W_j v + c_j)))

with b_A the base-rate model's visible biases (the data's pixel marginals as log-odds). At beta = 0 this
is the base-rate model, whose Z_0 = 2^H prod_i (1 + exp(b_A,i)); at beta = 1 it is the RBM's marginal
p*(v) = exp(-F(v)). Each run accumulates log w = sum_k log p*_k(v_k) - log p*_(k-1)(v_k), then moves
v_k by one Gibbs sweep that leaves p_k invariant; Z / Z_0 is the mean of w over runs. Every run advances
together, one batched tensor computation per temperature; weights stay in log space (log-sum-exp).

AIS's log Z is a stochastic lower bound (E[log Z_hat] <= log Z, by Jensen's inequality), so its log p(v) errs
high when the runs do not reach the RBM's modes. ``raise_log_probabilities`` comes from the other side: reverse
annealing (RAISE; Burda, Grosse & Salakhutdinov, AISTATS 2015) starts a run at each test digit v_K = v, moves
it down the temperatures by the same sweeps T_K, ..., T_1 (each leaves p_k invariant and is reversible) to
the base-rate model, and weighs the path by

    log w = log p*_K(v) - log Z_0 + sum_{k=0}^{K-1} [log p*_k(v_k) - log p*_(k+1)(v_k)].

E[w] is p_ann(v), the probability that the forward annealing chain ends at v, a normalised distribution
close to the RBM's p(v) for slow enough annealing; log of the mean w is a stochastic lower bound on log
p_ann(v). p_ann is not p: annealed too fast, AIS's log p(v) errs high and RAISE's may err either way (low on
the tests' trained RBM; on two CD-1 RBMs of 25 hidden units with the paper's schedule, 3.1 nats low on one and
3.5 nats high on the other against the exact sum, docs/likelihoods.md). Where the two disagree, at least one is
wrong for that RBM; their agreement is evidence, not proof.

The runs' final states come with their weights, so the same pass gives the RBM's marginals P(v_i = 1) by
self-normalised importance sampling (``AISRuns.marginals``): annealing from the base-rate model visits the
modes a Gibbs chain started at one state may never leave (the RNN-RBM's expected accuracy,
``dltutorials.sampling.frame_marginals``).

``exact_log_partition`` sums over the hidden configurations instead, for RBMs with up to about 20 hidden
units: the reference the tests hold AIS to.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor

from dltutorials.fields import Bounds, Count

# The paper's schedule: (end, step) segments from beta = 0, 14,500 intermediate distributions in all.
PAPER_SCHEDULE = ((0.5, 1e-3), (0.9, 1e-4), (1.0, 1e-5))
# Pseudo-counts of the base-rate model's marginals, per example and per value (on, off): 5 per 100, as
# Salakhutdinov & Murray's code adds for "on", so that a pixel always off (or always on) gets a finite bias.
BASE_RATE_SMOOTHING = 0.05
# The most hidden units whose configurations exact_log_partition sums (2^26: a few minutes on one core); the
# config's exact_max_hidden is checked against it (dltutorials.config.validate_likelihood).
EXACT_MAX_HIDDEN = 26


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class AISSettings:
    """The ``ais`` section of conf/likelihood.yaml: the temperatures (``check_schedule``), the runs advanced
    together (two at least: the error band is their standard error), the base-rate model's pseudo-counts
    and the seed of the runs' draws."""

    schedule: list
    n_runs: Count
    base_rate_smoothing: Annotated[float, Bounds(gt=0, says="a number > 0")]
    seed: int


def check_schedule(key: str, schedule) -> None:
    """An AIS schedule: [end, step] segments from beta = 0 to 1, each end above the last; a ValueError naming
    ``key`` otherwise (``inverse_temperatures``'s check, and the config's: ``dltutorials.config.check_schedule``
    raises the same message as a ConfigError)."""
    if not isinstance(schedule, (list, tuple)) or not schedule:
        raise ValueError(f"{key} must be a list of [end, step] segments, got {schedule!r}")
    start = 0.0
    for index, segment in enumerate(schedule):
        if not (isinstance(segment, (list, tuple)) and len(segment) == 2 and all(_is_number(x) for x in segment)):
            raise ValueError(f"{key}.{index} must be [end, step], got {segment!r}")
        end, step = segment
        if not (start < end <= 1 and 0 < step <= end - start):
            raise ValueError(f"{key}.{index} [{end}, {step}] after beta={start}: need {start} < end <= 1 "
                             f"and 0 < step <= end - {start}")
        start = end
    if start != 1:
        raise ValueError(f"{key} ends at beta={start}: its last segment must end at 1")


def inverse_temperatures(segments=PAPER_SCHEDULE) -> Tensor:
    """beta_0 = 0, ..., beta_K = 1 (float64) from ``(end, step)`` segments, each end above the last (else a
    ValueError, ``check_schedule``)."""
    check_schedule("AIS schedule", segments)
    betas, start = [torch.zeros(1, dtype=torch.float64)], 0.0
    for end, step in segments:
        n = round((end - start) / step)
        betas.append(torch.linspace(start, end, n + 1, dtype=torch.float64)[1:])
        start = end
    return torch.cat(betas)


def base_rate_biases(data: Tensor, smoothing: float = BASE_RATE_SMOOTHING) -> Tensor:
    """Visible biases of the base-rate model: log-odds of each pixel's smoothed mean over ``data`` (N, V)."""
    n = data.shape[0]
    p = (data.sum(0, dtype=torch.float64) + smoothing * n) / (n * (1 + 2 * smoothing))
    return (torch.log(p) - torch.log1p(-p)).to(data.dtype)


def free_energy(v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> Tensor:
    """F(v) = -v.b - sum_j softplus(W_j v + c_j), so that p(v) = exp(-F(v)) / Z. weight: (hidden, visible)."""
    return -(v @ visible_bias) - F.softplus(F.linear(v, weight, hidden_bias)).sum(dim=1)


@dataclass(frozen=True)
class AISEstimate:
    log_z: float
    log_z_low: float   # log(Z - 3 sigma), -inf when 3 sigma exceeds the estimate
    log_z_high: float  # log(Z + 3 sigma), sigma the standard error of the mean importance weight
    log_weights: Tensor  # log w of each run (float64), log Z_0 included
    seconds: float


def ais_log_partition(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, base_bias: Tensor,
                      betas: Tensor, n_runs: int = 100, generator: torch.Generator | None = None) -> AISEstimate:
    """Estimate log Z of the RBM (weight: hidden x visible) by AIS from the base-rate model ``base_bias``."""
    start = time.perf_counter()
    log_w, _ = _log_weights(weight, visible_bias, hidden_bias, base_bias, betas, n_runs, generator)
    log_z, low, high = (float(value) for value in _log_mean_and_band(log_w[None]))
    return AISEstimate(log_z, low, high, log_weights=log_w.cpu(), seconds=time.perf_counter() - start)


@dataclass(frozen=True)
class AISRuns:
    """The runs of ``ais_runs`` for B RBMs: each run's log weight (B, runs), float64, and E[v | h] at beta = 1
    of its last hidden draw (B, runs, V): with the weights, the RBM's marginals P(v_i = 1)."""

    log_weights: Tensor
    visible_means: Tensor

    def log_partitions(self) -> tuple[Tensor, Tensor, Tensor]:
        """log Z of each RBM and its band, each a float64 tensor (B,)."""
        return _log_mean_and_band(self.log_weights)

    def normalised_weights(self) -> Tensor:
        """Each run's share of its RBM's summed weight (B, runs), float64."""
        return torch.softmax(self.log_weights, dim=1)

    def marginals(self, weights: Tensor | None = None) -> Tensor:
        """P(v_i = 1) of each RBM (B, V): the runs' E[v | h] averaged with their importance weights (self-normalised
        importance sampling: each run's final state is a draw from the RBM weighed by w); ``weights`` (B, runs), by
        default ``normalised_weights()``, e.g. a bootstrap's counts times them."""
        weights = self.normalised_weights() if weights is None else weights
        return torch.einsum("br,brv->bv", weights.to(self.visible_means), self.visible_means)

    def effective_runs(self) -> Tensor:
        """Kish's effective sample size of each RBM's weighted runs, 1 / sum w^2 (B,): from 1 (one run holds all
        the weight) to the number of runs (equal weights)."""
        return 1 / self.normalised_weights().square().sum(dim=1)


def ais_runs(weight: Tensor, visible_biases: Tensor, hidden_biases: Tensor, base_bias: Tensor, betas: Tensor,
             n_runs: int = 100, generator: torch.Generator | None = None) -> AISRuns:
    """AIS for B RBMs that share ``weight`` and differ in their biases (rows of ``visible_biases`` (B, V) and
    ``hidden_biases`` (B, H)), e.g. the RNN-RBM's conditional RBM at every frame: ``n_runs`` runs each, all B x
    n_runs advancing together."""
    rows = functools.partial(torch.repeat_interleave, repeats=n_runs, dim=0)
    base = base_bias if base_bias.dim() == 1 else rows(base_bias)  # one base-rate model for all, or one each
    log_w, means = _log_weights(weight, rows(visible_biases), rows(hidden_biases), base, betas,
                                n_runs * len(visible_biases), generator)
    return AISRuns(log_w.view(-1, n_runs), means.view(len(visible_biases), n_runs, -1))


def ais_log_partitions(weight: Tensor, visible_biases: Tensor, hidden_biases: Tensor, base_bias: Tensor,
                       betas: Tensor, n_runs: int = 100, generator: torch.Generator | None = None
                       ) -> tuple[Tensor, Tensor, Tensor]:
    """log Z of the B RBMs of ``ais_runs`` and its band, each a float64 tensor (B,)."""
    return ais_runs(weight, visible_biases, hidden_biases, base_bias, betas, n_runs, generator).log_partitions()


def _log_weights(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, base_bias: Tensor, betas: Tensor,
                 n_chains: int, generator: torch.Generator | None) -> Tensor:
    """The log importance weight of each of ``n_chains`` runs (float64), log Z_0 included, and E[v | h] of each
    run's last hidden draw, at beta = 1 (n_chains, V). The biases are vectors shared by every run, or one row
    per run."""
    n_hidden = weight.shape[0]
    weight, visible_bias, hidden_bias = weight.detach(), visible_bias.detach(), hidden_bias.detach()
    base_bias = base_bias.to(weight)
    log_z0 = n_hidden * math.log(2) + F.softplus(base_bias.double()).sum(dim=-1)
    v = _draw(torch.sigmoid(base_bias).expand(n_chains, -1), generator)
    log_w = torch.zeros(n_chains, dtype=torch.float64, device=weight.device)
    bias_shift = visible_bias - base_bias
    previous = 0.0
    for beta in betas[1:].tolist():
        hidden_input = torch.addmm(hidden_bias, v, weight.T)  # W v + c: the weight's step and the hidden draw share it
        tempered = beta * hidden_input
        step = (beta - previous) * (v * bias_shift).sum(dim=1) + (F.softplus(tempered)
                                                                  - F.softplus(previous * hidden_input)).sum(dim=1)
        log_w += step.double()
        h = _draw(tempered.sigmoid_(), generator)
        mean = torch.addmm(visible_bias, h, weight).mul_(beta).add_(base_bias, alpha=1 - beta).sigmoid_()
        v = _draw(mean, generator)
        previous = beta
    return log_w + log_z0, mean


def raise_log_probabilities(data: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor,
                            base_bias: Tensor, betas: Tensor, n_chains: int = 1,
                            generator: torch.Generator | None = None) -> Tensor:
    """RAISE's estimate of log p(v) for every row v of ``data`` (N, V) (float64, (N,)): ``n_chains`` reverse
    annealing runs per row, from v at beta = 1 down to the base-rate model ``base_bias`` (module docstring)."""
    n_hidden = weight.shape[0]
    weight, visible_bias, hidden_bias = weight.detach(), visible_bias.detach(), hidden_bias.detach()
    base_bias = base_bias.to(weight)
    log_z0 = n_hidden * math.log(2) + F.softplus(base_bias.double()).sum()
    v = data.to(weight).repeat_interleave(n_chains, dim=0)
    log_w = -free_energy(v, weight, visible_bias, hidden_bias).double()  # log p*_K(v_K), v_K the data
    bias_shift = visible_bias - base_bias
    betas = betas.tolist()
    for beta, below in zip(betas[:0:-1], betas[-2::-1]):  # (beta_k, beta_(k-1)) for k = K, ..., 1
        # v_(k-1) ~ T_k(. | v_k): the sweep of AIS at beta_k, then the weight's term at the new state
        h = _draw(torch.addmm(hidden_bias, v, weight.T).mul_(beta).sigmoid_(), generator)
        v = _draw(torch.addmm(visible_bias, h, weight).mul_(beta).add_(base_bias, alpha=1 - beta).sigmoid_(),
                  generator)
        hidden_input = torch.addmm(hidden_bias, v, weight.T)
        log_w -= ((beta - below) * (v * bias_shift).sum(dim=1)
                  + (F.softplus(beta * hidden_input) - F.softplus(below * hidden_input)).sum(dim=1)).double()
    log_w = (log_w - log_z0).view(-1, n_chains)
    return torch.logsumexp(log_w, dim=1) - math.log(n_chains)


def _draw(p: Tensor, generator: torch.Generator | None) -> Tensor:
    """A binary sample with P(1) = p: u < p, u uniform (torch.bernoulli takes twice as long on a CPU)."""
    return torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).lt_(p).to(p.dtype)


def _log_mean_and_band(log_w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per row of ``log_w`` (B, runs): the log of the mean weight, and of the mean -/+ 3 standard errors (-inf
    where 3 standard errors exceed the mean), computed relative to the row's largest weight."""
    top = log_w.max(dim=1, keepdim=True).values
    w = torch.exp(log_w - top)
    mean = w.mean(dim=1)
    error = 3 * w.std(dim=1) / math.sqrt(w.shape[1]) if w.shape[1] > 1 else torch.zeros_like(mean)
    top = top.squeeze(1)
    low = torch.where(mean > error, torch.log((mean - error).clamp_min(1e-300)) + top,
                      torch.full_like(mean, -math.inf))
    return torch.log(mean) + top, low, torch.log(mean + error) + top


def exact_log_partition(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, chunk: int = 4096,
                        dtype: torch.dtype = torch.float32) -> float:
    """log Z by summing over every hidden configuration, ``chunk`` at a time: for at most ``EXACT_MAX_HIDDEN``
    hidden units. log Z = logsumexp_h [h.c + sum_i softplus(b_i + (W^T h)_i)]. Each configuration's softplus
    terms are computed in ``dtype`` and summed in float64: in float32, 2^25 configurations of a 784-25 RBM took
    126 s on one core (2.1x faster than in float64 on 2^20), within a few 1e-6 nats of an all-float64 sum."""
    n_hidden = weight.shape[0]
    if n_hidden > EXACT_MAX_HIDDEN:
        raise ValueError(f"exact log Z sums over 2^{n_hidden} hidden configurations: at most "
                         f"{EXACT_MAX_HIDDEN} hidden units")
    weight, visible_bias, hidden_bias = (t.detach().to(dtype) for t in (weight, visible_bias, hidden_bias))
    bits = 2 ** torch.arange(n_hidden, device=weight.device)
    terms = []
    for first in range(0, 2**n_hidden, chunk):
        index = torch.arange(first, min(first + chunk, 2**n_hidden), device=weight.device)
        h = ((index[:, None] & bits) > 0).to(dtype)
        log_terms = (h @ hidden_bias).double() + F.softplus(torch.addmm(visible_bias, h, weight)).sum(
            dim=1, dtype=torch.float64)
        terms.append(torch.logsumexp(log_terms, dim=0))
    return float(torch.logsumexp(torch.stack(terms), dim=0))


def mean_log_probability(data: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, log_z: float,
                         batch_size: int = 10_000) -> float:
    """The average log p(v) = -F(v) - log Z over ``data`` (N, V), in nats."""
    total = 0.0
    with torch.no_grad():
        for batch in data.split(batch_size):
            total += float(-free_energy(batch.to(weight), weight, visible_bias, hidden_bias).double().sum())
    return total / len(data) - log_z


def dbn_log_probability_bound(data: Tensor, layers: list[tuple[Tensor, Tensor, Tensor]], log_z_top: float,
                              n_samples: int = 100, generator: torch.Generator | None = None,
                              batch_size: int = 1000) -> float:
    """The average variational lower bound on log p(v) of a DBN over ``data`` (N, V), in nats (Salakhutdinov &
    Murray 2008, section 5), estimated with ``n_samples`` draws of the hidden layers per example.

    ``layers`` are the stack's RBMs bottom up, each (weight, visible_bias, hidden_bias): the top one is an RBM
    over the last two layers (its partition function ``log_z_top``, by AIS), the ones below are directed:
    p(h_(l-1) | h_l) = prod sigm(b_l + W_l' h_l). The approximate posterior runs up the recognition weights,
    Q(h_l | h_(l-1)) = prod sigm(c_l + W_l h_(l-1)), and

        log p(v) >= E_Q[log p(v | h_1) + ... + log p(h_(L-2) | h_(L-1)) - F_top(h_(L-1)) - log Q(h | v)] - log Z_top.

    With a single layer there is nothing to infer and this is the exact -F(v) - log Z."""
    *directed, top = [tuple(t.detach() for t in layer) for layer in layers]
    total = 0.0
    for batch in data.split(batch_size):
        # every example n_samples times
        states, log_ratio = dbn_posterior_draws(batch.to(top[0]).repeat(n_samples, 1), directed, generator)
        log_ratio -= free_energy(states, *top).double()
        total += float(log_ratio.sum()) / n_samples
    return total / len(data) - log_z_top


def dbn_posterior_draws(data: Tensor, directed: list[tuple[Tensor, Tensor, Tensor]],
                        generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """One draw of a DBN's hidden layers per row of ``data`` from the approximate posterior Q, up the ``directed``
    layers (each (weight, visible_bias, hidden_bias), bottom up): the states h_(L-1) that the top RBM sees, and
    per row log p(v | h_1) + ... + log p(h_(L-2) | h_(L-1)) - log Q(h | v) (float64). With the top RBM's log
    p(h_(L-1)) added, its mean over draws is the bound of ``dbn_log_probability_bound``: with AIS's log Z there,
    -F_top - log Z_top; or RAISE's log p of the top RBM, from the other side."""
    below = data
    log_ratio = torch.zeros(len(below), dtype=torch.float64, device=below.device)
    for weight, visible_bias, hidden_bias in directed:
        up = F.linear(below, weight, hidden_bias)  # Q(h | below) = sigm(up)
        h = _draw(torch.sigmoid(up), generator)
        down = torch.addmm(visible_bias, h, weight)  # p(below | h) = sigm(down)
        log_ratio += (_bernoulli_log_likelihood(below, down) - _bernoulli_log_likelihood(h, up)).double()
        below = h
    return below, log_ratio


def _bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """log prod_i p_i^x_i (1 - p_i)^(1 - x_i), p = sigm(logits), per row: -binary cross-entropy, stably."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
