"""Hybrid Monte-Carlo (tutorial chapter 11): the integrator, the Metropolis test, the adaptation, the state."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from dltutorials.config import ConfigError, compose
from dltutorials.sampling.diagnostics import effective_sample_size
from dltutorials.sampling.hmc import HMCSampler, HMCSettings, kinetic_energy, simulate_dynamics
from dltutorials.sampling.targets import Banana, IllConditionedGaussian, TutorialGaussian
from dltutorials.stages.sample import sample

# What the tutorial prints for its target (section 11.3).
TUTORIAL_MEAN = [6.96469186, 2.86139335, 2.26851454, 5.51314769, 7.1946897]
TUTORIAL_COV_ROW0 = [1.0, 0.66197111, 0.71141257, 0.55766643, 0.35753822]


def hamiltonian(target, pos, vel):
    return target.energy(pos) + kinetic_energy(vel)


@pytest.mark.parametrize("target", [TutorialGaussian(), Banana(), IllConditionedGaussian(dim=20)],
                         ids=lambda t: t.name)
def test_leapfrog_is_reversible(target):
    """n steps forward, the velocity negated, n steps back: the start again, to float64 precision."""
    generator = torch.Generator().manual_seed(0)
    pos = torch.randn(8, target.dim, generator=generator, dtype=torch.float64) + torch.as_tensor(target.mean)
    vel = torch.randn(8, target.dim, generator=generator, dtype=torch.float64)
    end_pos, end_vel, _, _, finite = simulate_dynamics(pos, vel, 0.05, 25, target.energy)
    back_pos, back_vel, _, _, _ = simulate_dynamics(end_pos, -end_vel, 0.05, 25, target.energy)
    assert finite.all()
    assert (end_pos - pos).abs().max() > 0.1, "the dynamics moved"
    torch.testing.assert_close(back_pos, pos, rtol=0, atol=1e-11)
    torch.testing.assert_close(-back_vel, vel, rtol=0, atol=1e-11)


def test_leapfrog_energy_error_shrinks_like_the_step_size_squared():
    """Leap-frog is second order: over a fixed time, halving the step divides the error in H by about 4."""
    target = TutorialGaussian()
    generator = torch.Generator().manual_seed(1)
    pos = torch.randn(16, 5, generator=generator, dtype=torch.float64) + torch.as_tensor(target.mean)
    vel = torch.randn(16, 5, generator=generator, dtype=torch.float64)
    start = hamiltonian(target, pos, vel)
    errors = []
    for stepsize, n_steps in [(0.04, 25), (0.02, 50), (0.01, 100)]:
        end_pos, end_vel, end_energy, _, _ = simulate_dynamics(pos, vel, stepsize, n_steps, target.energy)
        torch.testing.assert_close(end_energy, target.energy(end_pos))
        errors.append((hamiltonian(target, end_pos, end_vel) - start).abs().max().item())
    assert errors[0] > 1e-4
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.5 < coarse / fine < 4.5, errors


def test_a_bad_fixed_step_size_still_samples_the_right_distribution():
    """Leap-frog with a step near its stability limit (2 standard deviations) is badly biased on its own:
    it conserves a shadow Hamiltonian whose variance here is 4 / (1 - 3.8^2 / 16) = 41 instead of 4.
    The Metropolis test makes the chain exact."""
    mean, std = 3.0, 2.0
    settings = HMCSettings(initial_stepsize=3.8, n_steps=3, adapt=False)
    sampler = HMCSampler(lambda x: 0.5 * ((x[:, 0] - mean) / std) ** 2, torch.zeros(400, 1, dtype=torch.float64),
                         settings, seed=3)
    for _ in range(50):
        sampler.draw()
    draws, accepted = [], []
    for _ in range(300):
        accepted.append(sampler.draw().double().mean().item())
        draws.append(sampler.positions.numpy().copy())
    draws = np.stack(draws)  # (n_samples, n_chains, 1)
    ess = effective_sample_size(draws)[0]
    assert 0.05 < np.mean(accepted) < 0.8, "the step is bad: many proposals are rejected"
    assert ess > 2000
    assert draws.mean() == pytest.approx(mean, abs=5 * std / np.sqrt(ess))
    # the variance of a variance estimate is 2 sigma^4 / n
    assert draws.var() == pytest.approx(std**2, abs=5 * np.sqrt(2 / ess) * std**2)
    assert float(sampler.stepsize) == 3.8, "no adaptation when adapt=false"


def test_the_tutorials_experiment(tmp_path):
    """Section 11.3 exactly (the paper preset): the sample mean and covariance as close to the truth as the
    effective sample size allows, and the tutorial's final step size and acceptance what this run's adaptation
    settles to.

    The tutorial printed one run's last values; the moving average and the step size wander about their
    stationary values (here a standard deviation of about 0.06 for the step, 0.04 for the acceptance), so its
    numbers are one draw of what this run's kept moves spread over: each must lie within 4 of their standard
    deviations of their mean. With every proposal accepted the acceptance stays at 1 and the step at its
    bound (no spread at all); with the step rule reversed the step settles elsewhere."""
    cfg = compose(["hmc_target=gaussian_5d", "preset=paper", f"paths.results_dir={tmp_path}"], config_name="hmc")
    assert (cfg.chains.n_chains, cfg.chains.burnin, cfg.chains.n_samples) == (3, 1000, 1000)
    assert (cfg.sampler.initial_stepsize, cfg.sampler.stepsize_max, cfg.sampler.n_steps) == (1e-3, 0.5, 20)
    row = sample(cfg, tmp_path / "run")

    with np.load(tmp_path / "run" / "draws.npz") as arrays:
        draws, true_mean, true_cov = arrays["draws"].astype(np.float64), arrays["mean"], arrays["cov"]
        stepsize, acceptance = arrays["stepsize"].astype(np.float64), arrays["acceptance"].astype(np.float64)
    np.testing.assert_allclose(true_mean, TUTORIAL_MEAN, atol=1e-7)
    np.testing.assert_allclose(true_cov[0], TUTORIAL_COV_ROW0, atol=1e-7)
    assert draws.shape == (1000, 3, 5) and len(stepsize) == len(acceptance) == 2000
    assert stepsize[-1] == pytest.approx(row["final_stepsize"], rel=1e-5)
    assert acceptance[-1] == pytest.approx(row["final_acceptance_rate"], rel=1e-5)
    # the tutorial's final values (tutorial_results.csv, through the row) against the kept moves' spread
    for name, trace in (("final_stepsize", stepsize[1000:]), ("final_acceptance_rate", acceptance[1000:])):
        tutorial = row[f"tutorial_{name}"]
        assert trace.std() > 0.01, f"{name} never moves after burn-in"
        assert abs(tutorial - trace.mean()) < 4 * trace.std(), (name, tutorial, trace.mean(), trace.std())
    assert abs(acceptance[1000:].mean() - cfg.sampler.target_acceptance_rate) < 0.05, "adapted to the target"

    ess = effective_sample_size(draws)
    pooled = draws.reshape(-1, 5)
    variances = np.diag(true_cov)
    assert (np.abs(pooled.mean(axis=0) - true_mean) < 5 * np.sqrt(variances / ess)).all()
    # standard error of a covariance estimate: sqrt((s_ii s_jj + s_ij^2) / n)
    cov_se = np.sqrt((np.outer(variances, variances) + true_cov**2) / ess.min())
    assert (np.abs(np.cov(pooled.T) - true_cov) < 5 * cov_se).all()
    assert row["max_abs_mean_error"] == pytest.approx(np.abs(pooled.mean(axis=0) - true_mean).max(), rel=1e-4)


def test_the_metropolis_test_keeps_an_adapted_chain_exact():
    """The tutorial's sampler settings (adaptive step, clipped to [0.001, 0.25]) on a Gaussian of standard
    deviation 0.14: the step settles near 0.17, where 9 proposals in 10 pass, and the draws have the right
    variance. Leap-frog alone would accept every proposal, so the step would climb to its bound 0.25, where
    it conserves a shadow Hamiltonian whose variance is 1 / (1 - 0.25^2 / (4 * 0.14^2)) = 4.9 times the
    target's: only the Metropolis test keeps the chain exact."""
    std = 0.14
    settings = HMCSettings()
    assert settings.stepsize_max / std == pytest.approx(1.79, abs=0.01), "leap-frog is stable, and biased"
    sampler = HMCSampler(lambda x: 0.5 * (x[:, 0] / std) ** 2, torch.zeros(100, 1, dtype=torch.float64),
                         settings, seed=3)
    for _ in range(200):  # the step rises from 0.01 by 2 % a move: about 150 moves to settle
        sampler.draw()
    draws, accepted = [], []
    for _ in range(200):
        accepted.append(sampler.draw().double().mean().item())
        draws.append(sampler.positions.numpy().copy())
    draws = np.stack(draws)  # (n_samples, n_chains, 1)
    ess = effective_sample_size(draws)[0]
    assert draws.mean() == pytest.approx(0.0, abs=5 * std / np.sqrt(ess))
    # the variance of a variance estimate is 2 sigma^4 / n
    assert draws.var() == pytest.approx(std**2, abs=5 * np.sqrt(2 / ess) * std**2)
    assert ess > 5000
    assert 0.8 < np.mean(accepted) < 0.97 and float(sampler.stepsize) < 0.22, "adapted below the bound"


