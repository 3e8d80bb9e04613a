"""The RNN-RBM's expected frame-level accuracy (dltutorials.sampling.frame_marginals): Gibbs estimates of each frame's
marginals against RBMs whose marginals are known (independent notes, a deterministic chain, all joint states
enumerated here), the accuracy's counts against numbers written out by hand and the baselines', and the
estimate's errors and mixing check on a small RNN-RBM."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
import torch

from dltutorials.models import music_baselines
from dltutorials.models.rnnrbm import RNNRBM
from dltutorials.sampling import ais
from dltutorials.sampling.frame_marginals import (
    ExpectedAccuracy,
    conditional_marginals,
    estimate_expected_accuracy,
    expected_accuracy,
    expected_accuracy_counts,
    frame_mean,
    importance_weighted_counts,
    spread,
)

# An RBM of 3 visible and 2 hidden units, and three rows of biases: three conditional RBMs sharing W.
WEIGHT = torch.tensor([[2.0, -1.5, 1.0],
                       [-1.0, 2.5, -2.0]], dtype=torch.float64)
VISIBLE_BIASES = torch.tensor([[-1.0, 0.5, 0.0],
                               [0.5, -1.0, 1.0],
                               [1.0, 1.0, -1.5]], dtype=torch.float64)
HIDDEN_BIASES = torch.tensor([[0.5, -1.0],
                              [-1.0, 0.5],
                              [0.0, 0.0]], dtype=torch.float64)


def exact_marginals(weight, visible_biases, hidden_biases):
    """P(v_i = 1) of every row's RBM, by summing exp(v.b_v + h.b_h + h W v) over all 2^(V + H) joint states (v, h)."""
    n_hidden, n_visible = weight.shape
    states = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n_visible + n_hidden)), dtype=torch.float64)
    v, h = states[:, :n_visible], states[:, n_visible:]
    # log of the unnormalised probability of each joint state (columns) in each row's RBM (rows)
    log_p = visible_biases @ v.T + hidden_biases @ h.T + ((h @ weight) * v).sum(dim=1)
    p = torch.softmax(log_p, dim=1)
    return p @ v


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


# -- conditional_marginals --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_steps, burn_in", [(1, 0), (5, 2)])
def test_without_weights_the_notes_are_independent_and_every_step_gives_the_exact_marginals(n_steps, burn_in):
    """W = 0: P(v | h) = sigm(b_v) whatever h, so the Rao-Blackwellised mean E[v | h] is q = sigm(b_v) exactly,
    from the first step averaged (a mean of binary v samples would be 0s and 1s)."""
    start = torch.tensor([[1.0, 0.0, 1.0]] * 3, dtype=torch.float64)
    q = conditional_marginals(torch.zeros(2, 3, dtype=torch.float64), VISIBLE_BIASES, HIDDEN_BIASES, start,
                              n_steps, burn_in, generator())
    torch.testing.assert_close(q, torch.sigmoid(VISIBLE_BIASES), atol=1e-6, rtol=0)


# A chain that is deterministic (every sigmoid 0 or 1): hidden 0 is on iff note 0 or 1 is, hidden 1 iff note 1
# or 2 is; note 0 follows hidden 0, note 2 hidden 1, note 1 either. From [1 0 0] the chain goes
#   h = [1 0] -> v = [1 1 0] -> h = [1 1] -> v = [1 1 1] -> h = [1 1] -> v = [1 1 1] ...
# so E[v | h] is [1 1 0] at step 1 and [1 1 1] from step 2 on; from silence it stays silent.
A = 1000.0
CHAIN_WEIGHT = torch.tensor([[A, A, 0.0],
                             [0.0, A, A]], dtype=torch.float64)
CHAIN_VISIBLE_BIAS = torch.full((1, 3), -A / 2, dtype=torch.float64)
CHAIN_HIDDEN_BIAS = torch.full((1, 2), -A / 2, dtype=torch.float64)


