"""The RBM of tutorial chapter 9: free energy, Gibbs sampling, CD-k / PCD-k updates, monitors."""

from __future__ import annotations

import copy
import itertools
import math
import warnings

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from dltutorials.models.functional import bernoulli
from dltutorials.models.layer import PretrainedLayer
from dltutorials.models.rbm import RBM


def make_rbm(n_visible=12, n_hidden=7, seed=0, **kwargs) -> RBM:
    torch.manual_seed(seed)
    rbm = RBM(n_visible, n_hidden, learning_rate=kwargs.pop("learning_rate", 0.1), **kwargs)
    with torch.no_grad():  # non-zero biases so that every term of the formulas is exercised
        rbm.hidden_bias.normal_(0, 0.5)
        rbm.visible_bias.normal_(0, 0.5)
    return rbm


def params(rbm: RBM) -> list[torch.Tensor]:
    return [rbm.weight.detach().clone(), rbm.hidden_bias.detach().clone(), rbm.visible_bias.detach().clone()]


def energy(rbm: RBM, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) = -b'v - c'h - h'Wv (Eq. 9.6)."""
    return -(v @ rbm.visible_bias) - h @ rbm.hidden_bias - h @ rbm.weight @ v


def binary_vectors(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_and_conditionals_match_brute_force():
    rbm = make_rbm(n_visible=3, n_hidden=4)
    visibles, hiddens = binary_vectors(3), binary_vectors(4)
    with torch.no_grad():
        fe = rbm.free_energy(visibles)
        for v, f in zip(visibles, fe):
            energies = torch.stack([energy(rbm, v, h) for h in hiddens])
            # F(v) = -log sum_h exp(-E(v, h))  (Eq. 9.3)
            assert f.item() == pytest.approx(-torch.logsumexp(-energies, 0).item(), abs=1e-5)
            # P(h_i = 1 | v) from the joint equals propup's mean (Eq. 9.7)
            p_h = torch.softmax(-energies, 0)
            assert torch.allclose(rbm.propup(v[None])[1][0], p_h @ hiddens, atol=1e-6)
        # P(v_j = 1 | h) (Eq. 9.8) for one hidden configuration
        h = hiddens[5]
        p_v = torch.softmax(torch.stack([-energy(rbm, v, h) for v in visibles]), 0)
        assert torch.allclose(rbm.propdown(h[None])[1][0], p_v @ visibles, atol=1e-6)
        # and the closed form of Eq. 9.9 on real-valued inputs
        v = torch.rand(5, 3)
        pre = v @ rbm.weight.T + rbm.hidden_bias
        expected = -(v @ rbm.visible_bias) - torch.log(1 + torch.exp(pre)).sum(1)
        assert torch.allclose(rbm.free_energy(v), expected, atol=1e-5)


def test_gibbs_steps_return_what_the_tutorial_returns():
    rbm = make_rbm()
    v = (torch.rand(5, 12) < 0.5).float()
    with torch.no_grad():
        pre_h, h_mean, h, pre_v, v_mean, v1 = rbm.gibbs_vhv(v)
        assert torch.allclose(h_mean, torch.sigmoid(pre_h)) and torch.allclose(v_mean, torch.sigmoid(pre_v))
        assert torch.equal(pre_h, rbm.propup(v)[0]) and torch.equal(pre_v, rbm.propdown(h)[0])
        assert set(h.unique().tolist()) <= {0.0, 1.0} and set(v1.unique().tolist()) <= {0.0, 1.0}
        out = rbm.gibbs_hvh(h)
        assert [t.shape for t in out] == [(5, 12)] * 3 + [(5, 7)] * 3
    # the sample is Bernoulli(p): frequency of ones over many draws
    p = torch.full((20000,), 0.3)
    assert bernoulli(p).mean().item() == pytest.approx(0.3, abs=0.015)


def cd_by_hand(rbm: RBM, x: torch.Tensor, k: int, chain_start: torch.Tensor | None = None):
    """The tutorial's get_cost_updates written out: k gibbs_hvh steps and the CD statistics."""
    with torch.no_grad():
        if chain_start is None:  # CD: from a sample of P(h|x)
            _, h0_mean, h = rbm.sample_h_given_v(x)
        else:  # PCD: from the stored chain (the positive sample is not drawn)
            h0_mean, h = rbm.propup(x)[1], chain_start
        for _ in range(k):
            pre_v, _, vk, _, hk_mean, h = rbm.gibbs_hvh(h)
        lr, b = rbm.learning_rate, len(x)
        new = [rbm.weight + lr / b * (h0_mean.T @ x - hk_mean.T @ vk),
               rbm.hidden_bias + lr / b * (h0_mean - hk_mean).sum(0),
               rbm.visible_bias + lr / b * (x - vk).sum(0)]
    return new, pre_v, h


@pytest.mark.parametrize("k", [1, 3])
def test_cd_k_update_is_the_free_energy_gradient_step_after_k_gibbs_steps(k):
    rbm = make_rbm(cd_k=k)
    x = torch.rand(6, 12)
    torch.manual_seed(1)
    expected, pre_v, _ = cd_by_hand(copy.deepcopy(rbm), x, k)
    calls = []
    original = rbm.sample_v_given_h
    rbm.sample_v_given_h = lambda h: calls.append(1) or original(h)
    torch.manual_seed(1)
    monitor = rbm.update(x)
    assert len(calls) == k  # k Gibbs steps, each sampling the visibles once
    for got, want in zip(params(rbm), expected):
        assert torch.allclose(got, want, atol=1e-6)
    # a chain of another length gives another update
    other = make_rbm()
    torch.manual_seed(1)
    wrong, _, _ = cd_by_hand(other, x, k + 1)
    assert not torch.allclose(params(rbm)[0], wrong[0], atol=1e-6)
    # monitor: the reconstruction cross-entropy of the last step, a positive cost
    manual = -(x * F.logsigmoid(pre_v) + (1 - x) * F.logsigmoid(-pre_v)).sum(1).mean()
    assert monitor.item() == pytest.approx(manual.item(), rel=1e-5)
    assert monitor.item() > 0 and not monitor.requires_grad


@pytest.mark.parametrize("settings", [{}, {"weight_decay": 0.05, "momentum": 0.9}])
@pytest.mark.parametrize("persistent", [False, True])
def test_explicit_and_autograd_gradients_give_the_same_update(persistent, settings):
    explicit = make_rbm(persistent=persistent, gradient="explicit", **settings)
    autograd = make_rbm(persistent=persistent, gradient="autograd", **settings)
    assert explicit.configure_optimizers() is None and autograd.configure_optimizers() is None
    x = torch.rand(5, 12)
    for step in range(3):  # PCD: the next update starts from the chain the last left; momentum accumulates
        torch.manual_seed(10 + step)
        m_explicit = explicit.update(x)
        torch.manual_seed(10 + step)
        m_autograd = autograd.update(x)
        assert m_explicit.item() == pytest.approx(m_autograd.item(), rel=1e-5, abs=1e-5)
        for a, b in zip(params(explicit), params(autograd)):
            assert torch.allclose(a, b, atol=1e-5)
        if persistent:
            assert torch.equal(explicit.persistent_chain, autograd.persistent_chain)
    assert not torch.allclose(params(explicit)[0], make_rbm().weight)  # the parameters did move


@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_momentum_weight_decay_and_the_schedules_step_follow_the_recipe_written_out(gradient):
    """Delta <- mu Delta + lr (<h x'>_data - <h v'>_chain - lambda W), theta <- theta + Delta (biases undecayed),
    with CD-1 written out in plain torch from the same uniform draws (h0, then v1), in the order they are drawn."""
    decay = 0.05
    rbm = make_rbm(weight_decay=decay, momentum=0.9, gradient=gradient)
    w, c, b = (t.clone() for t in params(rbm))
    deltas = [torch.zeros_like(w), torch.zeros_like(c), torch.zeros_like(b)]
    x = (torch.rand(4, 12) < 0.4).float()  # 4 rows: the hidden means are then row-major, as torch.rand's draws
    for step, (rate, momentum) in enumerate([(0.1, 0.5), (0.1, 0.9), (0.02, 0.9)]):
        rbm.step_settings = lambda rate=rate, momentum=momentum: (rate, momentum)  # the epoch's schedule
        torch.manual_seed(20 + step)
        h0_mean = torch.sigmoid(x @ w.T + c)
        h0 = (torch.rand(4, 7) < h0_mean).float()
        v1 = (torch.rand(4, 12) < torch.sigmoid(h0 @ w + b)).float()
        h1_mean = torch.sigmoid(v1 @ w.T + c)
        gradients = [(h0_mean.T @ x - h1_mean.T @ v1) / 4 - decay * w, (h0_mean - h1_mean).mean(0), (x - v1).mean(0)]
        deltas = [momentum * delta + rate * gradient for delta, gradient in zip(deltas, gradients)]
        w, c, b = w + deltas[0], c + deltas[1], b + deltas[2]
        torch.manual_seed(20 + step)
        rbm.update(x)
        for got, want in zip(params(rbm), (w, c, b)):
            assert torch.allclose(got, want, atol=1e-6)


def quiet_trainer(max_epochs: int, **kwargs) -> L.Trainer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # srun and the like: nothing about the model
        return L.Trainer(max_epochs=max_epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, **kwargs)


def fit_recording_each_epoch(rbm: RBM, max_epochs: int) -> list[tuple]:
    """Fit on two minibatches of bars and stripes per epoch; per epoch (rate, momentum, k, the Gibbs steps each
    update ran), the steps counted from the calls to sample_v_given_h."""
    seen, chain_lengths = [], []
    sample_v_given_h = rbm.sample_v_given_h
    rbm.sample_v_given_h = lambda h: chain_lengths.append(1) or sample_v_given_h(h)

    class Record(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            seen.append((*pl_module.step_settings(), pl_module.gibbs_steps()))
            chain_lengths.clear()

        def on_train_epoch_end(self, trainer, pl_module):
            seen[-1] += (len(chain_lengths) / 2,)  # two updates per epoch

    chunks = [(bars_and_stripes(8)[torch.randperm(512)[:40]].view(2, 20, 64),)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet_trainer(max_epochs, callbacks=[Record()]).fit(rbm, train_dataloaders=DataLoader(chunks, batch_size=None))
    return seen


def test_the_schedules_give_each_epoch_its_rate_momentum_and_k():
    """Linear decay lr (1 - e/E), the initial momentum for the first epochs and k rising linearly from
    cd_k_initial to cd_k, read by a real Trainer's epochs, and the k of an epoch is its chain's length."""
    torch.manual_seed(0)
    rbm = RBM(64, 16, learning_rate=0.1, momentum=0.9, initial_momentum=0.5, initial_momentum_epochs=2,
              learning_rate_decay="linear", cd_k=8, cd_k_initial=2)
    seen = fit_recording_each_epoch(rbm, max_epochs=4)
    assert seen == [pytest.approx(settings) for settings in [(0.1, 0.5, 2, 2), (0.075, 0.5, 4, 4),
                                                                (0.05, 0.9, 6, 6), (0.025, 0.9, 8, 8)]]
    assert all(torch.isfinite(v).all() for v in rbm.velocities) and rbm.velocities[0].abs().sum() > 0
    plain = RBM(4, 3, learning_rate=0.1, cd_k=5)  # off by default, outside a Trainer too
    assert plain.step_settings() == (0.1, 0.0) and plain.gibbs_steps() == 5
    assert RBM(4, 3, learning_rate=0.1, cd_k=5, cd_k_initial=3).gibbs_steps() == 3  # epoch 0 outside a Trainer


def test_cd_k_every_gives_each_epoch_its_k_and_its_rate_divided_by_k():
    """rbm.m's anneal_lr: epoch e (from 0) runs k = min(cd_k, ceil((e + 1) / s)) steps at rate lr / k, read by a
    real Trainer's epochs as the schedule test above, on top of the linear decay lr (1 - e/E)."""
    torch.manual_seed(0)
    rbm = RBM(64, 16, learning_rate=0.1, learning_rate_decay="linear", cd_k=2, cd_k_every=2)
    seen = fit_recording_each_epoch(rbm, max_epochs=5)
    # (rate, momentum, k, steps per update): 0.1 (1 - e/5) / k; k = ceil((e + 1) / 2), capped at cd_k = 2 in epoch 4
    assert seen == [pytest.approx(settings) for settings in [(0.1, 0.0, 1, 1), (0.08, 0.0, 1, 1),
                                                                (0.03, 0.0, 2, 2), (0.02, 0.0, 2, 2),
                                                                (0.01, 0.0, 2, 2)]]
    assert RBM(4, 3, learning_rate=0.1, cd_k=5, cd_k_every=10).gibbs_steps() == 1  # epoch 0 outside a Trainer


@pytest.mark.parametrize("decay, table", [
    ("none", [(0, 0.05, 1), (9, 0.05, 1), (10, 0.025, 2), (19, 0.025, 2), (20, 0.05 / 3, 3), (240, 0.002, 25),
              (249, 0.002, 25), (250, 0.002, 25), (400, 0.002, 25)]),
    # with the linear decay over E = 250 epochs: 0.05 (1 - e/250) / k
    ("linear", [(0, 0.05, 1), (9, 0.0482, 1), (10, 0.024, 2), (19, 0.0231, 2), (240, 0.00008, 25),
                (249, 0.000008, 25)])])
def test_cd_k_every_follows_rbm_m_over_250_epochs(decay, table):
    """The CD25(500) program: s = 10, cd_k = 25, lr 0.05; epochs 0-9 k = 1, 10-19 k = 2, ..., 240-249 k = 25 (the
    cap: 25 also past it), read at literal epochs of a Trainer (its epoch counter set, not 250 epochs run)."""
    rbm = RBM(4, 3, learning_rate=0.05, cd_k=25, cd_k_every=10, learning_rate_decay=decay)
    trainer = quiet_trainer(250)
    rbm.trainer = trainer
    for epoch, rate, k in table:
        trainer.fit_loop.epoch_progress.current.completed = epoch
        assert trainer.current_epoch == epoch
        assert rbm.gibbs_steps() == k, epoch
        assert rbm.step_settings() == (pytest.approx(rate, rel=1e-12), 0.0), epoch


@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_cd_k_every_update_at_k_2_is_cd_2_at_half_the_rate(gradient):
    """An update in epoch 10 of s = 10 (k = 2) is the update of CD-2 at lr / 2 with no schedule, weight decay's
    step included (rbm.m divides epsilonw, which multiplies weightcost too)."""
    settings = {"weight_decay": 0.01, "momentum": 0.9, "gradient": gradient}
    scheduled = make_rbm(learning_rate=0.1, cd_k=25, cd_k_every=10, **settings)
    trainer = quiet_trainer(250)
    scheduled.trainer = trainer
    trainer.fit_loop.epoch_progress.current.completed = 10
    fixed = make_rbm(learning_rate=0.05, cd_k=2, **settings)
    x = (torch.rand(5, 12) < 0.5).float()
    for step in range(2):
        torch.manual_seed(30 + step)
        m_scheduled = scheduled.update(x)
        torch.manual_seed(30 + step)
        m_fixed = fixed.update(x)
        assert torch.equal(m_scheduled, m_fixed)
        for a, b in zip(params(scheduled), params(fixed)):
            assert torch.equal(a, b)
    assert not torch.allclose(params(scheduled)[0], make_rbm().weight)  # the parameters did move


@pytest.mark.parametrize("persistent", [False, True])
def test_binarize_input_updates_on_a_fresh_binary_sample_of_each_minibatch(persistent):
    """binarize_input: x <- (x > u), u ~ U[0, 1) drawn first, afresh at every update: the update (and its monitor)
    of a model with the option on grey digits x is that of the model without it on the sample, written out here."""
    torch.manual_seed(7)
    ties = torch.rand(6, 12)  # the draws of the first update: where x equals u exactly, the pixel stays off
    x = torch.rand(6, 12)
    x[:, :3] = ties[:, :3]
    x[0, 3], x[1, 3] = 0.0, 1.0  # never on, always on
    grey = x.clone()
    binarized = make_rbm(binarize_input=True, persistent=persistent)
    plain = make_rbm(persistent=persistent)
    samples = []
    for step in range(3):
        torch.manual_seed(7 + step)
        x_bin = (x > torch.rand_like(x)).float()
        samples.append(x_bin)
        m_plain = plain.update(x_bin)  # the rest of the draws follow the binarisation's, in both models
        torch.manual_seed(7 + step)
        m_binarized = binarized.update(x)
        assert torch.equal(m_binarized, m_plain)
        for a, b in zip(params(binarized), params(plain)):
            assert torch.equal(a, b)
        if persistent:
            assert torch.equal(binarized.persistent_chain, plain.persistent_chain)
    assert torch.equal(x, grey)  # the minibatch itself is left grey
    assert torch.all(samples[0][:, :3] == 0) and samples[0][0, 3] == 0 and samples[0][1, 3] == 1
    assert not torch.equal(samples[1], samples[2])  # a fresh draw each time
    assert not torch.allclose(params(binarized)[0], make_rbm().weight)  # the parameters did move
    # encode is the mean of the grey input, drawing nothing
    state = torch.get_rng_state()
    code = binarized.encode(x)
    assert torch.equal(torch.get_rng_state(), state)
    with torch.no_grad():
        assert torch.allclose(code, torch.sigmoid(x @ binarized.weight.T + binarized.hidden_bias), atol=1e-6)
        assert torch.equal(code, plain.encode(x))


@pytest.mark.parametrize("persistent", [False, True])
def test_the_rbm_m_options_are_off_by_default(persistent):
    """Built without the new arguments or with them at their defaults: the same draws, the same parameters."""
    settings = {"persistent": persistent, "weight_decay": 0.01, "momentum": 0.5, "cd_k": 2}
    torch.manual_seed(11)
    default = RBM(12, 7, learning_rate=0.1, **settings)
    torch.manual_seed(11)
    explicit = RBM(12, 7, learning_rate=0.1, binarize_input=False, cd_k_every=None, initial_weight_std=None,
                   **settings)
    x = torch.rand(5, 12)
    for step in range(3):
        torch.manual_seed(40 + step)
        m_default = default.update(x)
        after_default = torch.rand(4)
        torch.manual_seed(40 + step)
        m_explicit = explicit.update(x)
        assert torch.equal(after_default, torch.rand(4))  # as many draws
        assert torch.equal(m_default, m_explicit)
        for a, b in zip(params(default), params(explicit)):
            assert torch.equal(a, b)


def test_pcd_keeps_its_chain_across_updates():
    rbm = make_rbm(persistent=True)
    assert rbm.persistent_chain.shape == (0, 7)
    x = torch.rand(5, 12)
    # first update: the chain starts from zeros, like the tutorial's shared variable
    torch.manual_seed(3)
    expected, _, chain = cd_by_hand(copy.deepcopy(rbm), x, 1, chain_start=torch.zeros(5, 7))
    torch.manual_seed(3)
    rbm.update(x)
    assert torch.equal(rbm.persistent_chain, chain)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params(rbm), expected))
    # second update: from the stored state, which it then replaces
    start = rbm.persistent_chain.clone()
    torch.manual_seed(4)
    expected, _, chain = cd_by_hand(copy.deepcopy(rbm), x, 1, chain_start=start)
    torch.manual_seed(4)
    rbm.update(x)
    assert torch.equal(rbm.persistent_chain, chain)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params(rbm), expected))
    # a checkpoint restores the chain even into a fresh module (sized lazily)
    fresh = make_rbm(persistent=True, seed=9)
    fresh.load_state_dict(rbm.state_dict())
    assert torch.equal(fresh.persistent_chain, rbm.persistent_chain)
    # another batch size restarts the chain from zeros
    torch.manual_seed(5)
    _, _, chain = cd_by_hand(copy.deepcopy(rbm), x[:3], 1, chain_start=torch.zeros(3, 7))
    torch.manual_seed(5)
    rbm.update(x[:3])
    assert torch.equal(rbm.persistent_chain, chain)