def _tutorial_gaussian_from_a_large_step():
    target = TutorialGaussian()
    return target.energy, torch.as_tensor(target.initial_positions(50, 0)), HMCSettings(initial_stepsize=0.3,
                                                                                      stepsize_max=0.5)


def _too_narrow_for_the_smallest_step():
    """A Gaussian of standard deviation 6e-4 with the tutorial's settings: even the smallest step, 0.001, passes
    about one proposal in five, so the average stays below the target and the step falls to its floor."""
    return (lambda x: 0.5 * ((x / 6e-4) ** 2).sum(dim=1)), torch.zeros(50, 2, dtype=torch.float64), HMCSettings()


@pytest.mark.parametrize(("case", "bound"), [(_tutorial_gaussian_from_a_large_step, "stepsize_max"),
                                             (_too_narrow_for_the_smallest_step, "stepsize_min")],
                         ids=["rises to stepsize_max", "falls to stepsize_min"])
def test_the_adaptation_follows_the_tutorials_rule(case, bound):
    """Step x inc when the old moving average is above the target, x dec otherwise, clipped; then the average.
    Each case holds the step at one of its bounds for many moves, so each clip is exercised."""
    energy, start, settings = case()
    sampler = HMCSampler(energy, start, settings, seed=5)
    clipped = 0
    for _ in range(200):
        step, avg = float(sampler.stepsize), float(sampler.avg_acceptance_rate)
        accepted = sampler.draw().double().mean().item()
        unclipped = step * (settings.stepsize_inc if avg > settings.target_acceptance_rate else settings.stepsize_dec)
        expected = min(max(unclipped, settings.stepsize_min), settings.stepsize_max)
        assert float(sampler.stepsize) == pytest.approx(expected, rel=1e-12)
        assert float(sampler.avg_acceptance_rate) == pytest.approx(0.9 * avg + 0.1 * accepted, rel=1e-12)
        clipped += (unclipped < settings.stepsize_min) if bound == "stepsize_min" else (
            unclipped > settings.stepsize_max)
    assert clipped >= 30, f"{bound} held the step in {clipped} of 200 moves"


