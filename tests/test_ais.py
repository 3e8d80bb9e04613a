"""Annealed importance sampling (dltutorials.sampling.ais) against exact partition functions."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from dltutorials.sampling import ais


def random_rbm(n_visible: int, n_hidden: int, scale: float, seed: int):
    generator = torch.Generator().manual_seed(seed)
    weight = scale * torch.randn(n_hidden, n_visible, generator=generator, dtype=torch.float64)
    visible_bias = 0.5 * torch.randn(n_visible, generator=generator, dtype=torch.float64)
    hidden_bias = 0.5 * torch.randn(n_hidden, generator=generator, dtype=torch.float64)
    return weight, visible_bias, hidden_bias


def brute_force_log_z(weight, visible_bias, hidden_bias) -> float:
    """log of the sum of exp(-E(v, h)) over every joint state, E = -v.b - h.c - h W v (written out here)."""
    n_hidden, n_visible = weight.shape
    terms = []
    for v in itertools.product([0.0, 1.0], repeat=n_visible):
        for h in itertools.product([0.0, 1.0], repeat=n_hidden):
            v_, h_ = torch.tensor(v, dtype=torch.float64), torch.tensor(h, dtype=torch.float64)
            terms.append(float(v_ @ visible_bias + h_ @ hidden_bias + h_ @ weight @ v_))
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def test_the_papers_schedule_has_14500_intermediate_distributions():
    betas = ais.inverse_temperatures()
    assert len(betas) == 14_501 and betas[0] == 0 and betas[-1] == 1
    assert bool((betas.diff() > 0).all())
    assert betas.diff()[0] == pytest.approx(1e-3) and betas.diff()[-1] == pytest.approx(1e-5)
    assert float(betas[500]) == pytest.approx(0.5) and float(betas[4500]) == pytest.approx(0.9)


@pytest.mark.parametrize("segments", [((0.5, 0.0),), ((0.5, 0.1), (0.4, 0.1)), ((0.5, 0.1),), ((1.5, 0.1),)])
def test_a_bad_schedule_is_refused(segments):
    with pytest.raises(ValueError, match="AIS schedule"):
        ais.inverse_temperatures(segments)


def test_exact_log_z_sums_every_joint_state():
    rbm = random_rbm(6, 5, scale=1.0, seed=0)
    assert ais.exact_log_partition(*rbm, chunk=8, dtype=torch.float64) == pytest.approx(brute_force_log_z(*rbm),
                                                                                        abs=1e-9)


@pytest.mark.parametrize("seed", [5, 6])
def test_exact_log_z_in_float32_agrees_with_float64(seed):
    """The default sums each configuration's float32 terms in float64: on an MNIST-sized RBM with weights as
    large as a trained one's, within a few 1e-6 nats of the all-float64 sum (docs/likelihoods.md), held here to
    1e-5. 16 hidden units rather than the 25 the docs measured (2^25 configurations take minutes): the error
    is that of each configuration's sum over the 784 pixels, which the number of configurations hardly changes
    (3.6e-6 and 6e-7 nats here, 7.7e-6 and 2.6e-6 with 20 hidden units). Summed in float32, the same terms are
    off by 4e-5 to 7e-5."""
    rbm = random_rbm(784, 16, scale=0.5, seed=seed)
    exact64 = ais.exact_log_partition(*rbm, dtype=torch.float64)
    assert ais.exact_log_partition(*rbm) == pytest.approx(exact64, abs=1e-5)


def test_free_energies_over_every_visible_state_sum_to_the_exact_z():
    """Summing exp(-F(v)) over the 2^V visible states (the other way round from exact_log_partition)."""
    rbm = random_rbm(10, 7, scale=1.0, seed=1)
    every_v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=10)), dtype=torch.float64)
    log_z = ais.exact_log_partition(*rbm, dtype=torch.float64)
    assert float(torch.logsumexp(-ais.free_energy(every_v, *rbm), 0)) == pytest.approx(log_z, abs=1e-9)
    probabilities = ais.mean_log_probability(every_v, *rbm, log_z=log_z)
    assert probabilities == pytest.approx(float((-ais.free_energy(every_v, *rbm)).mean()) - log_z)


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0], ids=["small", "unit", "large weights"])
def test_ais_agrees_with_the_exact_log_z_within_its_own_error(scale):
    weight, visible_bias, hidden_bias = random_rbm(40, 14, scale=scale, seed=2)
    generator = torch.Generator().manual_seed(3)
    data = torch.bernoulli(torch.rand(40, generator=generator).expand(500, -1), generator=generator)
    betas = ais.inverse_temperatures(((0.5, 1e-3), (0.9, 1e-3), (1.0, 1e-4)))
    estimate = ais.ais_log_partition(weight, visible_bias, hidden_bias, ais.base_rate_biases(data), betas,
                                     n_runs=200, generator=torch.Generator().manual_seed(4))
    exact = ais.exact_log_partition(weight, visible_bias, hidden_bias)
    assert estimate.log_z_low <= exact <= estimate.log_z_high, (estimate.log_z, exact)
    assert abs(estimate.log_z - exact) < 0.5
    assert estimate.log_weights.shape == (200,)


def test_the_base_rate_model_is_the_datas_smoothed_marginals():
    data = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    p = torch.sigmoid(ais.base_rate_biases(data, smoothing=0.05))
    expected = (torch.tensor([4.0, 0.0, 2.0]) + 0.05 * 4) / (4 * 1.1)
    torch.testing.assert_close(p, expected)
    assert bool(torch.isfinite(ais.base_rate_biases(data)).all()), "pixels always on or off get finite biases"


def test_ais_at_zero_weights_is_exact():
    """An RBM without interactions is the base-rate model with other biases: every run gets the same weight."""
    weight = torch.zeros(4, 9, dtype=torch.float64)
    visible_bias, hidden_bias = torch.linspace(-2, 2, 9, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    estimate = ais.ais_log_partition(weight, visible_bias, hidden_bias, visible_bias.clone(),
                                     ais.inverse_temperatures(((1.0, 0.1),)), n_runs=5)
    exact = ais.exact_log_partition(weight, visible_bias, hidden_bias, dtype=torch.float64)
    assert estimate.log_z == pytest.approx(exact, abs=1e-12)
    assert float(estimate.log_weights.std()) == pytest.approx(0, abs=1e-12)


def every_state(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def test_a_one_layer_dbn_bound_is_the_rbm_log_probability():
    rbm = random_rbm(12, 6, scale=1.0, seed=8)
    data = every_state(12)[::37]
    log_z = ais.exact_log_partition(*rbm, dtype=torch.float64)
    assert ais.dbn_log_probability_bound(data, [rbm], log_z, n_samples=3) == pytest.approx(
        ais.mean_log_probability(data, *rbm, log_z=log_z), abs=1e-9)


def small_dbn():
    """A 9-7-5 DBN small enough to sum over, some visible states, their exact log p(v) and their exact bound (the
    expectation over every h1 under Q), and the top RBM's log Z, with none computed by the code under test."""
    bottom, top = random_rbm(9, 7, scale=1.5, seed=9), random_rbm(7, 5, scale=1.5, seed=10)
    (w1, b1, c1), (w2, b2, c2) = bottom, top
    v, h1, h2 = every_state(9)[::11], every_state(7), every_state(5)
    # the top RBM's marginal over h1: log sum_h2 exp(h1.b2 + h2.c2 + h2' W2 h1)
    top_joint = h1 @ b2[:, None] + h2 @ c2 + h1 @ w2.T @ h2.T  # (h1 states, h2 states)
    log_top = torch.logsumexp(top_joint, dim=1) - torch.logsumexp(top_joint.flatten(), dim=0)
    p_v_given_h1 = torch.sigmoid(b1 + h1 @ w1)  # (h1 states, 9)
    log_p_v_given_h1 = (v[:, None, :] * p_v_given_h1.log() + (1 - v[:, None, :]) * (-p_v_given_h1).log1p()).sum(-1)
    exact = torch.logsumexp(log_p_v_given_h1 + log_top, dim=1)  # (v states,)
    q = torch.sigmoid(v @ w1.T + c1)  # Q(h1 = 1 | v)
    log_q = (h1[None] * q[:, None].log() + (1 - h1[None]) * (-q[:, None]).log1p()).sum(-1)  # (v, h1)
    exact_bound = (log_q.exp() * (log_p_v_given_h1 + log_top - log_q)).sum(dim=1)
    log_z_top = float(torch.logsumexp(top_joint.flatten(), dim=0))
    return bottom, top, v, exact, exact_bound, log_z_top