def test_pseudo_likelihood_cycles_its_bit_and_matches_the_formula():
    rbm = make_rbm(n_visible=4, n_hidden=3, persistent=True)
    x = torch.tensor([[0.2, 0.9, 0.6, 0.0], [1.0, 0.4, 0.0, 0.7]])
    for i in range(9):
        assert rbm.bit_index.item() == i % 4
        xi = torch.round(x)
        flipped = xi.clone()
        flipped[:, i % 4] = 1 - flipped[:, i % 4]
        with torch.no_grad():
            expected = (4 * torch.log(torch.sigmoid(rbm.free_energy(flipped) - rbm.free_energy(xi)))).mean()
        monitor = rbm.update(x)  # the monitor sees the parameters before the update
        assert monitor.item() == pytest.approx(expected.item(), rel=1e-5)
        assert monitor.item() < 0
    assert rbm.bit_index.item() == 9 % 4


@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_monitors_and_free_energy_stay_finite_with_huge_weights(gradient):
    x = (torch.rand(8, 16) < 0.5).float()
    for persistent in (False, True):
        rbm = RBM(16, 10, learning_rate=0.1, persistent=persistent, gradient=gradient)
        with torch.no_grad():
            signs = torch.where(torch.rand(10, 16) < 0.5, 1.0, -1.0)
            rbm.weight.copy_(1e4 * signs)
        assert torch.isfinite(rbm.free_energy(x)).all()
        assert torch.isfinite(rbm.free_energy(1 - x)).all()
        for _ in range(3):
            assert torch.isfinite(rbm.update(x))
        assert all(torch.isfinite(p).all() for p in params(rbm))


