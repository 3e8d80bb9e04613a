"""How good a set of MCMC draws is: effective sample size (ArviZ) and errors of the moments."""

from __future__ import annotations

import logging
import warnings

import numpy as np


def effective_sample_size(draws: np.ndarray) -> np.ndarray:
    """ArviZ's bulk ESS per dimension of ``draws`` shaped (n_samples, n_chains, dim)."""
    with warnings.catch_warnings():  # arviz 0.x announces its 1.0 refactor on import, and logs its previews
        warnings.simplefilter("ignore", FutureWarning)
        logging.getLogger("arviz.preview").setLevel(logging.WARNING)
        import arviz

    by_chain = np.ascontiguousarray(np.moveaxis(draws, 1, 0), dtype=np.float64)  # ArviZ: (chain, draw, dim)
    with warnings.catch_warnings():  # many short chains (more chains than draws) are intended here
        warnings.filterwarnings("ignore", message="More chains")
        return np.asarray(arviz.ess(arviz.convert_to_dataset({"x": by_chain}))["x"].values)


def moment_errors(draws: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> dict:
    """Largest absolute errors of the sample mean and covariance of all draws (chains pooled, as the tutorial)."""
    pooled = draws.reshape(-1, draws.shape[-1]).astype(np.float64)
    sample_cov = np.atleast_2d(np.cov(pooled.T))
    return {"max_abs_mean_error": float(np.abs(pooled.mean(axis=0) - mean).max()),
            "max_abs_cov_error": float(np.abs(sample_cov - cov).max())}
