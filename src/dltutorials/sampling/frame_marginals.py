"""The RNN-RBM's expected frame-level accuracy, estimated by MCMC with a Monte-Carlo error and a mixing check.

Given the true past v(<t), frame t of a tune is modelled by a conditional RBM with the shared weight W
(n_hidden, n_visible) and the biases b_v(t), b_h(t) of ``RNNRBM.recurrence``. Its marginals

    q_t[i] = P(v_t[i] = 1 | v(<t))

play the part of the baselines' exact on-probabilities p (``dltutorials.models.music_baselines``): the
expected accuracy of predictions sampled from the model is the ratio of expectations over a split

    E[TP] = sum q v,   E[FP] = sum q (1 - v),   E[FN] = sum (1 - q) v,
    ACC_E = E[TP] / (E[TP] + E[FP] + E[FN]) = sum q v / (sum q + sum v - sum q v).

q_t is not known in closed form. ``importance_weighted_counts`` takes it from the AIS runs that estimate each
frame's log Z (``dltutorials.sampling.ais.AISRuns``): annealing starts every run from the base-rate model, not
from a state of the frame's RBM, and weighs where it ends, so the estimate does not depend on a start; its
standard error comes from a bootstrap over each frame's runs.

``estimate_expected_accuracy`` is the check by Gibbs chains: a chain h ~ P(h | v), v ~ P(v | h) runs in every
frame's RBM (all frames at once, as the frames of a minibatch), and after a burn-in the Rao-Blackwellised means
E[v | h] = sigm(b_v(t) + h W) are averaged. Chains from different starts (a silent frame, the true previous
frame, a sample of the notes' frequencies) and several independent chains per start give the estimate's
standard error and tell whether the chains forget where they started: if they mix, every start estimates the
same ACC_E.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dltutorials.sampling.ais import AISRuns

STARTS = ("zeros", "previous", "marginals")


def _draw(p: Tensor, generator: torch.Generator | None) -> Tensor:
    """A binary sample with P(1) = p, of p's dtype: u < p with u ~ U[0, 1), written into the uniforms in place."""
    return torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).lt_(p)


def _check_steps(n_steps: int, burn_in: int) -> None:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < n_steps:
        raise ValueError(f"burn_in must be an integer with 0 <= burn_in < n_steps = {n_steps}, got {burn_in!r}")


