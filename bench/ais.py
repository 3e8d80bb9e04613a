"""AIS of a 784-500 RBM (dltutorials.sampling.ais) against the time its matrix products take at the machine's
matrix-multiply rate, measured side by side in this run.

The paper's protocol: 100 runs, 14,500 intermediate distributions. Each temperature is two products of the
100 runs with the weights (the hidden units' input, the visible units' input): 2 x 100 x 784 x 500
multiply-adds. The baseline is those products alone, as ``torch.mm`` calls of the same shapes, so the ratio
is what the sampling, the weights' log-space bookkeeping and the Python loop cost on top. One thread.
"""

from __future__ import annotations

import functools
import sys
import time

import torch
from common import exit_status, interleaved, report

from dltutorials.sampling import ais

N_VISIBLE, N_HIDDEN, RUNS = 784, 500, 100


def ais_seconds(weight, visible_bias, hidden_bias, base_bias, betas) -> float:
    return ais.ais_log_partition(weight, visible_bias, hidden_bias, base_bias, betas, n_runs=RUNS).seconds


def products_seconds(weight, temperatures: int) -> float:
    v, h = torch.rand(RUNS, N_VISIBLE), torch.rand(RUNS, N_HIDDEN)
    start = time.perf_counter()
    for _ in range(temperatures):
        torch.mm(v, weight.T)
        torch.mm(h, weight)
    return time.perf_counter() - start


def main(repeats: int = 3) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    weight = 0.05 * torch.randn(N_HIDDEN, N_VISIBLE)
    visible_bias, hidden_bias = -torch.rand(N_VISIBLE), torch.zeros(N_HIDDEN)
    base_bias = visible_bias.clone()
    betas = ais.inverse_temperatures()
    temperatures = len(betas) - 1
    project, baseline = interleaved(
        functools.partial(ais_seconds, weight, visible_bias, hidden_bias, base_bias, betas),
        functools.partial(products_seconds, weight, temperatures), repeats)
    flops = 2 * 2 * RUNS * N_VISIBLE * N_HIDDEN * temperatures
    report("ais_784x500", project, baseline, 2.0, repeats,
           extra=f"{RUNS} runs x {temperatures} temperatures: {project:.1f} s; its products alone {baseline:.1f} s "
                 f"({flops / baseline / 1e9:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