def bars_and_stripes(n: int = 8) -> torch.Tensor:
    """All n x n images whose rows (or columns) are each all on or all off, flattened."""
    rows = binary_vectors(n)
    stripes = rows[:, :, None].expand(-1, n, n)
    return torch.cat([stripes, stripes.transpose(1, 2)]).reshape(-1, n * n)


def test_cd1_training_lowers_the_reconstruction_cost():
    torch.manual_seed(0)
    data = bars_and_stripes(8)  # 512 images of 64 pixels
    rbm = RBM(64, 32, learning_rate=0.1)
    costs = []
    for _ in range(12):  # 300 updates
        order = torch.randperm(len(data))
        costs += [rbm.update(data[order[i:i + 20]]).item() for i in range(0, len(data) - 19, 20)]
    first, last = sum(costs[:20]) / 20, sum(costs[-20:]) / 20
    assert last < 0.6 * first, (first, last)


def test_sample_chains_returns_mean_field_images():
    rbm = make_rbm()
    v0 = (torch.rand(4, 12) < 0.5).float()
    samples = rbm.sample_chains(v0, n_samples=3, steps_between=5)
    assert samples.shape == (3, 4, 12)
    assert samples.min() >= 0 and samples.max() <= 1 and not samples.requires_grad
    # mean-field values, not binary samples
    assert ((samples > 0) & (samples < 1)).any()
    # the first row is P(v|h) after 5 gibbs_vhv steps from v0
    torch.manual_seed(2)
    first = rbm.sample_chains(v0, n_samples=1, steps_between=5)[0]
    torch.manual_seed(2)
    with torch.no_grad():
        v = v0
        for _ in range(5):
            *_, v_mean, v = rbm.gibbs_vhv(v)
    assert torch.equal(first, v_mean)