def conditional_marginals(weight: Tensor, bv_t: Tensor, bh_t: Tensor, start: Tensor, n_steps: int, burn_in: int,
                          generator: torch.Generator | None = None) -> Tensor:
    """Estimates of q_t = P(v = 1) in the RBM of every row t: (T, V), one Gibbs chain per row from ``start`` (T, V).

    Row t's RBM has the weight W (H, V) and the biases bv_t[t], bh_t[t]. Each of the ``n_steps`` steps draws
    h ~ P(h | v) = sigm(b_h(t) + v W') and then v ~ P(v | h) = sigm(b_v(t) + h W), all rows at once; the
    estimate is the mean of E[v | h] = sigm(b_v(t) + h W) over steps burn_in + 1, ..., n_steps.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be (n_hidden, n_visible), got shape {tuple(weight.shape)}")
    n_hidden, n_visible = weight.shape
    if bv_t.dim() != 2 or bv_t.shape[1] != n_visible:
        raise ValueError(f"bv_t must be (T, {n_visible}), got shape {tuple(bv_t.shape)}")
    if bh_t.shape != (len(bv_t), n_hidden):
        raise ValueError(f"bh_t must be ({len(bv_t)}, {n_hidden}), got shape {tuple(bh_t.shape)}")
    if start.shape != bv_t.shape:
        raise ValueError(f"start must be {tuple(bv_t.shape)} like bv_t, got shape {tuple(start.shape)}")
    _check_steps(n_steps, burn_in)
    v = start.to(bv_t.dtype)
    total = torch.zeros_like(bv_t)
    for step in range(n_steps):
        h = _draw(torch.addmm(bh_t, v, weight.T).sigmoid_(), generator)
        mean = torch.addmm(bv_t, h, weight).sigmoid_()  # E[v | h]
        if step >= burn_in:
            total += mean
        if step < n_steps - 1:
            v = _draw(mean, generator)
    return total.div_(n_steps - burn_in)


def expected_accuracy_counts(q: Tensor, v: Tensor) -> tuple[float, float, float]:
    """(sum q v, sum q, sum v) in float64, for the on-probabilities ``q`` of the notes ``v`` (0/1), same shape."""
    if q.shape != v.shape:
        raise ValueError(f"q and v must have the same shape, got {tuple(q.shape)} and {tuple(v.shape)}")
    q, v = q.double(), v.double()
    return float((q * v).sum()), float(q.sum()), float(v.sum())


def expected_accuracy(sum_qv: float, sum_q: float, sum_v: float) -> float:
    """ACC_E = sum q v / (sum q + sum v - sum q v), i.e. E[TP] / (E[TP] + E[FP] + E[FN]); 0 when that is 0."""
    denominator = sum_q + sum_v - sum_qv
    return sum_qv / denominator if denominator != 0 else 0.0


@dataclass(frozen=True)
class ExpectedAccuracy:
    """The counts of one chain (or of several) summed over frames and tunes: sum q v, sum q, sum v."""

    sum_qv: float = 0.0
    sum_q: float = 0.0
    sum_v: float = 0.0

    def __add__(self, other: ExpectedAccuracy) -> ExpectedAccuracy:
        return ExpectedAccuracy(self.sum_qv + other.sum_qv, self.sum_q + other.sum_q, self.sum_v + other.sum_v)

    @property
    def accuracy(self) -> float:
        return expected_accuracy(self.sum_qv, self.sum_q, self.sum_v)


def importance_weighted_counts(runs: AISRuns, v: Tensor, n_resamples: int, generator: torch.Generator | None = None
                               ) -> tuple[ExpectedAccuracy, list[ExpectedAccuracy]]:
    """The counts of the frames ``v`` (B, V) with q = ``runs.marginals()``, the B frames' AIS runs weighted, and
    those of ``n_resamples`` bootstrap replicates: each frame's runs drawn again with replacement, their weights
    normalised over the draw. Summed over batches of frames, the spread of the replicates' accuracies is the
    estimate's standard error."""
    if v.shape != runs.visible_means[:, 0].shape:
        raise ValueError(f"v must be {tuple(runs.visible_means[:, 0].shape)}, one frame per RBM of the runs, "
                         f"got shape {tuple(v.shape)}")
    counts = ExpectedAccuracy(*expected_accuracy_counts(runs.marginals(), v))
    n_frames, n_runs = runs.log_weights.shape
    replicates = []
    for _ in range(n_resamples):
        picks = torch.randint(n_runs, (n_frames, n_runs), generator=generator, device=v.device)
        times_drawn = torch.zeros(n_frames, n_runs, dtype=torch.float64, device=v.device).scatter_add_(
            1, picks, torch.ones(n_frames, n_runs, dtype=torch.float64, device=v.device))
        weights = torch.softmax(runs.log_weights + times_drawn.log(), dim=1)  # in log space: no weight underflows
        replicates.append(ExpectedAccuracy(*expected_accuracy_counts(runs.marginals(weights), v)))
    return counts, replicates


def spread(replicates: Sequence[ExpectedAccuracy]) -> float:
    """The standard deviation of the replicates' accuracies: a bootstrap's standard error."""
    return float(torch.tensor([replicate.accuracy for replicate in replicates], dtype=torch.float64).std())


def frame_mean(tunes: Sequence[Tensor]) -> Tensor:
    """Each note's frequency over all frames of ``tunes`` (V,), float64: the ``note_frequencies`` of a training set."""
    if len(tunes) == 0 or len({tune.shape[1:] for tune in tunes}) != 1 or tunes[0].dim() != 2:
        raise ValueError(f"frame_mean needs tunes (T, V) of one V, got shapes {[tuple(t.shape) for t in tunes]}")
    return torch.cat(list(tunes)).mean(dim=0, dtype=torch.float64)


def _start(kind: str, v: Tensor, note_frequencies: Tensor | None, generator: torch.Generator | None) -> Tensor:
    """A start of every frame's chain (T, V): a silent frame, the true previous frame, or a sample of the notes'
    frequencies."""
    if kind == "zeros":
        return torch.zeros_like(v)
    if kind == "previous":
        return torch.cat((torch.zeros_like(v[:1]), v[:-1]))
    return _draw(note_frequencies.expand_as(v), generator)


def _pooled(chains: list[ExpectedAccuracy]) -> tuple[float, float]:
    """The accuracy of the summed counts, and its standard error: std over the chains' accuracies / sqrt(n)."""
    accuracies = torch.tensor([chain.accuracy for chain in chains], dtype=torch.float64)
    return sum(chains, ExpectedAccuracy()).accuracy, float(accuracies.std()) / math.sqrt(len(chains))