@pytest.mark.parametrize("start, n_steps, burn_in, expected", [
    ([1, 0, 0], 1, 0, [1, 1, 0]),              # step 1
    ([1, 0, 0], 3, 0, [1, 1, 2 / 3]),          # steps 1, 2, 3 averaged
    ([1, 0, 0], 3, 1, [1, 1, 1]),              # step 1 burnt: steps 2, 3
    ([1, 0, 0], 5, 3, [1, 1, 1]),              # steps 4, 5
    ([0, 0, 0], 3, 1, [0, 0, 0]),              # from silence
    ([0, 0, 1], 4, 0, [3 / 4, 1, 1]),          # h = [0 1] -> v = [0 1 1] -> h = [1 1] -> v = [1 1 1] ...
])
def test_a_deterministic_chain_averages_only_the_steps_after_the_burn_in_from_its_start(start, n_steps, burn_in,
                                                                                         expected):
    """Each step's E[v | h] written out above; the estimate is their mean over steps burn_in + 1 .. n_steps."""
    q = conditional_marginals(CHAIN_WEIGHT, CHAIN_VISIBLE_BIAS, CHAIN_HIDDEN_BIAS,
                              torch.tensor([start], dtype=torch.float64), n_steps, burn_in, generator())
    torch.testing.assert_close(q, torch.tensor([expected], dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("start", ["zeros", "ones", "sample"])
def test_long_chains_find_the_marginals_of_every_rows_rbm_from_any_start(start):
    """32 independent chains per row, 3000 steps (the first 100 burnt): their mean is within 4 standard errors
    (std over the chains / sqrt(32)) of the marginals enumerated over the 2^5 joint states, and that error is
    below 0.005. The exact marginals are not sigm(b_v): the weights matter."""
    n_chains = 32
    exact = exact_marginals(WEIGHT, VISIBLE_BIASES, HIDDEN_BIASES)
    assert (exact - torch.sigmoid(VISIBLE_BIASES)).abs().max() > 0.1
    shape = (n_chains * 3, 3)  # row r is a chain of RBM r % 3
    first = {"zeros": torch.zeros(shape, dtype=torch.float64), "ones": torch.ones(shape, dtype=torch.float64),
             "sample": (torch.rand(shape, generator=generator(5)) < 0.5).double()}[start]
    q = conditional_marginals(WEIGHT, VISIBLE_BIASES.repeat(n_chains, 1), HIDDEN_BIASES.repeat(n_chains, 1), first,
                              3000, 100, generator(1)).view(n_chains, 3, 3)
    error = q.std(dim=0) / math.sqrt(n_chains)
    assert error.max() < 0.005
    assert ((q.mean(dim=0) - exact).abs() <= 4 * error).all()


# -- the counts of the expected accuracy ------------------------------------------------------------------------
# -- the marginals from AIS's weighted runs ------------------------------------------------------------------------
def short_annealing(n_runs: int, seed: int) -> ais.AISRuns:
    """AIS through 4 temperatures from a base rate of 0.5 per note to the three RBMs above: too short for the runs'
    final states to be draws of the RBMs; their weights correct for it."""
    return ais.ais_runs(WEIGHT, VISIBLE_BIASES, HIDDEN_BIASES, torch.zeros(3, dtype=torch.float64),
                        torch.linspace(0, 1, 5, dtype=torch.float64), n_runs, generator(seed))


def test_the_weighted_runs_give_every_rbms_exact_marginals_where_their_final_states_alone_do_not():
    """20,000 runs: the importance-weighted E[v | h] of the runs' final states within 0.015 of the marginals
    enumerated over all 2^5 joint states, while their plain mean is more than 0.04 off for some RBM."""
    runs = short_annealing(20_000, seed=1)
    exact = exact_marginals(WEIGHT, VISIBLE_BIASES, HIDDEN_BIASES)
    assert (runs.marginals() - exact).abs().max() < 0.015
    assert (runs.visible_means.mean(dim=1) - exact).abs().max() > 0.04
    assert ((runs.effective_runs() > 1) & (runs.effective_runs() < 20_000)).all()


def test_the_bootstraps_standard_error_is_the_spread_of_independent_estimates():
    """The accuracy of three frames (one per RBM) from 50 runs each: over 60 independent annealings, the spread of
    the estimates and the bootstrap's standard error of one annealing agree within a factor 1.6, and the
    estimates centre on the exact accuracy."""
    frames = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    estimates, errors = [], []
    for seed in range(60):
        counts, replicates = importance_weighted_counts(short_annealing(50, seed), frames, 200, generator(100 + seed))
        estimates.append(counts.accuracy)
        errors.append(spread(replicates))
    exact = ExpectedAccuracy(*expected_accuracy_counts(exact_marginals(WEIGHT, VISIBLE_BIASES, HIDDEN_BIASES),
                                                       frames)).accuracy
    observed = statistics.stdev(estimates)
    assert 1 / 1.6 < statistics.mean(errors) / observed < 1.6
    assert abs(statistics.mean(estimates) - exact) < 4 * observed / math.sqrt(60)


def test_the_counts_and_the_accuracy_of_two_frames_by_hand():
    """sum q v = 0.9 + 0.5 + 0.7 = 2.1, sum q = 0.9 + 0.2 + 0.5 + 0.4 + 0.7 + 0.1 = 2.8, sum v = 3, so
    ACC_E = 2.1 / (2.8 + 3 - 2.1) = 2.1 / 3.7; counts add over frames (one frame at a time gives the same)."""
    q = torch.tensor([[0.9, 0.2, 0.5],
                      [0.4, 0.7, 0.1]], dtype=torch.float32)
    v = torch.tensor([[1.0, 0.0, 1.0],
                      [0.0, 1.0, 0.0]])
    counts = expected_accuracy_counts(q, v)
    assert counts == pytest.approx((2.1, 2.8, 3.0), abs=1e-6)
    assert expected_accuracy(*counts) == pytest.approx(2.1 / 3.7, abs=1e-6)
    # frame 0: (1.4, 1.6, 2); frame 1: (0.7, 1.2, 1)
    first, second = ExpectedAccuracy(*expected_accuracy_counts(q[:1], v[:1])), ExpectedAccuracy(
        *expected_accuracy_counts(q[1:], v[1:]))
    assert (first.sum_qv, first.sum_q, first.sum_v) == pytest.approx((1.4, 1.6, 2.0), abs=1e-6)
    assert (first + second).accuracy == pytest.approx(2.1 / 3.7, abs=1e-6)
    assert expected_accuracy(0.0, 0.0, 0.0) == 0.0  # nothing predicted and nothing played


def test_the_counts_give_the_baselines_expected_accuracy_for_their_exact_probabilities():
    """music_baselines.evaluate's expected_accuracy of a fitted Markov chain, from its own p summed over two tunes."""
    train = [np.array([[1, 1, 0], [0, 1, 0], [1, 1, 0], [0, 1, 1]]),
             np.array([[0, 1, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0], [0, 1, 0]])]
    tunes = [np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]]), np.array([[0, 1, 1], [1, 1, 1]])]
    baseline = music_baselines.fit("markov", train)
    total = sum((ExpectedAccuracy(*expected_accuracy_counts(torch.from_numpy(baseline.probabilities(tune)),
                                                            torch.from_numpy(tune))) for tune in tunes),
                ExpectedAccuracy())
    assert total.sum_v == 4 + 5  # the notes of the two tunes
    assert total.accuracy == pytest.approx(music_baselines.evaluate(baseline, tunes)["expected_accuracy"], rel=1e-12)