@pytest.mark.parametrize("kwargs, name", [({"cd_k": 0}, "cd_k"), ({"cd_k": 1.5}, "cd_k"),
                                          ({"gradient": "numeric"}, "gradient"),
                                          ({"weight_decay": -1e-4}, "weight_decay"),
                                          ({"momentum": 1.0}, "momentum"),
                                          ({"initial_momentum": -0.5}, "initial_momentum"),
                                          ({"initial_momentum_epochs": 2.5}, "initial_momentum_epochs"),
                                          ({"learning_rate_decay": "cosine"}, "learning_rate_decay"),
                                          ({"cd_k": 3, "cd_k_initial": 0}, "cd_k_initial"),
                                          ({"cd_k": 3, "cd_k_initial": 4}, "cd_k_initial"),
                                          ({"cd_k": 3, "cd_k_initial": 1.5}, "cd_k_initial"),
                                          ({"cd_k_every": 0}, "cd_k_every"), ({"cd_k_every": -10}, "cd_k_every"),
                                          ({"cd_k_every": 2.5}, "cd_k_every"),
                                          ({"initial_weight_std": 0.0}, "initial_weight_std"),
                                          ({"initial_weight_std": -0.01}, "initial_weight_std"),
                                          ({"initial_weight_std": float("inf")}, "initial_weight_std"),
                                          ({"binarize_input": 1}, "binarize_input")])
