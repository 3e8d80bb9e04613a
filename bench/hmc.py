"""The project's HMC sampler against Pyro's HMC kernel: seconds per effective sample.

Same target (the 100-d Gaussian with condition number 1000 of
``conf/hmc_target/gaussian_100d_ill.yaml``), same fixed step size and number
of leap-frog steps, no adaptation, chains started at exact draws of the target
so that neither needs a burn-in. The project runs its 100 chains as one
tensor, one thread, as its Snakemake job does; Pyro runs as its documentation
recommends for several chains: ``MCMC(..., num_chains=2, mp_context="spawn")``
(one process per chain, but Pyro keeps one CPU free, so on 2 cores it draws
the chains one after the other). Effective sample size: ArviZ, minimum
over dimensions. Ratio: project seconds per effective sample / Pyro's.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per process, the project's and Pyro's chains alike

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import exit_status, report  # noqa: E402

from dltutorials.sampling.diagnostics import effective_sample_size  # noqa: E402
from dltutorials.sampling.hmc import HMCSampler, HMCSettings  # noqa: E402
from dltutorials.sampling.targets import IllConditionedGaussian  # noqa: E402

STEPSIZE, N_STEPS = 0.2, 20  # what the adaptation settles at on this target (results/quick/hmc.csv)
PROJECT_CHAINS, PROJECT_DRAWS = 100, 300
PYRO_CHAINS, PYRO_DRAWS = 2, 1000  # Pyro's chains are slower: more draws for a steady ESS


class Potential:
    """Pyro's potential_fn: the target's energy of one chain (picklable for Pyro's worker processes)."""

    def __init__(self, target: IllConditionedGaussian):
        self.precision = torch.as_tensor(target.precision, dtype=torch.float32)

    def __call__(self, params: dict) -> torch.Tensor:
        x = params["x"]
        return 0.5 * x @ self.precision @ x


def exact_draws(target: IllConditionedGaussian, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(target.mean, target.cov, size=n)


def project_run(target: IllConditionedGaussian) -> tuple[float, float]:
    torch.set_num_threads(1)
    start = torch.as_tensor(exact_draws(target, PROJECT_CHAINS, 1), dtype=torch.float32)
    sampler = HMCSampler(target.energy, start, HMCSettings(initial_stepsize=STEPSIZE, n_steps=N_STEPS, adapt=False),
                         seed=2)
    draws = torch.empty(PROJECT_DRAWS, *start.shape)
    clock = time.perf_counter()
    for i in range(PROJECT_DRAWS):
        sampler.draw()
        draws[i] = sampler.positions
    return time.perf_counter() - clock, float(effective_sample_size(draws.numpy()).min())


def pyro_run(target: IllConditionedGaussian) -> tuple[float, float]:
    from pyro.infer.mcmc import HMC, MCMC

    kernel = HMC(potential_fn=Potential(target), step_size=STEPSIZE, num_steps=N_STEPS, adapt_step_size=False,
                 adapt_mass_matrix=False)
    start = torch.as_tensor(exact_draws(target, PYRO_CHAINS, 3), dtype=torch.float32)
    mcmc = MCMC(kernel, num_samples=PYRO_DRAWS, warmup_steps=0, num_chains=PYRO_CHAINS,
                initial_params={"x": start}, mp_context="spawn", disable_progbar=True)
    clock = time.perf_counter()
    mcmc.run()
    seconds = time.perf_counter() - clock
    draws = mcmc.get_samples(group_by_chain=True)["x"].numpy()  # (chain, draw, dim)
    return seconds, float(effective_sample_size(np.moveaxis(draws, 0, 1)).min())


def main(repeats: int = 2) -> None:
    target = IllConditionedGaussian(dim=100, condition_number=1000.0, smallest_variance=0.1, seed=0)
    project, pyro = [], []
    for _ in range(repeats):  # side by side, alternately
        pyro.append(pyro_run(target))
        project.append(project_run(target))
    project_per_ess = float(np.median([s / ess for s, ess in project]))
    pyro_per_ess = float(np.median([s / ess for s, ess in pyro]))
    (p_seconds, p_ess), (b_seconds, b_ess) = project[-1], pyro[-1]
    report("hmc_time_per_effective_sample", project_per_ess, pyro_per_ess, 0.1, repeats,
           extra=f"project {PROJECT_CHAINS} chains x {PROJECT_DRAWS} draws: {p_seconds:.2f} s, ESS min {p_ess:.0f}, "
                 f"{project_per_ess * 1e3:.2f} ms per effective sample; Pyro {PYRO_CHAINS} chains x {PYRO_DRAWS} "
                 f"draws: {b_seconds:.2f} s, ESS min {b_ess:.0f}, {pyro_per_ess * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
