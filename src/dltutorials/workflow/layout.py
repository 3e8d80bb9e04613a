"""Where everything lives under ``results/``: the one place each path is spelled.

Snakemake's rules and the Hydra configs both read these functions (the configs through the
resolvers ``dataset_folder``, ``run_dir``, ``hmc_run_dir`` and ``music_run_dir``), so a run
folder, a table, a figure or a layer has one authority.

A *folder* is the part of ``results/<folder>`` that names a preset and a dataset:
``""`` for the paper preset on the tutorial's MNIST, ``"<preset>/"`` for another preset,
``"[<preset>/]<dataset>/"`` for another image dataset. Tables and figures go to
``results/<folder><table>.csv`` and ``results/<folder>figures/``; runs to
``results/runs/<preset>/...``.
"""

from __future__ import annotations

# The paths the numerics code reads too (a stacked model's layers) are spelled in the numerics code, which may
# not depend on the workflow: RESULTS, TUTORIAL_DATASET, dataset_folder, run_dir, stack_layer_dirs.
from dltutorials.training.run_folders import (  # noqa: F401
    RESULTS,
    TUTORIAL_DATASET,
    dataset_folder,
    run_dir,
    stack_layer_dirs,
)

PAPER = "paper"
SPLITS = ("train", "valid", "test")


def folder(preset: str, dataset: str = TUTORIAL_DATASET) -> str:
    """``[<preset>/][<dataset>/]``: '' for the paper preset on MNIST."""
    return ("" if preset == PAPER else f"{preset}/") + dataset_folder(dataset)


def table(folder_: str, name: str) -> str:
    """results/<folder><name>.csv"""
    return f"{RESULTS}/{folder_}{name}.csv"


def figure(folder_: str, name: str) -> str:
    """results/<folder>figures/<name>.png"""
    return f"{RESULTS}/{folder_}figures/{name}.png"


def prepared_split(dataset: str, split: str, results: str = RESULTS) -> str:
    """results/data/<dataset>/<split>.npz, a dataset's prepared split (data.prepared_dir in conf/data/)."""
    return f"{results}/data/{dataset}/{split}.npz"


def sweep_stack_dir(preset: str, sweep: str, dataset: str, pre: str, seed: int | str) -> str:
    """results/runs/<preset>/sweeps/<sweep>/[<dataset>/]pre<x>/seed<N>: the stack of layers one pretraining value
    of a sweep makes, which every fine-tuning value of the grid starts from (``sweep_point_dir``)."""
    return f"{RESULTS}/runs/{preset}/sweeps/{sweep}/{dataset_folder(dataset)}pre{pre}/seed{seed}"


def sweep_point_dir(preset: str, sweep: str, dataset: str, pre: str, seed: int | str, fine: str) -> str:
    """<stack>/fine<y>: one grid point's fine-tuning."""
    return f"{sweep_stack_dir(preset, sweep, dataset, pre, seed)}/fine{fine}"


def hmc_run_dir(preset: str, target: str, seed: int | str, results: str = RESULTS) -> str:
    """results/runs/<preset>/hmc/<target>/seed<N>: one hybrid Monte-Carlo run."""
    return f"{results}/runs/{preset}/hmc/{target}/seed{seed}"


def music_run_dir(preset: str, dataset: str, variant: str, seed: int | str, results: str = RESULTS) -> str:
    """results/runs/<preset>/rnnrbm/<dataset>/<variant>/seed<N>: one RNN-RBM run."""
    return f"{results}/runs/{preset}/rnnrbm/{dataset}/{variant}/seed{seed}"


def music_table_name(dataset: str) -> str:
    """rnnrbm for the tutorial's Nottingham tunes, rnnrbm_<dataset> for any other piano-roll dataset."""
    return "rnnrbm" if dataset == "nottingham" else f"rnnrbm_{dataset}"


def music_samples_folder(preset: str, table_name: str, variant: str, first: bool) -> str:
    """results/[<preset>/]<table>/ holds the first variant's generated tunes, .../<table>/<variant>/ another's."""
    base = f"{folder(preset)}{table_name}"
    return base if first else f"{base}/{variant}"


def tutorial_table(preset: str, ext: str) -> str:
    """results/[<preset>/]tutorial_table.<csv|md|html>"""
    return f"{RESULTS}/{folder(preset)}tutorial_table.{ext}"


def register_resolvers() -> None:
    """Make these functions the Hydra configs' resolvers, so a run folder is spelled here only: e.g.
    ``paths.run_dir: ${run_dir:${paths.results_dir},${preset_name},${model.name},${data.name},${seed}}``."""
    from omegaconf import OmegaConf

    # the results folder first, as the configs name it (paths.results_dir), then the function's own arguments
    resolvers = {"dataset_folder": dataset_folder,
                 "run_dir": lambda results, *run: run_dir(*run, results=results),
                 "hmc_run_dir": lambda results, *run: hmc_run_dir(*run, results=results),
                 "music_run_dir": lambda results, *run: music_run_dir(*run, results=results)}
    for name, function in resolvers.items():
        OmegaConf.register_new_resolver(name, function, replace=True)
