"""Curves and the headline comparison, drawn from finished runs' files (nothing is trained here).

    python -m dltutorials.drawing.curves learning OUT.png results/runs/paper/mlp/seed*
    python -m dltutorials.drawing.curves pretraining OUT.png results/runs/paper/dbn/seed*
    python -m dltutorials.drawing.curves headline OUT.png results/logreg.csv results/mlp.csv ...
    python -m dltutorials.drawing.curves likelihood OUT.png results/runs/paper/rbm_*/*/seed1234/likelihood_epochs.csv

``learning``: the validation error (%) of each supervised run (logreg, mlp,
lenet, the fine-tuning of sda, dbn, cae) against the epoch, one line per run,
from its ``logs/metrics.csv``; a star marks the best validation, whose model
was tested (epoch, validation and test error in the legend, from
``metrics.json``). ``pretraining``: the per-epoch training cost of each
pretrained layer (the tutorial's printed monitor: reconstruction cross-entropy,
the cA's cost with its penalty, or the PCD RBM's pseudo-likelihood), one panel
per layer and one line per run, from ``layer<k>/epochs.csv``; the RBM's panel
also shows the tutorial's trace. ``headline``: every classifier's test error,
the mean over the tables' seeds with a std error bar, beside the tutorial's
number (the cA has none), from the model tables. ``likelihood``: the test log p(v) of
RBMs after each epoch, with AIS's band (``python -m dltutorials.stages.likelihood epochs``).

A missing or malformed input ends the process with one line naming the file;
figures are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from dltutorials import drawing
from dltutorials.data.datamodule import chunk_bounds
from dltutorials.drawing.plots import (
    save_headline,
    save_learning_curves,
    save_likelihood_curves,
    save_pretraining_costs,
)
from dltutorials.results import tutorial_monitor_trace
from dltutorials.training.early_stopping import PatienceRule

MODEL_ORDER = ["logreg", "mlp", "lenet", "sda", "dbn", "cae"]  # the tutorial's chapters


def read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' EmptyDataError and ParserError are ValueErrors
        raise ValueError(f"{path}: not a readable CSV ({error})") from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    return frame


def read_run(run_dir: Path) -> tuple[dict, dict]:
    """A finished supervised run's resolved config and ``metrics.json`` (written last, so it marks the end)."""
    files = [run_dir / "config.yaml", run_dir / "metrics.json", run_dir / "logs" / "metrics.csv"]
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{file}: not found; {run_dir} is not a finished training run")
    try:
        return OmegaConf.to_container(OmegaConf.load(files[0])), json.loads(files[1].read_text())
    except ValueError as error:  # JSONDecodeError
        raise ValueError(f"{files[1]}: not valid JSON ({error})") from None


def n_train_batches(cfg: dict) -> int:
    """Minibatches per epoch, as the datamodule counts them (an incomplete last one is dropped)."""
    datamodule = cfg["data"]["datamodule"]
    n_examples = datamodule.get("train_subset") or cfg["data"]["sizes"]["train"]
    return min(n_examples, cfg["data"]["sizes"]["train"]) // cfg["model"]["batch_size"]


def validation_frequency(cfg: dict) -> int:
    """Updates between validations, as the tutorial's early stopping sets it."""
    return PatienceRule(n_train_batches(cfg), cfg["model"]["early_stopping"]["patience"]).validation_frequency