class _NaNGradientAbove(torch.autograd.Function):
    """Zero energy, but a NaN gradient wherever x > 1 (a finite energy with a broken gradient)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.zeros_like(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.where(x > 1, torch.nan, 0.0) * grad


@pytest.mark.parametrize("broken", ["nan energy", "inf energy", "-inf energy", "nan gradient"])
def test_non_finite_proposals_are_rejected(broken):
    """A standard normal broken where x[0] > 1: no chain ever enters that region, and the state stays finite."""

    def energy(x):
        normal = 0.5 * (x**2).sum(dim=1)
        if broken == "nan energy":
            return torch.where(x[:, 0] > 1, torch.nan, normal)
        if broken == "inf energy":
            return torch.where(x[:, 0] > 1, torch.inf, normal)
        if broken == "-inf energy":  # exp(H - H') would be inf: the Metropolis test alone would accept it
            return torch.where(x[:, 0] > 1, -torch.inf, normal)
        return normal + _NaNGradientAbove.apply(x[:, 0])

    sampler = HMCSampler(energy, torch.zeros(200, 2, dtype=torch.float64), HMCSettings(initial_stepsize=0.5), seed=0)
    rejected_some = False
    for _ in range(60):
        accepted = sampler.draw()
        rejected_some |= bool((~accepted).any())
        assert torch.isfinite(sampler.positions).all()
        assert (sampler.positions[:, 0] <= 1).all()
        assert torch.isfinite(sampler.energy).all() and torch.isfinite(sampler.grad).all()
    assert rejected_some
    assert (sampler.positions[:, 0] < 0).any(), "chains still move where the energy is fine"


def test_non_finite_starts_are_refused():
    target = TutorialGaussian()
    start = torch.zeros(3, 5)
    start[1, 2] = torch.nan
    with pytest.raises(ValueError, match=r"initial positions must be finite: chains \[1\]"):
        HMCSampler(target.energy, start)
    with pytest.raises(ValueError, match=r"not finite at the initial positions of chains \[0, 1\]"):
        HMCSampler(lambda x: torch.where(x[:, 0] < 1, torch.inf, 0.0), torch.tensor([[0.0], [0.5], [2.0]]))


def test_an_energy_that_is_not_one_value_per_chain_is_refused():
    """A (n_chains, 1) energy would broadcast against the (n_chains,) kinetic energy into an (n_chains, n_chains)
    Hamiltonian: a silently wrong Metropolis test, so the sampler refuses it."""
    with pytest.raises(ValueError, match=r"^energy_fn must return one energy per chain, shape \(3,\), got \(3, 1\)$"):
        HMCSampler(lambda x: 0.5 * (x**2).sum(dim=1, keepdim=True), torch.zeros(3, 2))


def test_save_and_resume_gives_the_same_chain(tmp_path):
    target = IllConditionedGaussian(dim=10)
    start = torch.as_tensor(target.initial_positions(7, 0), dtype=torch.float32)
    uninterrupted = HMCSampler(target.energy, start, seed=9)
    for _ in range(30):
        uninterrupted.draw()

    first = HMCSampler(target.energy, start, seed=9)
    for _ in range(12):
        first.draw()
    torch.save(first.state_dict(), tmp_path / "sampler.pt")
    resumed = HMCSampler(target.energy, torch.zeros_like(start), seed=0)  # a fresh process would start anywhere
    resumed.load_state_dict(torch.load(tmp_path / "sampler.pt"))
    for _ in range(18):
        resumed.draw()
    assert torch.equal(resumed.positions, uninterrupted.positions)
    assert torch.equal(resumed.stepsize, uninterrupted.stepsize)
    assert torch.equal(resumed.avg_acceptance_rate, uninterrupted.avg_acceptance_rate)

    other = HMCSampler(target.energy, start, HMCSettings(n_steps=5), seed=9)
    with pytest.raises(ValueError, match="settings"):
        other.load_state_dict(torch.load(tmp_path / "sampler.pt"))


def test_float64_by_config(tmp_path):
    cfg = compose(["hmc_target=banana", "preset=tiny", "dtype=float64", "chains.n_chains=4"], config_name="hmc")
    row = sample(cfg, tmp_path)
    assert row["dtype"] == "float64" and row["device"] == "cpu"
    with np.load(tmp_path / "draws.npz") as arrays:
        assert arrays["draws"].dtype == np.float64 and arrays["draws"].shape == (100, 4, 2)
    state = torch.load(tmp_path / "sampler.pt")
    assert state["positions"].dtype == torch.float64


@pytest.mark.parametrize(("override", "message"), [
    ("sampler.stepsize_min=0.6", "sampler.stepsize_max must be >= stepsize_min (0.6), got 0.5"),
    ("sampler.target_acceptance_rate=1.2", "sampler.target_acceptance_rate must be in (0, 1), got 1.2"),
    ("sampler.avg_acceptance_slowness=1.0", "sampler.avg_acceptance_slowness must be in [0, 1), got 1.0"),
    ("sampler.n_steps=0", "sampler.n_steps must be an integer >= 1, got 0"),
    ("sampler.n_steps=2.5", "sampler.n_steps must be an integer >= 1, got 2.5"),
    ("sampler.initial_stepsize=fast", "sampler.initial_stepsize must be a number, got 'fast'"),
    ("sampler.stepsize_dec=1.5", "sampler.stepsize_dec must be in (0, 1], got 1.5"),
    ("chains.burnin=-1", "chains.burnin must be an integer >= 0, got -1"),
    ("dtype=float16", "dtype must be float32 or float64, got 'float16'"),
    ("trainer.precision=16-mixed", "trainer.precision must be 32-true"),
    ("hmc_target.distribution.dim=five", "hmc_target.distribution.dim must be an integer, got 'five'"),
    ("hmc_target.distribution.dim=0", "hmc_target.distribution.dim must be > 0, got 0"),
])
def test_bad_settings_are_refused_naming_the_key(tmp_path, override, message):
    cfg = compose(["hmc_target=gaussian_5d", override], config_name="hmc")
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        sample(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists(), "nothing ran"


def test_the_gpu_switch_needs_a_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the switch works (checked by the benchmark machine)")
    cfg = compose(["hmc_target=gaussian_5d", "trainer=gpu"], config_name="hmc")
    with pytest.raises(ConfigError, match="trainer.accelerator=gpu, but torch sees no CUDA GPU"):
        sample(cfg, tmp_path)


def test_the_stage_reports_a_bad_setting_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dltutorials.stages.sample", "sampler.n_steps=0",
                             f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "config error: sampler.n_steps must be an integer >= 1, got 0"
    assert not (tmp_path / "run" / "metrics.json").exists()
