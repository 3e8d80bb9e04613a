"""Sample one target with hybrid Monte-Carlo (tutorial chapter 11) and measure the draws.

    python -m dltutorials.stages.sample hmc_target=gaussian_5d preset=paper     # the tutorial's test_hmc.py
    python -m dltutorials.stages.sample hmc_target=banana preset=quick trainer=gpu

Writes into Hydra's output directory (``hydra.run.dir``; Snakemake passes
``results/runs/<preset>/hmc/<target>/seed<N>``): ``draws.npz`` (the kept
draws, the step size and moving-average acceptance of every move),
``sampler.pt`` (the sampler's final state, to resume from), ``config.yaml``
and, last, ``metrics.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from dltutorials import runtime, stages
from dltutorials.atomic import atomic_path
from dltutorials.config import validate_hmc
from dltutorials.fingerprints import sampling_settings
from dltutorials.results import tutorial_setting_value, tutorial_value
from dltutorials.sampling.diagnostics import effective_sample_size, moment_errors
from dltutorials.sampling.hmc import HMCSampler, HMCSettings


def sample(cfg: DictConfig, out_dir: str | Path | None = None) -> dict:
    """Burn in, draw, measure; returns the result row. Writes into ``out_dir`` (default ``paths.run_dir``)."""
    plain = validate_hmc(cfg)
    run_dir = Path(out_dir or cfg.paths.run_dir)
    stages.start(cfg)  # the chains draw from the sampler's own generator, seeded with the run's seed too
    device, dtype = runtime.device_for(plain["trainer"]["accelerator"]), getattr(torch, plain["dtype"])
    target = instantiate(cfg.hmc_target.distribution)
    chains = plain["chains"]
    start = torch.as_tensor(target.initial_positions(chains["n_chains"], cfg.seed), dtype=dtype, device=device)
    sampler = HMCSampler(target.energy, start, HMCSettings(**plain["sampler"]), seed=cfg.seed)

    n_moves = chains["burnin"] + chains["n_samples"]
    draws = torch.empty((chains["n_samples"], *start.shape), dtype=dtype, device=device)
    stepsize = torch.empty(n_moves, dtype=dtype, device=device)
    acceptance = torch.empty(n_moves, dtype=dtype, device=device)
    burnin_seconds, clock = 0.0, time.perf_counter()
    for move in range(n_moves):
        sampler.draw()
        stepsize[move], acceptance[move] = sampler.stepsize, sampler.avg_acceptance_rate
        if move == chains["burnin"] - 1:
            _synchronize(device)
            burnin_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        if move >= chains["burnin"]:
            draws[move - chains["burnin"]] = sampler.positions
    _synchronize(device)
    sampling_seconds = time.perf_counter() - clock

    kept = draws.cpu().numpy()
    ess = effective_sample_size(kept)
    name = plain["hmc_target"]["name"]
    row = {
        "model": "hmc",
        "target": name,
        "preset": cfg.preset_name,
        "seed": cfg.seed,
        "dim": target.dim,
        "n_chains": chains["n_chains"],
        "burnin": chains["burnin"],
        "n_samples": chains["n_samples"],
        "final_acceptance_rate": round(float(sampler.avg_acceptance_rate), 6),
        "final_stepsize": round(float(sampler.stepsize), 6),
        **{key: round(value, 6) for key, value in moment_errors(kept, target.mean, target.cov).items()},
        "ess_min": round(float(ess.min()), 1),
        "ess_median": round(float(np.median(ess)), 1),
        "ess_min_per_second": round(float(ess.min()) / sampling_seconds, 2),
        "burnin_seconds": round(burnin_seconds, 3),
        "sampling_seconds": round(sampling_seconds, 3),
        "tutorial_final_acceptance_rate": tutorial_value("hmc", _tutorial_dataset(name), "final_acceptance_rate"),
        "tutorial_final_stepsize": tutorial_setting_value("hmc", _tutorial_dataset(name), "final stepsize"),
        "dtype": plain["dtype"],
        "device": str(device),
    }
    with atomic_path(run_dir / "draws.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, draws=kept, stepsize=stepsize.cpu().numpy(), acceptance=acceptance.cpu().numpy(),
                 mean=target.mean, cov=target.cov)
    with atomic_path(run_dir / "sampler.pt") as tmp:
        torch.save(sampler.state_dict(), tmp)
    return stages.finish(run_dir, plain, row, sampling_settings(plain))


def _tutorial_dataset(target: str) -> str:
    """The tutorial's name for its test (tutorial_results.csv), e.g. gaussian_5d -> gaussian-5d."""
    return target.replace("_", "-")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    stages.main(__doc__, sample, lambda row: f"hmc {row['target']} ({row['preset']}): acceptance "
                f"{row['final_acceptance_rate']:.4f}, step size {row['final_stepsize']:.4f}, largest mean error "
                f"{row['max_abs_mean_error']:.4f}, ESS min {row['ess_min']:.0f}, "
                f"{row['burnin_seconds'] + row['sampling_seconds']:.1f} s", config_name="hmc")


if __name__ == "__main__":
    main()
