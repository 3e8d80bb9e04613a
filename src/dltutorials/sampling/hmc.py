"""Hybrid Monte-Carlo with the tutorial's adaptive step size (chapter 11), all chains as one tensor.

A particle has a position ``s`` and a velocity ``phi``; HMC samples the
canonical distribution of the Hamiltonian (section 11.1)

    H(s, phi) = E(s) + K(phi),   K(phi) = 1/2 sum_i phi_i^2,

whose marginal over ``phi`` is the target ``p(s) ~ exp(-E(s))``. One move
(``hmc_move``, section 11.2):

1. draw a fresh velocity ``phi ~ N(0, I)`` for every chain;
2. simulate ``n_steps`` leap-frog steps of the dynamics (Eq. 11.3,
   ``simulate_dynamics``): a half step of the velocity, full steps of position
   and velocity, a final half step of the velocity;
3. accept the end point per chain with probability
   ``min(1, exp(H(s, phi) - H(s', phi')))`` (Metropolis), else stay put.

Then the adaptation of ``hmc_updates``: the moving-average acceptance

    avg <- slowness * avg + (1 - slowness) * mean(accept)

and the step size times ``stepsize_inc`` when the average *before* this update
is above ``target_acceptance_rate``, times ``stepsize_dec`` otherwise, clipped
to ``[stepsize_min, stepsize_max]`` (the tutorial's Theano updates are applied
together, so its step-size switch reads the old average).

Every chain advances together: positions are an ``(n_chains, dim)`` tensor and
``energy_fn`` maps it to ``(n_chains,)``. Gradients come from autograd. A
proposal whose energy or gradient is NaN or infinite anywhere along its
trajectory is rejected and never enters the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

import torch

from dltutorials.fields import Bounds, Fraction, PositiveFloat, Probability, check_arguments

Energy = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class HMCSettings:
    """The tutorial's ``HMC_sampler.new_from_shared_positions`` defaults."""

    initial_stepsize: PositiveFloat = 0.01
    n_steps: Annotated[int, Bounds(ge=1, says="an integer >= 1")] = 20
    target_acceptance_rate: Annotated[float, Bounds(gt=0, lt=1)] = 0.9
    stepsize_dec: Fraction = 0.98
    stepsize_min: PositiveFloat = 0.001
    stepsize_max: float = 0.25  # >= stepsize_min
    stepsize_inc: Annotated[float, Bounds(ge=1)] = 1.02
    avg_acceptance_slowness: Probability = 0.9
    adapt: bool = True  # False: a fixed step size (the benchmark, the bad-step test)

    def __post_init__(self) -> None:
        check_arguments(HMCSettings, asdict(self))
        if not self.stepsize_max >= self.stepsize_min:
            raise ValueError(f"stepsize_max must be >= stepsize_min ({self.stepsize_min}), got {self.stepsize_max!r}")


@dataclass(frozen=True)
class Chains:
    """The draws of a run (``chains`` in conf/hmc.yaml): ``burnin`` moves discarded, then ``n_samples`` kept,
    of ``n_chains`` chains each time (two samples at least: the diagnostics need a variance)."""

    n_chains: Annotated[int, Bounds(ge=1, says="an integer >= 1")]
    burnin: Annotated[int, Bounds(ge=0, says="an integer >= 0")]
    n_samples: Annotated[int, Bounds(ge=2, says="an integer >= 2")]


def kinetic_energy(vel: torch.Tensor) -> torch.Tensor:
    """K(phi) = 1/2 sum_i phi_i^2 per chain (unit masses)."""
    return 0.5 * (vel**2).sum(dim=1)


