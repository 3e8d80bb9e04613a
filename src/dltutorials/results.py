"""Result rows and tables: one tidy row per run, compared with the tutorial's reported numbers."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from dltutorials.atomic import atomic_path


@cache
def tutorial_results() -> pd.DataFrame:
    """Every number the 2014 tutorial reports (``resources/tutorial_results.csv``)."""
    with resources.files("dltutorials").joinpath("resources/tutorial_results.csv").open() as f:
        return pd.read_csv(f)


def tutorial_value(model: str, dataset: str, metric: str) -> float | None:
    rows = tutorial_results().query("model == @model and dataset == @dataset and metric == @metric")
    return float(rows["value"].iloc[0]) if len(rows) else None


def write_table(metrics_files: list[str | Path], output: str | Path) -> pd.DataFrame:
    """Collect runs' ``metrics.json`` into one CSV, a row per run, written atomically."""
    if not metrics_files:
        raise ValueError(f"no runs to tabulate for {output}")
    rows = [json.loads(Path(path).read_text()) for path in metrics_files]
    table = pd.json_normalize(rows)  # nested dicts (versions) become versions.torch, ...
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    return table
