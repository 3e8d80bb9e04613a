"""HMC figures from finished runs (their ``draws.npz`` and ``config.yaml``).

    python -m dltutorials.stages.hmc_figures samples OUT.png results/runs/paper/hmc/*/seed1234/draws.npz
    python -m dltutorials.stages.hmc_figures adaptation OUT.png results/runs/paper/hmc/*/seed1234/draws.npz

``samples``: one panel per run, two dimensions of the draws over the contours
of the target's density; ``adaptation``: the step size and the moving-average
acceptance of every move (section 11.2's adaptation at work).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dltutorials.plots import save_hmc_adaptation, save_hmc_samples


def load_run(draws_file: Path) -> tuple[dict, dict]:
    """A finished run's arrays and resolved config (written beside ``draws.npz``)."""
    config_file = draws_file.parent / "config.yaml"
    if not draws_file.is_file() or not config_file.is_file():
        raise FileNotFoundError(f"{draws_file.parent} is not a finished HMC run (needs draws.npz and config.yaml)")
    with np.load(draws_file) as arrays:
        return {key: arrays[key] for key in arrays.files}, OmegaConf.to_container(OmegaConf.load(config_file))


def samples_panel(arrays: dict, cfg: dict) -> dict:
    dims = tuple(cfg["hmc_target"]["plot_dims"])
    target = instantiate(cfg["hmc_target"]["distribution"])
    draws = arrays["draws"].reshape(-1, arrays["draws"].shape[-1])[:, list(dims)]
    return {"title": f"{cfg['hmc_target']['name']} ({cfg['chains']['n_chains']} chains)", "draws": draws,
            "dims": dims, "log_density": lambda points: target.marginal_log_density(points, dims)}


def adaptation_trace(arrays: dict, cfg: dict) -> dict:
    return {"label": cfg["hmc_target"]["name"], "stepsize": arrays["stepsize"], "acceptance": arrays["acceptance"],
            "target_acceptance_rate": cfg["sampler"]["target_acceptance_rate"], "burnin": cfg["chains"]["burnin"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figure", choices=["samples", "adaptation"])
    parser.add_argument("output", type=Path)
    parser.add_argument("draws", type=Path, nargs="+", help="draws.npz of each run, one panel or line each")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(path) for path in args.draws]
    except FileNotFoundError as error:
        sys.exit(f"error: {error}")
    if args.figure == "samples":
        save_hmc_samples(args.output, [samples_panel(*run) for run in runs])
    else:
        save_hmc_adaptation(args.output, [adaptation_trace(*run) for run in runs])
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
