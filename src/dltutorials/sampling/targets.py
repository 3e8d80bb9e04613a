"""Distributions to sample with HMC, each with its energy and its true mean and covariance.

``TutorialGaussian`` is section 11.3's test (``sampler_on_nd_gaussian``),
built from the same ``numpy.random.RandomState(123)`` draws; the others go
beyond the tutorial: a badly conditioned Gaussian in 100 dimensions and a
banana-shaped (non-Gaussian) distribution with closed-form moments.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import torch

from dltutorials.fields import Bounds, PositiveFloat, PositiveInt, check_arguments


class Target:
    """A distribution p(x) ~ exp(-E(x)) over R^dim with known moments (float64 numpy)."""

    name: str
    mean: np.ndarray
    cov: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.mean)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) for a batch of chains, (n_chains, dim) -> (n_chains,)."""
        raise NotImplementedError

    def initial_positions(self, n_chains: int, seed: int) -> np.ndarray:
        """Where the chains start: standard normal draws from ``seed``."""
        return np.random.default_rng(seed).standard_normal((n_chains, self.dim))

    def marginal_log_density(self, points: np.ndarray, dims: tuple[int, int]) -> np.ndarray:
        """Unnormalised log-density of the marginal of ``dims`` at points (..., 2), for contour plots."""
        raise NotImplementedError


class GaussianTarget(Target):
    """E(x) = 1/2 (x - mu)^T cov^-1 (x - mu)."""

    def __init__(self, name: str, mean: np.ndarray, cov: np.ndarray):
        eigenvalues = np.linalg.eigvalsh(cov)
        if eigenvalues.min() <= 0:
            raise ValueError(f"{name}: covariance is not positive definite (smallest eigenvalue {eigenvalues.min():g})")
        self.name, self.mean, self.cov = name, np.asarray(mean, float), np.asarray(cov, float)
        self.precision = np.linalg.inv(self.cov)
        self._tensors: dict = {}

    def _on(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (x.device, x.dtype)
        if key not in self._tensors:
            self._tensors[key] = (torch.as_tensor(self.mean, dtype=x.dtype, device=x.device),
                                  torch.as_tensor(self.precision, dtype=x.dtype, device=x.device))
        return self._tensors[key]

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        mean, precision = self._on(x)
        centred = x - mean
        return 0.5 * ((centred @ precision) * centred).sum(dim=1)

    def marginal_log_density(self, points: np.ndarray, dims: tuple[int, int]) -> np.ndarray:
        dims = list(dims)
        centred = points - self.mean[dims]
        precision = np.linalg.inv(self.cov[np.ix_(dims, dims)])
        return -0.5 * np.einsum("...i,ij,...j->...", centred, precision, centred)


class TutorialGaussian(GaussianTarget):
    """Section 11.3: ``mu = rng.rand(dim) * 10``, ``cov = rng.rand(dim, dim)`` symmetrised with a unit
    diagonal, and the chains start at ``rng.randn(n_chains, dim)``, all from ``RandomState(seed)``."""

    def __init__(self, dim: PositiveInt = 5, seed: int = 123):
        check_arguments(TutorialGaussian, locals())
        self._rng = np.random.RandomState(seed)
        mean = self._rng.rand(dim) * 10
        cov = self._rng.rand(dim, dim)
        cov = (cov + cov.T) / 2.0
        cov[np.arange(dim), np.arange(dim)] = 1.0
        super().__init__(f"gaussian_{dim}d", mean, cov)
        self._state_after_moments = self._rng.get_state()

    def initial_positions(self, n_chains: int, seed: int) -> np.ndarray:
        """The tutorial's next draws from the same RandomState (independent of the run's seed)."""
        self._rng.set_state(self._state_after_moments)
        return self._rng.randn(n_chains, self.dim)


class IllConditionedGaussian(GaussianTarget):
    """Zero mean, covariance ``Q diag(v) Q^T`` with variances ``v`` spaced geometrically from
    ``smallest_variance`` to ``smallest_variance * condition_number`` and a random rotation ``Q``."""

    def __init__(self, dim: PositiveInt = 100, condition_number: Annotated[float, Bounds(ge=1)] = 1000.0,
                 smallest_variance: PositiveFloat = 0.1, seed: int = 0):
        check_arguments(IllConditionedGaussian, locals())
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        variances = np.geomspace(smallest_variance, smallest_variance * condition_number, dim)
        cov = (rotation * variances) @ rotation.T
        super().__init__(f"gaussian_{dim}d_ill", np.zeros(dim), (cov + cov.T) / 2)


class Banana(Target):
    """A twisted Gaussian: x1 ~ N(0, a^2), x2 | x1 ~ N(b (x1^2 - a^2), 1), i.e.

        E(x) = x1^2 / (2 a^2) + (x2 - b (x1^2 - a^2))^2 / 2,

    with mean 0 and covariance diag(a^2, 1 + 2 a^4 b^2) (Var x1^2 = 2 a^4, Cov(x1, x1^2) = 0).
    """

    def __init__(self, a: PositiveFloat = 2.0, b: float = 0.5):
        check_arguments(Banana, locals())
        self.name, self.a, self.b = "banana", a, b
        self.mean = np.zeros(2)
        self.cov = np.diag([a**2, 1 + 2 * a**4 * b**2])

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[:, 0], x[:, 1]
        return x1**2 / (2 * self.a**2) + (x2 - self.b * (x1**2 - self.a**2)) ** 2 / 2

    def marginal_log_density(self, points: np.ndarray, dims: tuple[int, int]) -> np.ndarray:
        if tuple(dims) != (0, 1):
            raise ValueError(f"banana is 2-d: dims must be (0, 1), got {dims}")
        x1, x2 = points[..., 0], points[..., 1]
        return -(x1**2 / (2 * self.a**2) + (x2 - self.b * (x1**2 - self.a**2)) ** 2 / 2)
