"""The whole DAG on the tiny preset: download (over loopback HTTP) -> prepare -> train -> tables."""

from __future__ import annotations

import os
import re
import subprocess

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from conftest import SNAKEMAKE, snakemake
from dltutorials.data.midi import read_piano_roll

COLUMNS = ["model", "preset", "seed", "dataset", "best_valid_error", "test_error", "test_examples", "best_epoch",
           "best_iteration", "epochs_run", "iterations_run", "train_seconds", "tutorial_valid_error",
           "tutorial_test_error", "test_error_minus_tutorial"]
REPORTED_TEST_ERROR = {"logreg": 7.489583, "mlp": 1.65, "lenet": 0.92}
# Test errors (%) the tiny preset reaches in seconds, with a margin; a model that learns nothing stays near 90.
TINY_TEST_ERROR_BELOW = {"logreg": 25, "mlp": 30, "lenet": 60, "sda": 30, "dbn": 30, "cae": 25}
# Figures and their sizes in pixels: filters tile 10 x 10 images of 28 x 28 with 1-pixel gaps;
# the tiny RBM's samples are 3 rows of 20 chains.
FIGURES = {"cae_filters.png": (289, 289), "da_corruption0_filters.png": (289, 289),
           "da_corruption30_filters.png": (289, 289), "dbn_filters.png": (289, 289), "rbm_filters.png": (289, 289),
           "rbm_samples.png": (3 * 29 - 1, 20 * 29 - 1), "sda_filters.png": (289, 289)}
# Matplotlib figures of the HMC runs (plots.save_hmc_samples / save_hmc_adaptation at 110 dpi).
HMC_FIGURES = {"hmc_samples.png": (440, 1386), "hmc_adaptation.png": (660, 770)}
RNNRBM_FIGURES = ["rnnrbm_samples.png", "rnnrbm_monitor.png", "rnnrbm_statistics.png"]
# Curves from the runs' logs (stages.curves): validation error of the supervised runs, pretraining costs.
CURVE_FIGURES = [f"{model}_learning.png" for model in ("logreg", "mlp", "lenet", "sda", "dbn", "cae")] + [
    f"{table}_pretraining.png" for table in ("da", "rbm", "sda", "dbn", "cae")] + ["headline.png"]


@pytest.mark.slow
def test_tiny_preset_builds_every_table(tiny_run):
    workdir, _ = tiny_run
    assert (workdir / "results/data/mnist/mnist.pkl.gz").stat().st_size == 17051982
    for model, reported in REPORTED_TEST_ERROR.items():
        table = pd.read_csv(workdir / f"results/tiny/{model}.csv")
        assert len(table) == 1
        assert list(table.columns[: len(COLUMNS)]) == COLUMNS
        assert {"git_commit", "versions.torch", "versions.lightning", "device"} <= set(table.columns)
        row = table.iloc[0]
        assert (row["model"], row["preset"], row["seed"], row["dataset"]) == (model, "tiny", 1234, "mnist")
        assert 0 < row["best_valid_error"] < TINY_TEST_ERROR_BELOW[model] + 5, "far better than chance (90 %)"
        assert 0 < row["test_error"] < TINY_TEST_ERROR_BELOW[model]
        assert row["tutorial_test_error"] == pytest.approx(reported)
        assert row["test_error_minus_tutorial"] == pytest.approx(row["test_error"] - reported, abs=1e-3)
        assert 1 <= row["best_epoch"] <= row["epochs_run"]
        run_dir = workdir / f"results/runs/tiny/{model}/seed1234"
        assert (run_dir / "model.ckpt").is_file() and (run_dir / "config.yaml").is_file()
        assert "validation error" in (run_dir / "train.log").read_text()
    assert not list(workdir.glob("results/**/*.part")), "no temporary file left behind"
    assert not (workdir / "results/tiny/sweeps").exists(), "sweeps are not part of the default target"