def test_invalid_arguments_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RBM(4, 3, learning_rate=0.1, **kwargs)


def test_two_schedules_of_k_are_refused_naming_both():
    with pytest.raises(ValueError, match="cd_k_initial") as refusal:
        RBM(4, 3, learning_rate=0.1, cd_k=25, cd_k_initial=1, cd_k_every=10)
    assert "cd_k_every" in str(refusal.value)


def test_invalid_sampling_arguments_raise_naming_them():
    rbm = make_rbm()
    with pytest.raises(ValueError, match="n_samples"):
        rbm.sample_chains(torch.rand(2, 12), n_samples=0, steps_between=1)
    with pytest.raises(ValueError, match="steps_between"):
        rbm.sample_chains(torch.rand(2, 12), n_samples=1, steps_between=0)


def test_hyperparameters_are_saved_and_init_follows_the_tutorial():
    torch.manual_seed(0)
    rbm = RBM(784, 500, learning_rate=0.1, cd_k=15, persistent=True)
    assert dict(rbm.hparams) == {"n_visible": 784, "n_hidden": 500, "learning_rate": 0.1, "cd_k": 15,
                                 "persistent": True, "gradient": "explicit", "weight_decay": 0.0,
                                 "momentum": 0.0, "initial_momentum": 0.0, "initial_momentum_epochs": 0,
                                 "learning_rate_decay": "none", "cd_k_initial": None, "binarize_input": False,
                                 "cd_k_every": None, "initial_weight_std": None}
    assert rbm.velocities is None  # no momentum: no velocity buffers
    bound = 4 * math.sqrt(6 / (784 + 500))
    assert rbm.weight.abs().max().item() <= bound and rbm.weight.abs().max().item() > 0.99 * bound
    assert torch.all(rbm.hidden_bias == 0) and torch.all(rbm.visible_bias == 0)


