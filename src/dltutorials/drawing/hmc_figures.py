"""HMC figures from finished runs (their ``draws.npz`` and ``config.yaml``).

    python -m dltutorials.drawing.hmc_figures samples OUT.png results/runs/paper/hmc/*/seed1234/draws.npz
    python -m dltutorials.drawing.hmc_figures adaptation OUT.png results/runs/paper/hmc/*/seed1234/draws.npz

``samples``: one panel per run, two dimensions of the draws over the contours
of the target's density; ``adaptation``: the step size and the moving-average
acceptance of every move (section 11.2's adaptation at work).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dltutorials import drawing
from dltutorials.drawing.plots import save_hmc_adaptation, save_hmc_samples


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
    drawing.main(__doc__, {
        "samples": lambda output, draws: save_hmc_samples(output, [samples_panel(*load_run(Path(path)))
                                                                   for path in draws]),
        "adaptation": lambda output, draws: save_hmc_adaptation(output, [adaptation_trace(*load_run(Path(path)))
                                                                         for path in draws]),
    }, "draws.npz of each run, one panel or line each", argv)


if __name__ == "__main__":
    main()