@pytest.mark.slow
def test_tiny_preset_builds_the_layerwise_tables_and_figures(tiny_run):
    workdir, _ = tiny_run
    for model in ("sda", "dbn", "cae"):
        row = pd.read_csv(workdir / f"results/tiny/{model}.csv").iloc[0]
        assert row["pretrain_seconds_layer1"] > 0 and row["finetune_seconds"] > 0
        assert 0 < row["test_error"] < TINY_TEST_ERROR_BELOW[model]
    rbm = pd.read_csv(workdir / "results/tiny/rbm.csv")
    assert list(rbm["epoch"]) == [1, 2] and rbm["cost"].notna().all()
    assert list(rbm["tutorial_cost"]) == [-90.65, -81.24]
    da = pd.read_csv(workdir / "results/tiny/da.csv")
    assert sorted(set(da["settings.corruption_level"])) == [0.0, 0.3]
    folder = workdir / "results/tiny/figures"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FIGURES, *HMC_FIGURES, *RNNRBM_FIGURES,
                                                               *CURVE_FIGURES])
    for name, size in FIGURES.items():
        image = matplotlib.image.imread(folder / name)
        assert image.shape[:2] == size, name
        grey = image[..., 0]
        assert grey.std() > 0.05, f"{name} is (nearly) blank"
        assert 0.02 < (grey > 0.5).mean() < 0.98, f"{name} has too little structure"


@pytest.mark.slow
def test_tiny_preset_builds_the_hmc_table_and_figures(tiny_run):
    """Chapter 11 in the default target: a row per target (config hmc_targets) with the tutorial's numbers."""
    workdir, _ = tiny_run
    table = pd.read_csv(workdir / "results/tiny/hmc.csv")
    assert list(table["target"]) == ["gaussian_5d", "gaussian_100d_ill", "banana"]
    assert list(table["n_chains"]) == [3, 100, 100] and (table["n_samples"] == 100).all()
    assert ((table["final_stepsize"] >= 0.001) & (table["final_stepsize"] <= 1.0)).all()
    assert (table["final_acceptance_rate"] > 0.5).all() and (table["ess_min"] > 10).all()
    tutorial = table.set_index("target").loc["gaussian_5d"]
    assert tutorial["tutorial_final_acceptance_rate"] == pytest.approx(0.922502043428)
    assert tutorial["tutorial_final_stepsize"] == pytest.approx(0.460446628091)
    assert table.set_index("target")["tutorial_final_stepsize"].drop("gaussian_5d").isna().all()
    for name, size in HMC_FIGURES.items():
        image = matplotlib.image.imread(workdir / "results/tiny/figures" / name)
        assert image.shape[:2] == size, name
        assert image[..., :3].std() > 0.05, f"{name} is (nearly) blank"
    assert (workdir / "results/runs/tiny/hmc/banana/seed1234/sampler.pt").is_file()


@pytest.mark.slow
def test_tiny_preset_builds_the_rnnrbm_table_samples_and_figures(tiny_run):
    """Chapter 12 in the default target: the shared MIDI copy -> piano rolls -> RNN-RBM (the tutorial's
    protocol, and its section 12.4 improvements after an RBM pretraining) -> table, .mid files, figures."""
    workdir, _ = tiny_run
    assert (workdir / "results/data/nottingham/midi/source.json").is_file()
    table = pd.read_csv(workdir / "results/tiny/rnnrbm.csv")
    epochs, final = table[table["row"] == "epoch"], table[table["row"] == "final"].set_index("variant")
    assert list(epochs["variant"]) == ["tutorial", "tutorial", "improved", "improved"]
    assert list(epochs["epoch"]) == [1, 2, 1, 2] and list(final["epoch"]) == [2, 2]
    assert list(epochs["tutorial_train_monitor"]) == [-15.0308940028, -10.4892606673] * 2
    assert (epochs["train_monitor"] < 0).all() and (epochs["epoch_seconds"] > 0).all()
    assert final.loc["improved", "pretrain_seconds"] > 0 and pd.isna(final.loc["tutorial", "pretrain_seconds"])
    for _, row in final.iterrows():
        assert (row["model"], row["preset"], row["seed"], row["dataset"]) == ("rnnrbm", "tiny", 1234, "nottingham")
        for split in ("valid", "test"):
            assert -88 * 0.7 < row[f"{split}_monitor"] < 0, "finite, and better than chance (88 log 1/2)"
            assert 0 < row[f"{split}_accuracy"] < 1
            # measured on whole tunes beside the training (its likelihood.json): the same first 3 tunes
            assert -88 * 0.7 < row[f"{split}_log_likelihood_per_frame"] < 0
            assert 0 < row[f"{split}_expected_accuracy"] < 1 and row[f"{split}_expected_accuracy_error"] > 0
        assert row["likelihood_git_commit"] == row["git_commit"] and row["likelihood_code"] == row["code"]
    assert list(final["key"]) == ["original", "transposed"]
    # the baselines on the same frames as each variant, once per key: the tutorial's, and the improved one's
    # transposed tunes
    baselines = table[table["row"] == "baseline"]
    assert list(zip(baselines["key"], baselines["variant"])) == [
        (key, name) for key in ("original", "transposed") for name in ("previous_frame", "markov", "frequency")]
    assert (baselines["model"] == "baseline").all() and baselines["seed"].isna().all()
    for split in ("valid", "test"):
        assert (baselines[f"likelihood_{split}_frames"] == final[f"likelihood_{split}_frames"].iloc[0]).all()
        assert baselines[f"{split}_log_likelihood_per_frame"].between(-88 * 0.7, 0).all()
    for variant, folder in (("tutorial", "results/tiny/rnnrbm"), ("improved", "results/tiny/rnnrbm/improved")):
        run_dir = workdir / f"results/runs/tiny/rnnrbm/nottingham/{variant}/seed1234"
        samples = np.load(run_dir / "samples.npz")["samples"]
        assert samples.shape == (2, 40, 88) and set(np.unique(samples)) <= {0, 1}, "2 samples of 40 frames"
        for i, sample in enumerate(samples, start=1):
            played = sample[: np.flatnonzero(sample.any(axis=1))[-1] + 1]  # a roll ends with its last note
            assert np.array_equal(read_piano_roll(workdir / folder / f"sample{i}.mid"), played)
    for name in RNNRBM_FIGURES:
        image = matplotlib.image.imread(workdir / "results/tiny/figures" / name)
        assert image[..., :3].std() > 0.05, f"{name} is (nearly) blank"