def validation_curve(run_dir: str | Path) -> pd.DataFrame:
    """The run's logged validations: ``epoch`` (updates done / minibatches per epoch) and ``valid_error`` (%).

    The log's ``step`` counts training steps, each a chunk of minibatch updates
    (``chunk_bounds``: the same layout every epoch, every validation at a
    chunk's end), so the updates done at the end of step s are
    (s // steps per epoch) * n_train_batches + the chunk's end. The tutorial
    validates every ``validation_frequency`` updates (once per epoch for its
    models, so those points fall on whole epochs). Lightning writes metrics
    every ``log_every_n_steps`` steps only, so a run with few steps per epoch
    (logreg, lenet: 2) has every fifth validation in its log.
    """
    run_dir = Path(run_dir)
    cfg, _ = read_run(run_dir)
    log_file = run_dir / "logs" / "metrics.csv"
    log = read_csv(log_file, ["epoch", "step", "val/error"])
    n = n_train_batches(cfg)
    frequency = validation_frequency(cfg)
    bounds = chunk_bounds(n, frequency, cfg["data"]["datamodule"]["updates_per_step"])
    validations = log.dropna(subset=["val/error"])
    if validations.empty:
        raise ValueError(f"{log_file}: no validation logged")
    step = validations["step"].to_numpy(dtype=int)
    epoch_index, chunk = np.divmod(step, len(bounds))
    updates = epoch_index * n + np.array([end for _, end in bounds])[chunk]
    # Lightning writes a value logged in on_train_batch_end again with the next step: a row whose
    # step does not end at a validation is such a repeat, and is dropped.
    at_validation = updates % frequency == 0
    errors = validations["val/error"].to_numpy(dtype=float)
    repeat = np.zeros_like(at_validation)
    repeat[1:] = (step[1:] == step[:-1] + 1) & (errors[1:] == errors[:-1])
    # these hold for a log written with this config: a wrong chunk layout would place the points wrongly
    if not at_validation.any() or np.any(~at_validation & ~repeat) or not np.array_equal(
            epoch_index[at_validation], validations["epoch"].to_numpy(dtype=int)[at_validation]):
        raise ValueError(f"{log_file}: steps do not match {run_dir / 'config.yaml'} ({len(bounds)} steps per epoch, "
                         f"a validation every {frequency} updates)")
    return pd.DataFrame({"epoch": updates[at_validation] / n,
                         "valid_error": errors[at_validation]})


def best_epoch(run_dir: str | Path) -> tuple[float, float]:
    """(epoch, validation error %) of the best validation, from ``metrics.json``: the early-stopping rule's
    own record, exact even where the log left that validation out. The epoch is on validation_curve's axis,
    (best_iteration + 1) / n_train_batches, the tutorial's best epoch for a validation at an epoch's end."""
    cfg, metrics = read_run(Path(run_dir))
    if metrics.get("best_iteration") is None:
        raise ValueError(f"{Path(run_dir) / 'metrics.json'}: no best_iteration (the run never validated)")
    return (metrics["best_iteration"] + 1) / n_train_batches(cfg), float(metrics["best_valid_error"])


def learning_curve(run_dir: Path) -> dict:
    """What save_learning_curves draws for one run; the label says when the log lacks validations."""
    cfg, metrics = read_run(run_dir)
    curve = validation_curve(run_dir)
    epoch, valid_error = best_epoch(run_dir)
    label = f"{metrics['model']} ({metrics['preset']}, seed {metrics['seed']})"
    validations = metrics.get("iterations_run", 0) // validation_frequency(cfg)
    if len(curve) < validations:
        label += f" [{len(curve)} of {validations} validations logged]"
    return {"label": label, "epoch": curve["epoch"].to_numpy(), "valid_error": curve["valid_error"].to_numpy(),
            "best_epoch": epoch, "best_valid_error": valid_error, "test_error": float(metrics["test_error"])}


def cost_label(layer_cfg: dict) -> str:
    """What a layer's epochs.csv ``cost`` measures (the tutorial's monitor for that layer type)."""
    target = layer_cfg.get("_target_", "")
    if target.endswith(".RBM"):
        return "pseudo-likelihood (PCD monitor)" if layer_cfg.get("persistent") else "reconstruction cross-entropy"
    if target.endswith("ContractiveAutoencoder"):
        return "cross-entropy + contraction penalty"
    if target.endswith("DenoisingAutoencoder"):
        return "reconstruction cross-entropy"
    return "training cost"


def layer_costs(run_dir: str | Path) -> list[dict]:
    """Each pretrained layer of a run, bottom first: ``layer``, ``model``, ``seed``, ``dataset``, ``ylabel``
    and ``epochs`` (its epochs.csv: epoch, cost, seconds)."""
    run_dir = Path(run_dir)
    layer_dirs = sorted(run_dir.glob("layer[0-9]*"), key=lambda d: int(d.name[5:]))
    if not layer_dirs:
        raise FileNotFoundError(f"{run_dir}: no layer<k>/ folder; not a pretraining run")
    layers = []
    for layer_dir in layer_dirs:
        config_file = layer_dir / "config.yaml"
        if not config_file.is_file():
            raise FileNotFoundError(f"{config_file}: not found; {layer_dir} is not a finished layer")
        cfg = OmegaConf.to_container(OmegaConf.load(config_file))
        layers.append({"layer": int(layer_dir.name[5:]), "model": cfg["model"]["name"], "seed": cfg["seed"],
                       "preset": cfg["preset_name"], "dataset": cfg["data"]["name"],
                       "ylabel": cost_label(cfg["model"]["pretrain"]["layer"]),
                       "epochs": read_csv(layer_dir / "epochs.csv", ["epoch", "cost"])})
    return layers