def test_the_note_frequencies_are_the_mean_over_all_frames_of_all_tunes():
    """Frames [1 0], [1 1] and [0 0]: note 0 on in 2 of 3 frames, note 1 in 1 (not the mean of the tunes' means)."""
    frequencies = frame_mean([torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 0.0]])])
    torch.testing.assert_close(frequencies, torch.tensor([2 / 3, 1 / 3], dtype=torch.float64))
    with pytest.raises(ValueError, match="frame_mean needs tunes"):
        frame_mean([torch.zeros(2, 3), torch.zeros(2, 4)])


# -- estimate_expected_accuracy on an RNN-RBM -------------------------------------------------------------------
def make_model(weight_scale: float, seed: int = 0) -> RNNRBM:
    """A float64 RNN-RBM of 6 notes, 4 hidden, 3 recurrent units; parameters N(0, 1), W times ``weight_scale``."""
    torch.manual_seed(seed)
    model = RNNRBM(6, 4, 3).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 1.0)
        model.initial_state.normal_(0, 1.0)
        model.weight.mul_(weight_scale)
    return model


def make_tunes() -> list[torch.Tensor]:
    """Two random tunes of 30 and 20 frames: each note starts on with probability 0.3 and keeps its state from
    one frame to the next with probability 0.9, so the previous frame is a start unlike silence."""
    g = generator(7)
    tunes = []
    for n_frames in (30, 20):
        frames = [torch.rand(6, generator=g) < 0.3]
        for _ in range(n_frames - 1):
            frames.append(frames[-1] ^ (torch.rand(6, generator=g) < 0.1))
        tunes.append(torch.stack(frames).double())
    return tunes