def test_the_dbn_bound_is_below_the_exact_log_probability_and_estimates_the_exact_bound():
    bottom, top, v, exact, exact_bound, log_z_top = small_dbn()
    estimate = ais.dbn_log_probability_bound(v, [bottom, top], log_z_top, n_samples=4000,
                                             generator=torch.Generator().manual_seed(11))
    assert float(exact_bound.mean()) < float(exact.mean())
    assert estimate == pytest.approx(float(exact_bound.mean()), abs=0.05)


def test_raise_on_the_top_rbm_of_posterior_draws_estimates_the_exact_bound():
    """The DBN row's second estimate: RAISE's log p of the top RBM, at draws of h1 from Q, in place of -F - log Z."""
    bottom, top, v, _, exact_bound, _ = small_dbn()
    n_draws = 1000
    states, log_ratio = ais.dbn_posterior_draws(v.repeat(n_draws, 1), [bottom],
                                                generator=torch.Generator().manual_seed(23))
    assert states.shape == (n_draws * len(v), 7) and log_ratio.dtype == torch.float64
    log_p_top = ais.raise_log_probabilities(states, *top, torch.zeros(7, dtype=torch.float64),
                                            ais.inverse_temperatures(((1.0, 1e-3),)),
                                            generator=torch.Generator().manual_seed(24))
    assert float((log_ratio + log_p_top).mean()) == pytest.approx(float(exact_bound.mean()), abs=0.05)