def estimate_expected_accuracy(model, tunes: Sequence[Tensor], *, note_frequencies: Tensor | None = None,
                               starts: Sequence[str] = STARTS, n_chains: int = 4, n_steps: int = 100,
                               burn_in: int = 25, generator: torch.Generator | None = None) -> dict:
    """ACC_E of ``model`` (anything with ``recurrence`` and ``weight``, an RNNRBM) on ``tunes``, with its error.

    Each tune (T, V) of 0/1 is one sequence, the RNN starting from u(0) at its first frame; b_v(t), b_h(t) come
    from ``model.recurrence(tune)``. For each start kind and each of ``n_chains`` independent chains,
    ``conditional_marginals`` estimates q over all frames and the chain's counts are summed over the tunes.
    Start kinds: "zeros" (a silent frame), "previous" (the true v(t-1), a silent frame for t = 0),
    "marginals" (a binary sample of ``note_frequencies`` (V,), the mean of the training frames).

    Returns ``expected_accuracy`` (the ratio of the counts summed over all starts and chains) and
    ``standard_error`` (std over the S x n_chains per-chain accuracies / sqrt(S x n_chains)); ``starts``: per
    start kind, ``expected_accuracy`` and ``standard_error`` the same over its own chains, and ``chains`` (each
    chain's ``ExpectedAccuracy`` counts); ``starts_agree``: whether every pair of start kinds a, b differs by at
    most 3 sqrt(se_a^2 + se_b^2) (the chains forgot their start); ``frames``, ``n_chains``, ``n_steps``,
    ``burn_in``. The default chain is 4 times ``RNNRBM.evaluate``'s 25 steps, its first quarter burnt.
    """
    starts = tuple(starts)
    unknown = [kind for kind in starts if kind not in STARTS]
    if not starts or unknown or len(set(starts)) < len(starts):
        raise ValueError(f"starts must be distinct kinds among {', '.join(STARTS)}, got {starts!r}")
    if isinstance(n_chains, bool) or not isinstance(n_chains, int) or n_chains < 2:
        raise ValueError(f"n_chains must be an integer >= 2 (its standard error needs two chains), got {n_chains!r}")
    _check_steps(n_steps, burn_in)
    weight = model.weight.detach()
    n_visible = weight.shape[1]
    if "marginals" in starts:
        if note_frequencies is None or note_frequencies.shape != (n_visible,):
            shape = None if note_frequencies is None else tuple(note_frequencies.shape)
            raise ValueError(f"the 'marginals' start needs note_frequencies of shape ({n_visible},), got {shape}")
        if not bool(((note_frequencies >= 0) & (note_frequencies <= 1)).all()):
            raise ValueError("note_frequencies must lie in [0, 1]")
        note_frequencies = note_frequencies.to(weight)
    if len(tunes) == 0:
        raise ValueError("no tunes: the estimate needs at least one tune (T, V)")
    for k, tune in enumerate(tunes):
        if tune.dim() != 2 or tune.shape[0] == 0 or tune.shape[1] != n_visible:
            raise ValueError(f"tune {k} must be (T >= 1, {n_visible}), got shape {tuple(tune.shape)}")
        if not bool(((tune == 0) | (tune == 1)).all()):
            raise ValueError(f"tune {k} is not binary: a piano roll holds only 0 and 1")

    n_runs = len(starts) * n_chains  # run r is chain r % n_chains of start kind r // n_chains
    counts = [ExpectedAccuracy()] * n_runs
    with torch.no_grad():
        for tune in tunes:
            v = tune.to(weight)
            _, bv_t, bh_t = model.recurrence(v)
            start = torch.cat([_start(kind, v, note_frequencies, generator) for kind in starts
                               for _ in range(n_chains)])
            q = conditional_marginals(weight, bv_t.repeat(n_runs, 1), bh_t.repeat(n_runs, 1), start, n_steps,
                                      burn_in, generator)
            counts = [total + ExpectedAccuracy(*expected_accuracy_counts(q_run, v))
                      for total, q_run in zip(counts, q.view(n_runs, *v.shape))]

    per_start = {}
    for index, kind in enumerate(starts):
        chains = counts[index * n_chains:(index + 1) * n_chains]
        accuracy, error = _pooled(chains)
        per_start[kind] = {"expected_accuracy": accuracy, "standard_error": error, "chains": chains}
    accuracy, error = _pooled(counts)
    agree = all(abs(a["expected_accuracy"] - b["expected_accuracy"])
                <= 3 * math.hypot(a["standard_error"], b["standard_error"])
                for a, b in itertools.combinations(per_start.values(), 2))
    return {"expected_accuracy": accuracy, "standard_error": error, "starts": per_start, "starts_agree": agree,
            "frames": sum(len(tune) for tune in tunes), "n_chains": n_chains, "n_steps": n_steps,
            "burn_in": burn_in}