def exact_expected_accuracy(model: RNNRBM, tunes: list[torch.Tensor]) -> float:
    """ACC_E from every frame's exact marginals (enumerated), the RNN over each whole tune from u(0)."""
    sum_qv = sum_q = sum_v = 0.0
    for tune in tunes:
        _, bv_t, bh_t = model.recurrence(tune)
        q = exact_marginals(model.weight.detach(), bv_t.detach(), bh_t.detach())
        sum_qv, sum_q, sum_v = sum_qv + float((q * tune).sum()), sum_q + float(q.sum()), sum_v + float(tune.sum())
    return sum_qv / (sum_q + sum_v - sum_qv)


def test_without_weights_the_estimate_is_exact_over_whole_tunes():
    """W = 0: q_t = sigm(b_v(t)), b_v(t) from the recurrence over the whole tune; every chain gives the exact
    ACC_E, so every standard error is 0 and the starts agree."""
    model = make_model(0.0)
    tunes = make_tunes()
    result = estimate_expected_accuracy(model, tunes, note_frequencies=frame_mean(tunes), n_chains=3, n_steps=2,
                                        burn_in=1, generator=generator(3))
    sum_qv = sum_q = sum_v = 0.0
    for tune in tunes:
        q = torch.sigmoid(model.recurrence(tune)[1]).detach()
        sum_qv, sum_q, sum_v = sum_qv + float((q * tune).sum()), sum_q + float(q.sum()), sum_v + float(tune.sum())
    exact = sum_qv / (sum_q + sum_v - sum_qv)
    assert result["expected_accuracy"] == pytest.approx(exact, rel=1e-12)
    assert result["standard_error"] == pytest.approx(0, abs=1e-12)
    for kind in ("zeros", "previous", "marginals"):
        assert result["starts"][kind]["expected_accuracy"] == pytest.approx(exact, rel=1e-12)
    assert result["starts_agree"]
    assert (result["frames"], result["n_chains"], result["n_steps"], result["burn_in"]) == (50, 3, 2, 1)