def test_rbms_sharing_their_weights_are_estimated_together_each_within_its_own_error():
    """The RNN-RBM's case: one weight matrix, biases that differ from frame to frame."""
    weight, _, _ = random_rbm(30, 10, scale=1.0, seed=12)
    generator = torch.Generator().manual_seed(13)
    visible_biases = torch.randn(4, 30, generator=generator, dtype=torch.float64)
    hidden_biases = torch.randn(4, 10, generator=generator, dtype=torch.float64)
    betas = ais.inverse_temperatures(((0.5, 1e-2), (1.0, 1e-3)))
    log_z, low, high = ais.ais_log_partitions(weight, visible_biases, hidden_biases, torch.zeros(30), betas,
                                              n_runs=100, generator=torch.Generator().manual_seed(14))
    exact = torch.tensor([ais.exact_log_partition(weight, b, c, dtype=torch.float64)
                          for b, c in zip(visible_biases, hidden_biases)], dtype=torch.float64)
    assert log_z.shape == (4,) and len(set(exact.tolist())) == 4
    assert bool(((low <= exact) & (exact <= high)).all()), (low, exact, high)
    assert torch.allclose(log_z, exact, atol=0.1)


def annealed_model_probabilities(weight, visible_bias, hidden_bias, base_bias, betas) -> torch.Tensor:
    """p_ann(v) for every visible state (rows of every_state): the base-rate model's distribution pushed through
    the Gibbs sweeps at beta_1, ..., beta_K as transition matrices, each sum_h p_k(h | v) p_k(v' | h) written out
    from the joint p_k(v, h) ∝ exp((1 - beta) v.b_A + beta (v.b + h.c + h W v))."""
    states, hiddens = every_state(weight.shape[1]), every_state(weight.shape[0])
    p = torch.sigmoid(base_bias)
    distribution = (states * p + (1 - states) * (1 - p)).prod(dim=1)
    for beta in betas[1:].tolist():
        log_joint = ((1 - beta) * states @ base_bias)[:, None] + beta * (
            (states @ visible_bias)[:, None] + (hiddens @ hidden_bias)[None, :] + states @ weight.T @ hiddens.T)
        joint = torch.exp(log_joint - log_joint.max())
        h_given_v = joint / joint.sum(dim=1, keepdim=True)   # (v, h)
        v_given_h = joint / joint.sum(dim=0, keepdim=True)   # (v', h), columns sum to 1
        distribution = distribution @ (h_given_v @ v_given_h.T)
    return distribution