def pretraining_panels(run_dirs: list[Path]) -> list[dict]:
    """One panel per layer number, a line per run; the tutorial's per-epoch trace where it printed one."""
    runs = [layer_costs(run_dir) for run_dir in run_dirs]
    several_models = len({layer["model"] for layers in runs for layer in layers}) > 1
    panels: dict[int, dict] = {}
    for layers in runs:
        for layer in layers:
            panel = panels.setdefault(layer["layer"], {"title": f"layer {layer['layer']}", "ylabel": layer["ylabel"],
                                                       "lines": [], "references": []})
            name = f"{layer['model']}, " if several_models else ""
            panel["lines"].append({"label": f"{name}{layer['preset']}, seed {layer['seed']}",
                                   "epoch": layer["epochs"]["epoch"], "cost": layer["epochs"]["cost"]})
            # the tutorial prints a per-epoch trace for one-layer models only (the RBM's)
            trace = tutorial_monitor_trace(layer["model"], layer["dataset"]) if len(layers) == 1 else []
            label = f"tutorial ({layer['model']})"
            if trace and label not in [reference["label"] for reference in panel["references"]]:
                panel["references"].append({"label": label, "epoch": np.arange(1, len(trace) + 1), "cost": trace})
    return [panels[k] for k in sorted(panels)]


def pretraining_title(run_dirs: list[Path]) -> str:
    models = sorted({layer["model"] for run_dir in run_dirs for layer in layer_costs(run_dir)})
    return f"Pretraining cost per epoch: {', '.join(models)}"


def headline_rows(tables: list[Path]) -> list[dict]:
    """Per model (and preset, when the tables mix presets): mean and std of the test error over its rows
    (one per seed), their number, and the tutorial's reported test error (None where it has none)."""
    frames = [read_csv(Path(table), ["model", "test_error", "tutorial_test_error"]) for table in tables]
    rows = pd.concat(frames, ignore_index=True)
    if "preset" not in rows:
        rows["preset"] = ""
    several_presets = rows["preset"].nunique() > 1
    order = {model: i for i, model in enumerate(MODEL_ORDER)}
    groups = sorted(rows.groupby(["model", "preset"], sort=False),
                    key=lambda item: (order.get(item[0][0], len(order)), item[0]))
    out = []
    for (model, preset), group in groups:
        errors = group["test_error"].astype(float)
        tutorial = group["tutorial_test_error"].dropna()
        out.append({"label": f"{model} ({preset})" if several_presets else model, "mean": errors.mean(),
                    "std": errors.std() if len(errors) > 1 else 0.0, "n_seeds": len(errors),
                    "tutorial": float(tutorial.iloc[0]) if len(tutorial) else None})
    return out


def likelihood_curves(output: Path, tables: list[str]) -> None:
    """Test log p(v) against epoch, a line per run with AIS's band, from ``likelihood_epochs.csv`` files
    (``python -m dltutorials.stages.likelihood epochs``)."""
    curves = []
    for path in tables:
        table = read_csv(Path(path), ["method", "model", "seed", "epoch", "test_log_prob", "log_z", "log_z_low",
                                      "log_z_high"])
        first = table.iloc[0]
        curves.append({"label": f"{first.method} ({first.model}, seed {first.seed})", "epoch": table.epoch.to_numpy(),
                       "log_prob": table.test_log_prob.to_numpy(),
                       # log p(v) = -F(v) - log Z: log Z's band, the other way round
                       "low": (table.test_log_prob - (table.log_z_high - table.log_z)).to_numpy(),
                       "high": (table.test_log_prob + (table.log_z - table.log_z_low)).to_numpy()})
    save_likelihood_curves(output, curves)


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {
        "learning": lambda output, runs: save_learning_curves(output, [learning_curve(Path(run)) for run in runs]),
        "pretraining": lambda output, runs: save_pretraining_costs(
            output, pretraining_panels([Path(run) for run in runs]), pretraining_title([Path(run) for run in runs])),
        "headline": lambda output, tables: save_headline(output, headline_rows([Path(t) for t in tables])),
        "likelihood": likelihood_curves,
    }, "run folders (learning, pretraining), model tables results/<model>.csv (headline) or "
       "likelihood_epochs.csv files (likelihood)", argv)


if __name__ == "__main__":
    main()
