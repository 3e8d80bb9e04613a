"""Result rows and tables: one tidy row per run, compared with the tutorial's reported numbers."""

from __future__ import annotations

import json
import re
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


def tutorial_row(model: str, dataset: str, metric: str) -> pd.Series | None:
    """The tutorial's row for one number (value, unit, setting, time, hardware), or None."""
    rows = tutorial_results().query("model == @model and dataset == @dataset and metric == @metric")
    return rows.iloc[0] if len(rows) else None


def tutorial_value(model: str, dataset: str, metric: str) -> float | None:
    row = tutorial_row(model, dataset, metric)
    return None if row is None else float(row["value"])


def tutorial_setting_value(model: str, dataset: str, label: str) -> float | None:
    """A number the tutorial reports only inside a row's setting text, e.g. HMC's "final stepsize 0.46..."."""
    rows = tutorial_results().query("model == @model and dataset == @dataset")
    for setting in rows["setting"].dropna():
        match = re.search(rf"{re.escape(label)}\s+(-?[\d.]+(?:e-?\d+)?)", setting)
        if match:
            return float(match.group(1))
    return None


def tutorial_monitor_trace(model: str, dataset: str) -> list[float]:
    """Per-epoch monitor values the tutorial prints (the RBM's "proxy cost per epoch: ..."), or []."""
    rows = tutorial_results().query("model == @model and dataset == @dataset")
    for setting in rows["setting"].dropna():
        match = re.search(r"per epoch:\s*([-\d.\s]+)", setting)
        if match:
            return [float(v) for v in match.group(1).split()]
    return []


@cache
def rnnrbm_tutorial_trace() -> dict[int, float]:
    """The RNN-RBM monitor the tutorial prints by epoch (section 12.3: epochs 1-10 and 190-200; 198 is -inf)."""
    with resources.files("dltutorials").joinpath("resources/rnnrbm_tutorial_trace.csv").open() as f:
        trace = pd.read_csv(f)
    return dict(zip(trace["epoch"].astype(int), trace["monitor"].astype(float)))


# What made a result (``dltutorials.stages.finish``): the numerics code's digest, the fingerprint of the code and
# settings, the commit, the machine, the libraries. A per-epoch row carries its run's (or its layer's).
PROVENANCE = ("code", "numerics", "git_commit", "host", "cpu", "versions")
# An RNN-RBM's final row also holds its measurement on whole tunes (music_rows): what the run's metrics.json and its
# likelihood.json both name comes from the latter with this prefix, its provenance too (likelihood_code, ...).
MEASURED = "likelihood_"


def run_provenance(result: dict) -> dict:
    """The provenance of a run's (or a layer's) result, for each of its per-epoch rows: the keys it has (a result
    made before the code digest was recorded has no ``code`` or ``numerics``), and its commit or None."""
    return {"git_commit": None, **{key: result[key] for key in PROVENANCE if key in result}}


def pretraining_rows(run_dir: Path, model: str, preset: str, seed: int, dataset: str) -> list[dict]:
    """One row per layer and epoch of a pretraining-only run: the tutorial's per-epoch monitor."""
    from dltutorials.training.layers import load_layer  # torch: not needed by the workflow's DAG, which imports this

    rows = []
    trace = tutorial_monitor_trace(model, dataset)
    for layer_dir in sorted(run_dir.glob("layer*"), key=lambda d: int(d.name[5:])):
        info = load_layer(layer_dir / "layer.pt").info
        epochs = pd.read_csv(layer_dir / "epochs.csv")
        for epoch in epochs.itertuples():
            rows.append({"model": model, "preset": preset, "seed": seed, "dataset": dataset,
                         "layer": info["layer"], "layer_class": info["class"], "epoch": epoch.epoch,
                         "cost": epoch.cost, "epoch_seconds": epoch.seconds,
                         "tutorial_cost": trace[epoch.epoch - 1] if epoch.epoch <= len(trace) else None,
                         "settings": info.get("settings", {}), **run_provenance(info)})
    return rows


# The keys of a likelihood.json that name the run the final row already names, or that the table has as rows.
MUSIC_RUN_KEYS = ("model", "preset", "seed", "dataset", "variant", "baselines")


def music_rows(run_dir: Path, likelihood: dict | None) -> list[dict]:
    """An RNN-RBM run: one row per epoch (the training monitor, seconds, the tutorial's value where it printed
    one), then the run's final row (metrics.json: valid and test monitor and one sample's accuracy, times) with,
    where the run was measured (``likelihood``, its ``likelihood.json``), the log-likelihood per frame and the expected
    accuracy on whole tunes; what both files name (provenance, device, frames: the likelihood measures whole
    tunes, the monitor subsequences) comes from the measurement as likelihood_<name> (``MEASURED``)."""
    final = json.loads((run_dir / "metrics.json").read_text())
    run = {key: final[key] for key in ("model", "preset", "seed", "dataset", "variant")}
    epochs = pd.read_csv(run_dir / "epochs.csv")
    rows = [{**run, "row": "epoch", "epoch": int(epoch.epoch), "train_monitor": epoch.monitor,
             "tutorial_train_monitor": epoch.tutorial_monitor, "epoch_seconds": epoch.seconds,
             **run_provenance(final)}
            for epoch in epochs.itertuples()]
    final = {**final, "row": "final", "epoch": final["epochs"]}
    if likelihood is not None:
        final.update({(f"{MEASURED}{key}" if key in PROVENANCE or key in final else key): value
                      for key, value in likelihood.items() if key not in MUSIC_RUN_KEYS})
    return [*rows, final]