def energy_and_grad(energy_fn: Energy, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E(s) per chain and dE/ds by autograd (chains are independent, so the gradient of the sum)."""
    with torch.enable_grad():
        pos = pos.detach().requires_grad_(True)
        energy = energy_fn(pos)
        if energy.shape != pos.shape[:1]:
            raise ValueError(f"energy_fn must return one energy per chain, shape {tuple(pos.shape[:1])}, "
                             f"got {tuple(energy.shape)}")
        if not energy.requires_grad:  # an energy that does not depend on the positions
            return energy.detach(), torch.zeros_like(pos)
        (grad,) = torch.autograd.grad(energy.sum(), pos, materialize_grads=True)
    return energy.detach(), grad


def _finite_rows(x: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(x).all(dim=1)


def simulate_dynamics(pos: torch.Tensor, vel: torch.Tensor, stepsize: torch.Tensor | float, n_steps: int,
                      energy_fn: Energy, grad: torch.Tensor | None = None):
    """``n_steps`` leap-frog steps from ``(pos, vel)`` (Eq. 11.3).

    Returns ``(final_pos, final_vel, final_energy, final_grad, finite)``:
    ``finite`` marks the chains whose energy and gradient stayed finite along
    the whole trajectory. ``grad`` (dE/ds at ``pos``) may be passed to save one
    gradient.
    """
    if grad is None:
        _, grad = energy_and_grad(energy_fn, pos)
    finite = _finite_rows(grad)
    vel = vel - 0.5 * stepsize * grad  # phi(t + eps/2)
    pos = pos + stepsize * vel  # s(t + eps)
    for _ in range(n_steps - 1):  # m = 2..n: phi(t + (m - 1/2) eps), s(t + m eps)
        energy, grad = energy_and_grad(energy_fn, pos)
        finite &= _finite_rows(grad) & torch.isfinite(energy)
        vel = vel - stepsize * grad
        pos = pos + stepsize * vel
    energy, grad = energy_and_grad(energy_fn, pos)
    vel = vel - 0.5 * stepsize * grad  # phi(t + n eps)
    finite &= _finite_rows(grad) & torch.isfinite(energy) & _finite_rows(pos) & _finite_rows(vel)
    return pos, vel, energy, grad, finite


class HMCSampler:
    """Batched HMC chains whose whole state is explicit (``state_dict`` / ``load_state_dict``).

    ``positions`` (n_chains, dim) fixes the device and dtype; the random
    generator lives on the same device, seeded with ``seed``.
    """

    def __init__(self, energy_fn: Energy, positions: torch.Tensor, settings: HMCSettings = HMCSettings(),
                 seed: int = 12345):
        if positions.ndim != 2:
            raise ValueError(f"positions must be (n_chains, dim), got shape {tuple(positions.shape)}")
        if not torch.isfinite(positions).all():
            raise ValueError("initial positions must be finite: chains "
                             f"{_rows_where(~_finite_rows(positions))} hold NaN or inf")
        self.energy_fn = energy_fn
        self.settings = settings
        self.positions = positions.detach().clone()
        self.energy, self.grad = energy_and_grad(energy_fn, self.positions)
        bad = ~(torch.isfinite(self.energy) & _finite_rows(self.grad))
        if bad.any():
            raise ValueError(f"energy or its gradient is not finite at the initial positions of chains "
                             f"{_rows_where(bad)}")
        self.stepsize = torch.tensor(settings.initial_stepsize, dtype=positions.dtype, device=positions.device)
        # The tutorial starts the moving average at the target rate.
        self.avg_acceptance_rate = torch.tensor(settings.target_acceptance_rate, dtype=positions.dtype,
                                                device=positions.device)
        # the factors as tensors of the positions' dtype (a Python float in torch.where would be float32)
        self._stepsize_factors = torch.tensor([settings.stepsize_inc, settings.stepsize_dec], dtype=positions.dtype,
                                              device=positions.device)
        self.generator = torch.Generator(device=positions.device)
        self.generator.manual_seed(seed)

    def draw(self) -> torch.Tensor:
        """One HMC move of every chain (``hmc_move`` + ``hmc_updates``); returns the accepted mask."""
        s = self.settings
        pos = self.positions
        vel = torch.randn(pos.shape, generator=self.generator, dtype=pos.dtype, device=pos.device)
        new_pos, new_vel, new_energy, new_grad, finite = simulate_dynamics(pos, vel, self.stepsize, s.n_steps,
                                                                           self.energy_fn, self.grad)
        h_prev = self.energy + kinetic_energy(vel)
        h_next = torch.where(finite, new_energy + kinetic_energy(new_vel), torch.inf)
        uniform = torch.rand(pos.shape[:1], generator=self.generator, dtype=pos.dtype, device=pos.device)
        # min(1, exp(H - H')) >= u, as the tutorial's metropolis_hastings_accept; a non-finite proposal never passes
        accept = finite & (torch.exp(h_prev - h_next) >= uniform)
        self.positions = torch.where(accept[:, None], new_pos, pos)
        self.energy = torch.where(accept, new_energy, self.energy)
        self.grad = torch.where(accept[:, None], new_grad, self.grad)
        if s.adapt:
            raise_step = self.avg_acceptance_rate > s.target_acceptance_rate
            inc, dec = self._stepsize_factors
            self.stepsize = torch.clamp(self.stepsize * torch.where(raise_step, inc, dec), s.stepsize_min,
                                        s.stepsize_max)
        self.avg_acceptance_rate = (s.avg_acceptance_slowness * self.avg_acceptance_rate
                                    + (1 - s.avg_acceptance_slowness) * accept.to(pos.dtype).mean())
        return accept

    def state_dict(self) -> dict:
        return {"positions": self.positions.clone(), "stepsize": self.stepsize.clone(),
                "avg_acceptance_rate": self.avg_acceptance_rate.clone(),
                "generator": self.generator.get_state(), "settings": asdict(self.settings)}

    def load_state_dict(self, state: dict) -> None:
        if state["settings"] != asdict(self.settings):
            raise ValueError(f"saved sampler settings {state['settings']} differ from this sampler's "
                             f"{asdict(self.settings)}")
        device, dtype = self.positions.device, self.positions.dtype
        positions = state["positions"].to(device, dtype)
        self.energy, self.grad = energy_and_grad(self.energy_fn, positions)
        self.positions = positions
        self.stepsize = state["stepsize"].to(device, dtype)
        self.avg_acceptance_rate = state["avg_acceptance_rate"].to(device, dtype)
        self.generator.set_state(state["generator"])


def _rows_where(mask: torch.Tensor) -> list[int]:
    return torch.nonzero(mask).flatten().tolist()
