"""The table jobs of the workflow (run inside Snakemake): each writes its table and says so in its log."""

from __future__ import annotations

from pathlib import Path

from dltutorials import results


def write_model_table(runs: list[dict], output: str, log: str) -> None:
    """A model's, HMC's or an RNN-RBM's table from its runs (``results.write_table``)."""
    table = results.write_table(runs, output)
    Path(log).write_text(f"{output}: {len(table)} rows from {len(runs)} runs\n")


def write_sweep_table(points: list[dict], columns: list[str], output: str, log: str) -> None:
    """A sweep's table (``results.write_sweep_table``), and which point it selected."""
    table = results.write_sweep_table(points, columns, output)
    chosen = table[table["selected"]].iloc[0]
    Path(log).write_text(f"{output}: {len(table)} rows; selected {columns[0]}={chosen[columns[0]]:g} "
                         f"{columns[1]}={chosen[columns[1]]:g}, validation error {chosen['mean_valid_error']} %\n")


def write_likelihood_table(inputs: list[str], output: str, log: str) -> None:
    """A likelihood table from its runs' likelihood.json (``results.write_likelihood_table``)."""
    table = results.write_likelihood_table(inputs, output)
    Path(log).write_text(f"{output}: {len(table)} rows\n")