@pytest.mark.slow
def test_tiny_preset_builds_the_tutorial_table(tiny_run):
    """Every number the tutorial reports beside the tiny runs', which are not judged (not its protocol)."""
    workdir, _ = tiny_run
    table = pd.read_csv(workdir / "results/tiny/tutorial_table.csv")
    reported = table[table["section"] == "reported"]
    assert len(reported) == 29
    # the tiny runs are short: the RBM's epochs from the third on and the RNN-RBM's epoch 200 were not run
    run = reported[reported["n_seeds"] == 1]
    assert len(run) == 29 - 13 - 1 and (reported.loc[reported["n_seeds"] == 0, "verdict"] == "not run").all()
    assert (run["verdict"] == "not the tutorial's protocol (preset tiny)").all()
    mlp = reported.set_index(["model", "metric"]).loc[("mlp", "test_error")]
    assert mlp["ours_mean"] == pd.read_csv(workdir / "results/tiny/mlp.csv")["test_error"].iloc[0]
    assert mlp["tutorial"] == 1.65 and mlp["our_seconds"] > 0
    assert {"cae", "da", "rnnrbm (improved)"} <= set(table.loc[table["section"] == "ours_only", "model"])
    markdown = (workdir / "results/tiny/tutorial_table.md").read_text()
    assert markdown.startswith("# The tutorial's numbers and ours (preset tiny)")
    assert markdown.count("| not the tutorial's protocol (preset tiny) |") == len(run)


@pytest.mark.slow
def test_tiny_preset_draws_learning_curves_pretraining_costs_and_the_headline(tiny_run):
    workdir, _ = tiny_run
    for name in CURVE_FIGURES:
        image = matplotlib.image.imread(workdir / "results/tiny/figures" / name)
        assert image.shape[0] > 200 and image[..., :3].std() > 0.05, f"{name} is (nearly) blank"
    assert not (workdir / "results/tiny/figures/rbm_learning.png").exists(), "the RBM has no supervised run"


@pytest.mark.slow
def test_a_partial_tutorial_table_is_built_only_when_asked(tiny_run):
    workdir, mirror_url = tiny_run
    args = ["--config", "preset=tiny", f"data_mirror={mirror_url}", "models=[logreg,mlp]"]
    full = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "-n", "results/tiny/tutorial_table.csv", *args],
                          capture_output=True, text=True, timeout=600)
    assert full.returncode == 0 and "Nothing to be done" in full.stdout + full.stderr, "the full table stands"
    try:
        snakemake(workdir, *args, "partial_tutorial_table=true")
        table = pd.read_csv(workdir / "results/tiny/tutorial_table.csv").set_index(["model", "metric"])
        assert table.loc[("mlp", "test_error"), "n_seeds"] == 1
        assert table.loc[("dbn", "test_error"), "verdict"] == "not run"
        assert "cae" not in table.index.get_level_values("model"), "no ours-only row for what did not run"
    finally:  # the other tests read the full table
        snakemake(workdir, "--config", "preset=tiny", f"data_mirror={mirror_url}")
    restored = pd.read_csv(workdir / "results/tiny/tutorial_table.csv").set_index(["model", "metric"])
    assert restored.loc[("dbn", "test_error"), "n_seeds"] == 1 and "cae" in restored.index.get_level_values("model")