def test_initial_weight_std_draws_gaussian_weights_and_zero_biases():
    """rbm.m's 0.01 randn: on 784 x 500 weights (392,000 draws) the sample mean is within 1e-4 (6 standard errors
    of 1.6e-5) of 0, the sample std within 1% (9 standard errors) of 0.01, and 68.27% of the weights lie within
    one std (a uniform of the same std would give 57.7%)."""
    torch.manual_seed(0)
    rbm = RBM(784, 500, learning_rate=0.05, initial_weight_std=0.01)
    w = rbm.weight.detach()
    assert abs(w.mean().item()) < 1e-4
    assert w.std().item() == pytest.approx(0.01, rel=0.01)
    assert (w.abs() < 0.01).float().mean().item() == pytest.approx(0.6827, abs=0.005)
    assert w.abs().max().item() > 0.04  # tails of a normal (about 4.8 std at this size), not a bounded law
    assert torch.all(rbm.hidden_bias == 0) and torch.all(rbm.visible_bias == 0)


def test_without_initial_weight_std_the_weights_are_todays_uniform_draw():
    torch.manual_seed(5)
    reference = PretrainedLayer(20, 9, learning_rate=0.1)  # the layer's own init, U(+-4 sqrt(6/29))
    after_reference = torch.rand(4)
    for kwargs in ({}, {"initial_weight_std": None}):
        torch.manual_seed(5)
        rbm = RBM(20, 9, learning_rate=0.1, **kwargs)
        assert torch.equal(rbm.weight, reference.weight)
        assert torch.equal(torch.rand(4), after_reference)  # and the draws that follow line up
    bound = 4 * math.sqrt(6 / 29)
    assert reference.weight.abs().max().item() <= bound and reference.weight.std().item() > 0.3 * bound


@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_trains_under_a_lightning_trainer(gradient):
    torch.manual_seed(0)
    rbm = RBM(64, 16, learning_rate=0.1, gradient=gradient)
    before = params(rbm)
    chunks = [(bars_and_stripes(8)[torch.randperm(512)[:60]].view(3, 20, 64),) for _ in range(2)]
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(rbm, train_dataloaders=DataLoader(chunks, batch_size=None))
    assert rbm.iteration == 6
    assert torch.isfinite(trainer.callback_metrics["train/cost"])
    assert not torch.allclose(params(rbm)[0], before[0])