def test_raise_weights_average_to_the_annealed_models_probability():
    """E[w] = p_ann(v): with a short schedule, p_ann is far from the RBM, and RAISE estimates p_ann, not p."""
    weight, visible_bias, hidden_bias = random_rbm(5, 3, scale=1.5, seed=21)
    base_bias = torch.tensor([0.3, -0.5, 1.0, 0.0, -1.2], dtype=torch.float64)
    betas = ais.inverse_temperatures(((1.0, 0.25),))
    states = every_state(5)
    p_ann = annealed_model_probabilities(weight, visible_bias, hidden_bias, base_bias, betas)
    exact = -ais.free_energy(states, weight, visible_bias, hidden_bias) - ais.exact_log_partition(
        weight, visible_bias, hidden_bias, dtype=torch.float64)
    assert float((p_ann.log() - exact).abs().max()) > 0.05  # four temperatures: p_ann is another model
    n_chains = 20_000
    log_p = ais.raise_log_probabilities(states, weight, visible_bias, hidden_bias, base_bias, betas,
                                        n_chains=n_chains, generator=torch.Generator().manual_seed(22))
    assert log_p.shape == (32,) and log_p.dtype == torch.float64
    # the mean of 20,000 weights: within 4 standard errors of p_ann (each w's spread bounded by 3 p_ann here)
    torch.testing.assert_close(log_p.exp(), p_ann, rtol=4 * 3 / math.sqrt(n_chains), atol=0)


def trained_rbm():
    """A 64-12 RBM trained by CD-1 (written out here) on bars and stripes: 16 patterns of 16 pixels, repeated four
    times across the 64, each pixel flipped with probability 0.05; and its 2,000 training examples."""
    generator = torch.Generator().manual_seed(5)
    rows = every_state(4)
    patterns = torch.cat([rows[:, :, None].expand(-1, 4, 4), rows[:, None, :].expand(-1, 4, 4)]).reshape(-1, 16)
    data = patterns.repeat(1, 4)[torch.randint(len(patterns), (2000,), generator=generator)]
    data = (data + (torch.rand(data.shape, generator=generator, dtype=torch.float64) < 0.05).double()) % 2
    weight = 0.01 * torch.randn(12, 64, generator=generator, dtype=torch.float64)
    visible_bias, hidden_bias = torch.zeros(64, dtype=torch.float64), torch.zeros(12, dtype=torch.float64)
    for _ in range(10):
        for v in data[torch.randperm(len(data), generator=generator)].split(20):
            h = torch.sigmoid(v @ weight.T + hidden_bias)
            h_sample = (torch.rand(h.shape, generator=generator, dtype=torch.float64) < h).double()
            v_model = torch.sigmoid(h_sample @ weight + visible_bias)
            v_model = (torch.rand(v_model.shape, generator=generator, dtype=torch.float64) < v_model).double()
            h_model = torch.sigmoid(v_model @ weight.T + hidden_bias)
            weight += 0.1 * (h.T @ v - h_model.T @ v_model) / len(v)
            visible_bias += 0.1 * (v - v_model).mean(dim=0)
            hidden_bias += 0.1 * (h - h_model).mean(dim=0)
    return (weight, visible_bias, hidden_bias), data


def test_ais_and_raise_bracket_the_exact_log_probability_of_a_trained_rbm():
    """On a trained RBM (sharp modes, unlike random ones), annealed too fast (ten temperatures): AIS's log Z errs
    low, so its log p(v) errs high, and RAISE's errs low; the exact one, summed over the 2^12 hidden states, is
    between them. A thousand temperatures bring both within 0.05 nats of it."""
    (weight, visible_bias, hidden_bias), data = trained_rbm()
    test = data[:200]
    base_bias = ais.base_rate_biases(data)
    exact_log_z = ais.exact_log_partition(weight, visible_bias, hidden_bias, dtype=torch.float64)
    exact = float((-ais.free_energy(test, weight, visible_bias, hidden_bias)).mean()) - exact_log_z

    def estimates(step):
        betas = ais.inverse_temperatures(((1.0, step),))
        forward = ais.ais_log_partition(weight, visible_bias, hidden_bias, base_bias, betas, n_runs=100,
                                        generator=torch.Generator().manual_seed(6))
        reverse = ais.raise_log_probabilities(test, weight, visible_bias, hidden_bias, base_bias, betas,
                                              generator=torch.Generator().manual_seed(7))
        return ais.mean_log_probability(test, weight, visible_bias, hidden_bias, forward.log_z), float(reverse.mean())

    fast_ais, fast_raise = estimates(0.1)
    assert fast_raise < exact - 0.3 and fast_ais > exact + 0.3, (fast_raise, exact, fast_ais)
    slow_ais, slow_raise = estimates(1e-3)
    assert abs(slow_ais - exact) < 0.05 and abs(slow_raise - exact) < 0.05, (slow_raise, exact, slow_ais)