def test_one_step_from_different_starts_disagrees_and_long_chains_agree_on_the_exact_accuracy():
    """W ~ N(0, 3^2): after one step, the estimate still depends on where the chains started (starts_agree
    False; the true previous frame and silence more than 6 standard errors apart); after 2000 steps (200 burnt)
    the three starts agree and the pooled estimate is within 4 standard errors of ACC_E from the marginals
    enumerated over the 2^10 joint states of every frame's RBM, and the one-step estimate from silence is not."""
    model = make_model(3.0)
    tunes = make_tunes()
    frequencies = frame_mean(tunes)
    short = estimate_expected_accuracy(model, tunes, note_frequencies=frequencies, n_chains=8, n_steps=1, burn_in=0,
                                       generator=generator(2))
    assert not short["starts_agree"]
    zeros, previous = short["starts"]["zeros"], short["starts"]["previous"]
    assert abs(zeros["expected_accuracy"] - previous["expected_accuracy"]) > 6 * math.hypot(
        zeros["standard_error"], previous["standard_error"])
    long = estimate_expected_accuracy(model, tunes, note_frequencies=frequencies, n_chains=8, n_steps=2000,
                                      burn_in=200, generator=generator(2))
    assert long["starts_agree"]
    exact = exact_expected_accuracy(model, tunes)
    assert 0 < long["standard_error"] < 0.001
    assert abs(long["expected_accuracy"] - exact) <= 4 * long["standard_error"]
    assert abs(short["starts"]["zeros"]["expected_accuracy"] - exact) > 5 * short["starts"]["zeros"]["standard_error"]


@pytest.mark.parametrize("starts", [("zeros", "previous", "marginals"), ("previous",)])
def test_the_per_start_and_pooled_numbers_follow_from_the_chains_counts(starts):
    """Per start: ACC_E of its chains' summed counts, se = std over its chains' accuracies / sqrt(n_chains);
    pooled: ACC_E of all chains' counts, se = std over all S x n_chains accuracies / sqrt(S x n_chains);
    starts_agree: every pair within 3 sqrt(se_a^2 + se_b^2). Every chain counts the 50 frames' notes as sum v,
    and the chains are independent (their counts differ)."""
    model = make_model(3.0)
    tunes = make_tunes()
    n_notes = float(sum(tune.sum() for tune in tunes))
    result = estimate_expected_accuracy(model, tunes, note_frequencies=frame_mean(tunes), starts=starts, n_chains=5,
                                        n_steps=3, burn_in=1, generator=generator(4))
    assert tuple(result["starts"]) == starts
    everything = []
    for numbers in result["starts"].values():
        chains = numbers["chains"]
        assert len(chains) == 5 and all(chain.sum_v == n_notes for chain in chains)
        assert len({chain.sum_q for chain in chains}) == 5
        accuracies = [chain.accuracy for chain in chains]
        summed = sum(chains, ExpectedAccuracy())
        expected = summed.sum_qv / (summed.sum_q + 5 * n_notes - summed.sum_qv)  # 5 chains: sum v = 5 x the notes
        assert numbers["expected_accuracy"] == pytest.approx(expected)
        assert numbers["standard_error"] == pytest.approx(statistics.stdev(accuracies) / math.sqrt(5))
        everything += chains
    summed = sum(everything, ExpectedAccuracy())
    assert result["expected_accuracy"] == pytest.approx(summed.accuracy)
    assert result["standard_error"] == pytest.approx(statistics.stdev([chain.accuracy for chain in everything])
                                                     / math.sqrt(5 * len(starts)))
    numbers = list(result["starts"].values())
    assert result["starts_agree"] == all(
        abs(a["expected_accuracy"] - b["expected_accuracy"]) <= 3 * math.hypot(a["standard_error"], b["standard_error"])
        for a, b in itertools.combinations(numbers, 2))


