"""Layer-wise pretraining: stages, the MLP facade, and the DAG's rerun and crash behaviour."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import SNAKEMAKE, snakemake
from dltutorials.config import ConfigError, compose, validate
from dltutorials.models.autoencoders import DenoisingAutoencoder
from dltutorials.models.stacked import StackedSigmoidClassifier
from dltutorials.results import write_table
from dltutorials.stages.pretrain import encode_layer, pretrain_layer
from dltutorials.stages.train import train
from dltutorials.training.layers import encode, layer_dir, load_layer


def test_stacked_classifier_shares_the_pretrained_weights_and_hidden_biases():
    torch.manual_seed(0)
    layers = [DenoisingAutoencoder(6, 5, 0.1), DenoisingAutoencoder(5, 4, 0.1)]
    net = StackedSigmoidClassifier(n_in=6, hidden_sizes=[5, 4], n_out=3, learning_rate=0.1)
    net.load_pretrained(layers)
    x = torch.rand(2, 6)
    codes = layers[1].encode(layers[0].encode(x))  # the dA facade
    assert torch.allclose(net.hidden[1](net.hidden[0](x)), codes)  # the MLP facade, same function
    with pytest.raises(ValueError, match="pretrained layer 1 has weights"):
        StackedSigmoidClassifier(n_in=7, hidden_sizes=[5, 4], n_out=3, learning_rate=0.1).load_pretrained(layers)
    with pytest.raises(ValueError, match="2 pretrained layers for 1 hidden layers"):
        StackedSigmoidClassifier(n_in=6, hidden_sizes=[5], n_out=3, learning_rate=0.1).load_pretrained(layers)


@pytest.mark.parametrize("override, message", [
    ("model.pretrain.per_layer.1.corruption_level=1.5", "model.pretrain.per_layer.1.corruption_level must be in"),
    ("model.hidden_sizes=[64]", "model.pretrain.per_layer has 3 entries for 1 layers"),
    ("model.pretrain.epochs=0", "model.pretrain.epochs must be > 0"),
    ("+model.pretrain.per_layer.0.momentum=0.5", "momentum is not a parameter of DenoisingAutoencoder"),
])
def test_bad_pretraining_settings_are_rejected_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(["model=sda", override]))


@pytest.fixture(scope="module")
def tiny_stack(results_dir, tmp_path_factory):
    """A tiny SdA pretrained layer by layer and fine-tuned through the stage functions."""
    run_dir = tmp_path_factory.mktemp("sda_run")
    cfg = compose(["model=sda", "preset=tiny", f"paths.results_dir={results_dir}", f"paths.run_dir={run_dir}",
                   "num_threads=1"])
    summaries = []
    for k in (1, 2):
        summaries.append(pretrain_layer(cfg, k))
        if k == 1:
            encode_layer(cfg, k)
    return cfg, run_dir, summaries, train(cfg)


def test_each_layer_learns_from_the_codes_of_the_layer_below(tiny_stack, results_dir):
    cfg, run_dir, summaries, _ = tiny_stack
    layer1, layer2 = (load_layer(layer_dir(run_dir, k) / "layer.pt") for k in (1, 2))
    assert layer1.weight.shape == (64, 784) and layer2.weight.shape == (32, 64)
    codes = np.load(layer_dir(run_dir, 1) / "codes.npy")
    x = torch.from_numpy(np.load(results_dir / "data/mnist/train.npz")["x"])
    assert codes.shape == (50000, 64)
    np.testing.assert_allclose(codes[:100], encode(layer1, x[:100]).numpy(), rtol=1e-5)
    assert [s["settings"]["corruption_level"] for s in summaries] == [0.1, 0.2]
    epochs = pd.read_csv(layer_dir(run_dir, 2) / "epochs.csv")
    assert list(epochs.columns) == ["epoch", "cost", "seconds"] and len(epochs) == 1
    assert np.isfinite(epochs["cost"]).all()
    assert not list(run_dir.rglob("*.part"))


def test_fine_tuning_starts_from_the_pretrained_stack(tiny_stack):
    cfg, run_dir, _, row = tiny_stack
    assert {"pretrain_seconds_layer1", "pretrain_seconds_layer2", "finetune_seconds"} <= set(row)
    assert row["tutorial_test_error"] == pytest.approx(1.30)
    assert 0 < row["test_error"] < 90


def test_pretraining_only_tables_have_a_row_per_epoch(tiny_stack, tmp_path):
    cfg, run_dir, _, _ = tiny_stack
    (run_dir / "metrics.json").rename(tmp_path / "metrics.json")  # look at it as a pretraining-only run
    try:
        table = write_table([{"model": "rbm", "preset": "tiny", "seed": 1, "dataset": "mnist",
                              "run_dir": str(run_dir)}], tmp_path / "t.csv")
    finally:
        (tmp_path / "metrics.json").rename(run_dir / "metrics.json")
    assert list(table["layer"]) == [1, 2] and list(table["epoch"]) == [1, 1]
    assert list(table["tutorial_cost"]) == [-90.65, -90.65]  # the tutorial's RBM trace, epoch 1
    assert pd.read_csv(tmp_path / "t.csv").shape == table.shape


def planned_outputs(workdir, *args):
    """The outputs a dry run would (re)make."""
    result = snakemake(workdir, "-n", *args)
    lines = re.findall(r"^\s+output: (.+)$", result.stdout + result.stderr, flags=re.MULTILINE)
    return {path for line in lines for path in line.split(", ")}


@pytest.fixture(scope="module")
def tiny_sda_workdir(tiny_run):
    return tiny_run[0]


@pytest.mark.slow
def test_changing_layer_2_reruns_layers_2_and_up_never_layer_1(tiny_sda_workdir):
    base = ["--config", "preset=tiny", "models=[sda]"]
    assert planned_outputs(tiny_sda_workdir, *base) == set()
    run = "results/runs/tiny/sda/seed1234"
    layer2 = planned_outputs(tiny_sda_workdir, *base, "overrides=[model.pretrain.per_layer.1.corruption_level=0.25]")
    finetuned = {f"{run}/metrics.json", f"{run}/model.ckpt", "results/tiny/sda.csv"}
    assert layer2 == {f"{run}/layer2/layer.pt", *finetuned}
    finetune = planned_outputs(tiny_sda_workdir, *base, "overrides=[model.module.learning_rate=0.05]")
    assert finetune == finetuned
    layer1 = planned_outputs(tiny_sda_workdir, *base, "overrides=[model.pretrain.per_layer.0.corruption_level=0.05]")
    assert {f"{run}/layer1/layer.pt", f"{run}/layer1/codes.npy", f"{run}/layer2/layer.pt"} <= layer1


@pytest.mark.slow
def test_a_job_killed_mid_pretraining_leaves_nothing_corrupt_and_keeps_finished_layers(tiny_sda_workdir):
    workdir = tiny_sda_workdir
    # a new seed's layers only, so the shared run's tables and figures stay as they are
    run = workdir / "results/runs/tiny/sda/seed7"
    args = [str(run.relative_to(workdir) / "layer2/layer.pt"), "--config", "preset=tiny"]
    process = subprocess.Popen([*SNAKEMAKE, "--directory", str(workdir), *args], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    layer2_log = workdir / "results/logs/pretrain_tiny_sda_seed7_layer2.log"
    deadline = time.monotonic() + 300
    while not layer2_log.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job tree, mid layer 2
    process.wait()
    assert layer2_log.exists(), "layer 2's pretraining never started"
    assert not (run / "layer2/layer.pt").exists()
    layer1_mtime = (run / "layer1/layer.pt").stat().st_mtime
    load_layer(run / "layer1/layer.pt")  # complete and readable

    snakemake(workdir, "--unlock", *args)
    snakemake(workdir, "--rerun-incomplete", *args)
    assert (run / "layer1/layer.pt").stat().st_mtime == layer1_mtime, "finished layer 1 was not redone"
    load_layer(run / "layer2/layer.pt")
    assert not list(run.rglob("*.part")), "no temporary file left after the rerun"