@pytest.mark.slow
def test_a_sampler_setting_reruns_the_hmc_runs_only(tiny_run):
    workdir, mirror_url = tiny_run
    changed = snakemake(workdir, "-n", "--quiet", "rules", "--config", "preset=tiny", f"data_mirror={mirror_url}",
                        "overrides=[sampler.n_steps=10]")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", changed.stdout + changed.stderr, flags=re.M))
    assert counts == {"sample_hmc": "3", "table": "1", "hmc_figure": "2", "tutorial_table": "1", "all": "1",
                      "total": "8"}


@pytest.mark.slow
def test_nothing_reruns_until_a_hyperparameter_changes(tiny_run):
    workdir, mirror_url = tiny_run
    args = ["--config", "preset=tiny", f"data_mirror={mirror_url}"]
    assert "Nothing to be done" in snakemake(workdir, "-n", *args).stdout + snakemake(workdir, "-n", *args).stderr
    moved_mirror = snakemake(workdir, "-n", "--config", "preset=tiny", "data_mirror=/nonexistent")
    assert "Nothing to be done" in moved_mirror.stdout + moved_mirror.stderr, "the mirror is not a parameter"
    supervised = "models=[logreg,mlp,lenet]"  # the override names a key only these models have
    changed = snakemake(workdir, "-n", "--quiet", "rules", *args, supervised,
                        "overrides=[model.module.learning_rate=0.05]")
    out = changed.stdout + changed.stderr
    assert "train" in out and "table" in out
    assert "download" not in out and "prepare" not in out


@pytest.mark.slow
def test_cores_beyond_the_machine_are_capped_unless_asked_not_to(tiny_run):
    """`--cores 16` on a smaller machine runs one job per CPU at most (time-sliced jobs finish later in all)."""
    workdir, _ = tiny_run
    machine = len(os.sched_getaffinity(0))
    args = ["--cores", "16", "--forcerun", "results/tiny/logreg.csv", "--config", "preset=tiny", "models=[logreg]"]
    capped = snakemake_any_cores(workdir, *args)
    assert f"Provided cores: {min(16, machine)}" in capped
    as_given = snakemake_any_cores(workdir, *args, "cap_cores_at_machine=false")
    assert "Provided cores: 16" in as_given


def test_threads_per_model_from_the_command_line(tmp_path):
    """The README's `--config 'threads={default: 1, lenet: 4}'` (whose values Snakemake passes as strings)."""
    args = ["-n", "--cores", "8", "results/lenet.csv", "results/logreg.csv",
            "--config", "cap_cores_at_machine=false", "threads={default: 1, lenet: 4}"]
    output = snakemake_any_cores(tmp_path, *args)
    threads = dict(re.findall(r"^rule train:\n(?:    .*\n)*?    wildcards: run=paper/(\w+)/seed\d+.*\n"
                              r"(?:    (?!threads).*\n)*    threads: (\d+)", output, flags=re.M))
    assert threads == {"lenet": "4"}, "logreg keeps the default: one thread, which Snakemake does not print"
    refused = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "results/lenet.csv",
                              "--config", "threads={default: 0}"], capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "instance['threads']['default']" in refused.stdout + refused.stderr


def snakemake_any_cores(workdir, *args):
    result = subprocess.run([*SNAKEMAKE[:-2], "--directory", str(workdir), *args], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


# What `snakemake --lint` may report, each justified in dltutorials.workflow.plan's docstring (and docs/design.md).
JUSTIFIED_LINTS = {"Specify a conda environment or container for each rule."} | {
    f"Shell command directly uses variable {name} from outside of the rule"
    for name in ("PYTHON", "OVERRIDES", "HMC_OVERRIDES", "MUSIC_OVERRIDES", "LIKELIHOOD_OVERRIDES", "MIRROR_ENV")}


def test_snakemake_lint_finds_only_what_is_justified(tmp_path):
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--lint"], capture_output=True, text=True,
                            timeout=600)
    findings = set(re.findall(r"^\s+\* (.+?):$", result.stdout + result.stderr, flags=re.M))
    assert findings, "the lint ran and found the justified findings"
    assert findings <= JUSTIFIED_LINTS, findings - JUSTIFIED_LINTS