@pytest.mark.parametrize("starts, frequency, counts", [
    # from silence in both frames: q = 0 everywhere
    (("zeros",), 0.5, (0, 0, 5)),
    # frame 0 from silence (q = 0), frame 1 from the true frame 0 [0 1 1] (q = 1 1 1, 3 notes on)
    (("previous",), 0.5, (3, 3, 5)),
    # frequencies 1: both frames from [1 1 1] (q = 1 in all 6 pairs, 5 of them on); frequencies 0: from silence
    (("marginals",), 1.0, (5, 6, 5)),
    (("marginals",), 0.0, (0, 0, 5)),
])
def test_each_start_kind_starts_the_chains_where_it_says(starts, frequency, counts):
    """The deterministic chain above in an RNN-RBM whose RNN adds nothing, on the tune [0 1 1], [1 1 1]: one
    step, so E[v | h] is 0 from silence and 1 from any other start; every chain's counts (sum q v, sum q, sum v)."""
    model = RNNRBM(3, 2, 2).double()
    with torch.no_grad():
        model.weight.copy_(CHAIN_WEIGHT)
        model.visible_bias.fill_(-A / 2)
        model.hidden_bias.fill_(-A / 2)
        for name in ("W_uh", "W_uv", "W_vu", "W_uu"):
            getattr(model, name).zero_()
    tune = torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    result = estimate_expected_accuracy(model, [tune], note_frequencies=torch.full((3,), frequency), starts=starts,
                                        n_chains=2, n_steps=1, burn_in=0, generator=generator())
    for chain in result["starts"][starts[0]]["chains"]:
        assert (chain.sum_qv, chain.sum_q, chain.sum_v) == pytest.approx(counts)


@pytest.mark.parametrize("change, message", [
    ({"weight": torch.zeros(2, 4)}, "bv_t must be"),
    ({"weight": torch.zeros(2)}, "weight must be"),
    ({"bh_t": torch.zeros(3, 3)}, "bh_t must be"),
    ({"start": torch.zeros(2, 3)}, "start must be"),
    ({"n_steps": 0}, "n_steps must be"),
    ({"burn_in": 5}, "burn_in must be"),
    ({"burn_in": -1}, "burn_in must be"),
])
def test_conditional_marginals_refuses_bad_inputs(change, message):
    """Wrong shapes, no steps, a burn-in outside 0 .. n_steps - 1: a one-line ValueError naming the argument."""
    arguments = {"weight": torch.zeros(2, 3), "bv_t": torch.zeros(3, 3), "bh_t": torch.zeros(3, 2),
                 "start": torch.zeros(3, 3), "n_steps": 5, "burn_in": 1} | change
    with pytest.raises(ValueError, match=message) as raised:
        conditional_marginals(**arguments)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("change, message", [
    ({"n_chains": 1}, "n_chains must be"),
    ({"starts": ("zeros", "random")}, "starts must be"),
    ({"starts": ()}, "starts must be"),
    ({"starts": ("zeros", "zeros")}, "starts must be"),
    ({"n_steps": 3, "burn_in": 3}, "burn_in must be"),
    ({"note_frequencies": None}, "note_frequencies of shape"),
    ({"note_frequencies": torch.full((5,), 0.5)}, "note_frequencies of shape"),
    ({"note_frequencies": torch.full((6,), 1.5)}, "note_frequencies must lie"),
    ({"tunes": []}, "no tunes"),
    ({"tunes": [torch.zeros(4, 5)]}, "tune 0 must be"),
    ({"tunes": [torch.zeros(4, 6), torch.full((2, 6), 0.5)]}, "tune 1 is not binary"),
])
def test_estimate_expected_accuracy_refuses_bad_inputs(change, message):
    """Fewer than two chains, an unknown, repeated or no start kind, a burn-in as long as the chain, missing or
    wrong note frequencies, no tunes, a tune of the wrong notes or not binary: a one-line ValueError."""
    arguments = {"tunes": [torch.zeros(4, 6)], "note_frequencies": torch.full((6,), 0.5), "n_steps": 3,
                 "burn_in": 1} | change
    with pytest.raises(ValueError, match=message) as raised:
        estimate_expected_accuracy(make_model(1.0), **arguments)
    assert "\n" not in str(raised.value)
