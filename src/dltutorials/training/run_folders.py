"""Where a run of an image model and its layers live under ``results/``: the part of ``workflow.layout`` that
the stages read as well (a model stacked on another run's layers), kept here because the numerics code may not
depend on the workflow. ``workflow.layout`` spells every other path."""

from __future__ import annotations

RESULTS = "results"
# The tutorial's dataset: its results keep the paths they always had, those of any other dataset name it.
TUTORIAL_DATASET = "mnist"


def dataset_folder(dataset: str) -> str:
    """The part of a path that names a dataset: '' for the tutorial's MNIST, '<dataset>/' otherwise."""
    return "" if dataset == TUTORIAL_DATASET else f"{dataset}/"


def run_dir(preset: str, model: str, dataset: str, seed: int | str, results: str = RESULTS) -> str:
    """results/runs/<preset>/<model>/[<dataset>/]seed<N>: one run of an image model (paths.run_dir)."""
    return f"{results}/runs/{preset}/{model}/{dataset_folder(dataset)}seed{seed}"


def stack_layer_dirs(run_dir_: str, n_layers: int, stack_on: dict | None = None, preset: str = "",
                     seed: int | str = "", results: str = RESULTS) -> list[str]:
    """The folder of each layer 1..n_layers of the stack of ``run_dir_``: <run>/layer<k>, except, with
    ``model.pretrain.stack_on`` ({model, data, layers}), its first ``layers``, which are that model's run's on
    that dataset (same preset and seed): trained once, stacked on by this model."""
    dirs = [f"{run_dir_}/layer{k}" for k in range(1, n_layers + 1)]
    if stack_on:
        below = run_dir(preset, stack_on["model"], stack_on["data"], seed, results)
        dirs[:stack_on["layers"]] = [f"{below}/layer{k}" for k in range(1, stack_on["layers"] + 1)]
    return dirs