def music_baseline_rows(measured: list[dict]) -> list[dict]:
    """The baselines measured beside the RNN-RBM runs (their ``likelihood.json``'s ``baselines``), one row per
    baseline, dataset and key (the original one, or C major / A minor for a transposed variant), valid and test
    side by side in the model rows' columns: the same frames give the same row, so it appears once."""
    rows = {}
    for likelihood in measured:
        for baseline in likelihood.get("baselines", []):
            key = (likelihood["dataset"], likelihood["key"], baseline["baseline"])
            row = rows.setdefault(key, {"model": "baseline", "preset": likelihood["preset"], "dataset": key[0],
                                        "variant": key[2], "key": key[1], "row": "baseline"})
            split = baseline["split"]
            row.update({f"{split}_log_likelihood_per_frame": round(baseline["log_likelihood"], 4),
                        f"{split}_expected_accuracy": round(baseline["expected_accuracy"], 5),
                        f"{split}_accuracy": round(baseline["accuracy"], 5),
                        f"{MEASURED}{split}_frames": baseline["frames"]})
    return list(rows.values())


def write_table(runs: list[dict], output: str | Path) -> pd.DataFrame:
    """One CSV for runs given as {model, preset, seed, dataset, run_dir}, written atomically.

    A run with ``metrics.json`` (a trained classifier, an HMC run) gives one
    row; a pretraining-only run (dA, RBM) a row per layer and epoch; an
    RNN-RBM run a row per epoch and a final row.
    """
    if not runs:
        raise ValueError(f"no runs to tabulate for {output}")
    rows, measured_music = [], []
    for run in runs:
        run_dir = Path(run["run_dir"])
        if run["model"] == "rnnrbm":  # its likelihood.json, where measured, gives columns and baseline rows
            likelihood = run_dir / "likelihood.json"
            measured_music.append(json.loads(likelihood.read_text()) if likelihood.is_file() else None)
            rows.extend(music_rows(run_dir, measured_music[-1]))
        elif (run_dir / "metrics.json").is_file():
            rows.append(json.loads((run_dir / "metrics.json").read_text()))
        else:
            rows.extend(pretraining_rows(run_dir, run["model"], run["preset"], run["seed"], run["dataset"]))
    rows.extend(music_baseline_rows([likelihood for likelihood in measured_music if likelihood is not None]))
    table = pd.json_normalize(rows)  # nested dicts (versions, settings) become versions.torch, ...
    for column in ("seed", "epoch"):  # integers beside the baselines' empty cells, not 1234.0
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    return table


def write_likelihood_table(paths: list[str | Path], output: str | Path) -> pd.DataFrame:
    """results/rbm_likelihood.csv: one row per RBM and seed, from each run's ``likelihood.json`` (AIS's log Z
    and its band, the exact log Z where there is one, average test and training log p(v)), written atomically."""
    if not paths:
        raise ValueError(f"no likelihood runs to tabulate for {output}")
    measured = [json.loads(Path(path).read_text()) for path in paths]
    # an RNN-RBM's baselines are rows of results/rnnrbm.csv (music_baseline_rows), not columns here
    table = pd.json_normalize([{key: value for key, value in row.items() if key != "baselines"} for row in measured])
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    return table


# The first columns of a sweep's table, around its two grid columns; the runs' other columns follow.
SWEEP_COLUMNS = (["sweep", "model", "preset", "dataset"],
                 ["seed", "best_valid_error", "mean_valid_error", "selected", "test_error", "best_epoch", "epochs_run",
                  "pretrain_seconds", "finetune_seconds"])


def write_sweep_table(points: list[dict], axes: tuple[str, str], output: str | Path) -> pd.DataFrame:
    """A sweep's table (conf/sweep/): one row per grid point and seed, written atomically.

    ``points``: ``sweep``, the two grid columns named by ``axes`` (e.g. ``pretrain_learning_rate``,
    ``finetune_learning_rate``), ``seed`` and ``run_dir``, the fine-tuning run's folder. Each row adds the
    run's ``metrics.json`` (errors, epochs, seconds), ``pretrain_seconds`` (its stack's layers, shared by
    every fine-tuning of its pretraining value), ``mean_valid_error`` (its point's mean over seeds) and
    ``selected``: true on the rows of the point with the lowest mean validation error, the tutorial's
    choice (section 10.5); on a tie, the first in the grid's order.
    """
    if not points:
        raise ValueError(f"no runs to tabulate for {output}")
    axes = list(axes)
    rows = [{"sweep": point["sweep"], **{axis: point[axis] for axis in axes},
             **json.loads((Path(point["run_dir"]) / "metrics.json").read_text())} for point in points]
    table = pd.json_normalize(rows)  # versions.torch, ... as in the model tables
    table["pretrain_seconds"] = table.filter(regex=r"^pretrain_seconds_layer\d+$").sum(axis=1).round(2)
    table["mean_valid_error"] = table.groupby(axes, sort=False)["best_valid_error"].transform("mean").round(4)
    best = table.loc[table["mean_valid_error"].idxmin(), axes]  # idxmin: the first row of the lowest
    table["selected"] = (table[axes] == best).all(axis=1)
    first = [*SWEEP_COLUMNS[0], *axes, *SWEEP_COLUMNS[1]]
    table = table[first + [column for column in table.columns if column not in first]]
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    return table
