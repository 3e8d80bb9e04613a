"""Layer-wise pretraining: stages, the MLP facade, and the DAG's rerun and crash behaviour."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import SNAKEMAKE, snakemake
from dltutorials.config import ConfigError, compose, validate
from dltutorials.fingerprints import layer_settings
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
    ("model.pretrain.per_layer.2.corruption_level=1.5", "model.pretrain.per_layer.2.corruption_level must be in"),
    ("model.hidden_sizes=[64]", r"model.pretrain.per_layer.2: no such layer \(layers are numbered 1 to 1\)"),
    ("+model.pretrain.per_layer.4.corruption_level=0.1", "model.pretrain.per_layer.4: no such layer"),
    ("model.pretrain.epochs=0", "model.pretrain.epochs must be > 0"),
    ("+model.pretrain.per_layer.1.momentum=0.5",
     "model.pretrain.per_layer.1.momentum is not a parameter of DenoisingAutoencoder"),
])
def test_bad_pretraining_settings_are_rejected_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(["model=sda", override]))


def tiny_sda_config(results_dir, run_dir, *overrides):
    return compose(["model=sda", "preset=tiny", f"paths.results_dir={results_dir}", f"paths.run_dir={run_dir}",
                    "num_threads=1", *overrides])


@pytest.fixture(scope="module")
def tiny_stack(results_dir, tmp_path_factory):
    """A tiny SdA (3 layers) pretrained layer by layer and fine-tuned through the stage functions."""
    run_dir = tmp_path_factory.mktemp("sda_run")
    cfg = tiny_sda_config(results_dir, run_dir)
    summaries = []
    for k in (1, 2, 3):
        summaries.append(pretrain_layer(cfg, k))
        if k < 3:
            encode_layer(cfg, k)
    return cfg, run_dir, summaries, train(cfg)


def test_each_layer_learns_from_the_codes_of_the_layer_below(tiny_stack, results_dir):
    cfg, run_dir, summaries, _ = tiny_stack
    layer1, layer2, layer3 = (load_layer(layer_dir(run_dir, k) / "layer.pt") for k in (1, 2, 3))
    assert layer1.weight.shape == (64, 784) and layer2.weight.shape == (32, 64) and layer3.weight.shape == (16, 32)
    codes1, codes2 = (np.load(layer_dir(run_dir, k) / "codes.npy") for k in (1, 2))
    x = torch.from_numpy(np.load(results_dir / "data/mnist/train.npz")["x"])
    assert codes1.shape == (50000, 64) and codes2.shape == (50000, 32)
    np.testing.assert_allclose(codes1[:100], encode(layer1, x[:100]).numpy(), rtol=1e-5)
    np.testing.assert_allclose(codes2[:100], encode(layer2, torch.from_numpy(codes1[:100])).numpy(), rtol=1e-5)
    assert [s["settings"]["corruption_level"] for s in summaries] == [0.1, 0.2, 0.3]
    epochs = pd.read_csv(layer_dir(run_dir, 2) / "epochs.csv")
    assert list(epochs.columns) == ["epoch", "cost", "seconds"] and len(epochs) == 3
    assert np.isfinite(epochs["cost"]).all()
    assert not list(run_dir.rglob("*.part"))


def test_fine_tuning_starts_from_the_pretrained_stack(tiny_stack, results_dir, tmp_path):
    cfg, run_dir, _, row = tiny_stack
    assert {"pretrain_seconds_layer1", "pretrain_seconds_layer3", "finetune_seconds"} <= set(row)
    assert row["tutorial_test_error"] == pytest.approx(1.30)
    assert 0 < row["test_error"] < 30, "pretrained layers and a few epochs of fine-tuning are far from chance (90 %)"
    # with a learning rate too small to move anything, the fine-tuned network *is* the pretrained stack
    still = tiny_sda_config(results_dir, run_dir, "model.module.learning_rate=1e-12", "model.max_epochs=1")
    train(still, tmp_path)
    weights = torch.load(tmp_path / "model.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    for k in (1, 2, 3):
        layer = load_layer(layer_dir(run_dir, k) / "layer.pt")
        torch.testing.assert_close(weights[f"hidden.{k - 1}.weight"], layer.weight, rtol=0, atol=1e-7)
        torch.testing.assert_close(weights[f"hidden.{k - 1}.bias"], layer.hidden_bias, rtol=0, atol=1e-7)


def test_fine_tuning_refuses_layers_pretrained_with_other_settings(tiny_stack, results_dir, tmp_path):
    cfg, run_dir, _, _ = tiny_stack
    other = tiny_sda_config(results_dir, run_dir, "model.pretrain.per_layer.2.corruption_level=0.25")
    with pytest.raises(ConfigError, match=r"layer2/layer.pt was pretrained with other settings "
                                          r"\(per_layer.2.corruption_level differ\)"):
        train(other, tmp_path)
    assert not (tmp_path / "metrics.json").exists()


def test_a_layers_fingerprint_holds_its_settings_and_those_below_never_above():
    base = validate(compose(["model=sda"]))
    layer2_changed = validate(compose(["model=sda", "model.pretrain.per_layer.2.corruption_level=0.25"]))
    finetune_changed = validate(compose(["model=sda", "model.module.learning_rate=0.05"]))
    assert layer_settings(base, 1) == layer_settings(layer2_changed, 1)
    assert layer_settings(base, 2) != layer_settings(layer2_changed, 2)
    assert layer_settings(base, 3) != layer_settings(layer2_changed, 3), "layer 3 learns from layer 2's codes"
    assert all(layer_settings(base, k) == layer_settings(finetune_changed, k) for k in (1, 2, 3))


def test_pretraining_only_tables_have_a_row_per_epoch(tiny_stack, tmp_path):
    cfg, run_dir, _, _ = tiny_stack
    (run_dir / "metrics.json").rename(tmp_path / "metrics.json")  # look at it as a pretraining-only run
    try:
        table = write_table([{"model": "rbm", "preset": "tiny", "seed": 1, "dataset": "mnist",
                              "run_dir": str(run_dir)}], tmp_path / "t.csv")
    finally:
        (tmp_path / "metrics.json").rename(run_dir / "metrics.json")
    assert list(table["layer"]) == [1, 1, 1, 2, 2, 2, 3, 3, 3] and list(table["epoch"]) == [1, 2, 3] * 3
    assert list(table["tutorial_cost"]) == [-90.65, -81.24, -74.91] * 3  # the tutorial's RBM trace, epochs 1-3
    assert pd.read_csv(tmp_path / "t.csv").shape == table.shape


def planned_outputs(workdir, *args):
    """The outputs a dry run would (re)make."""
    result = snakemake(workdir, "-n", *args)
    lines = re.findall(r"^\s+output: (.+)$", result.stdout + result.stderr, flags=re.MULTILINE)
    return {path for line in lines for path in line.split(", ")}


RUN = "results/runs/tiny/sda/seed1234"
# fine-tuning's outputs, and its learning curve
FINE_TUNED = {f"{RUN}/metrics.json", f"{RUN}/model.ckpt", "results/tiny/sda.csv",
              "results/tiny/figures/sda_learning.png"}


@pytest.mark.slow
def test_changing_layer_2_reruns_layers_2_and_up_never_layer_1(tiny_run):
    workdir = tiny_run[0]
    base = ["--config", "preset=tiny", "models=[sda]"]
    assert planned_outputs(workdir, *base) == set()
    layer2 = planned_outputs(workdir, *base, "overrides=[model.pretrain.per_layer.2.corruption_level=0.25]")
    assert layer2 == {f"{RUN}/layer2/layer.pt", f"{RUN}/layer2/codes.npy", f"{RUN}/layer3/layer.pt", *FINE_TUNED,
                      "results/tiny/figures/sda_pretraining.png"}
    finetune = planned_outputs(workdir, *base, "overrides=[model.module.learning_rate=0.05]")
    assert finetune == FINE_TUNED
    layer1 = planned_outputs(workdir, *base, "overrides=[model.pretrain.per_layer.1.corruption_level=0.05]")
    assert {f"{RUN}/layer{k}/layer.pt" for k in (1, 2, 3)} | {f"{RUN}/layer1/codes.npy"} <= layer1
    assert "results/tiny/figures/sda_filters.png" in layer1, "the filters figure draws layer 1"


@pytest.mark.slow
def test_settings_that_change_no_number_rerun_nothing(tiny_run):
    """Progress bars, logging, chunking and evaluation batches are left out of every fingerprint."""
    workdir, mirror_url = tiny_run
    display = ("overrides=[trainer.enable_progress_bar=true,trainer.log_every_n_steps=3,"
               "data.datamodule.updates_per_step=7,data.datamodule.eval_batch_size=500]")
    assert planned_outputs(workdir, "--config", "preset=tiny", f"data_mirror={mirror_url}", display) == set()


@pytest.mark.slow
def test_figures_are_redrawn_when_the_settings_they_draw_from_change(tiny_run):
    workdir, mirror_url = tiny_run
    changed = planned_outputs(workdir, "--config", "preset=tiny", "models=[rbm]", f"data_mirror={mirror_url}",
                              "overrides=[model.samples.n_rows=2]")  # a key only the RBM has
    assert changed == {"results/tiny/figures/rbm_samples.png"}


# A test hook loaded by every Python process the test starts (PYTHONPATH): the
# job that saves a file whose path ends with $PAUSE_BEFORE_RENAMING stops right
# before renaming its complete temporary file into place, after touching $PAUSED.
PAUSE_HOOK = """
import os, time
_replace = os.replace

def _paused_replace(src, dst, *args, **kwargs):
    if str(dst).endswith(os.environ["PAUSE_BEFORE_RENAMING"]):
        open(os.environ["PAUSED"], "w").close()
        time.sleep(3600)
    return _replace(src, dst, *args, **kwargs)

os.replace = _paused_replace
"""


def start_and_kill(workdir, args, ready, env=None, timeout=600):
    """Start Snakemake in its own session, wait until ``ready()``, then SIGKILL the whole job tree."""
    process = subprocess.Popen([*SNAKEMAKE, "--directory", str(workdir), *args], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    was_ready = ready()
    kill_session(process.pid)
    process.wait()
    return was_ready


def kill_session(sid):
    """SIGKILL every process of session ``sid`` (Snakemake and every job it started), until none is left."""
    while True:
        members = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and os.getsid(int(entry.name)) == sid \
                        and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":  # zombies are dead
                    members.append(int(entry.name))
            except (ProcessLookupError, FileNotFoundError):
                pass
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def checksum(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_job_killed_inside_training_or_saving_leaves_nothing_half_done(tiny_run, tmp_path):
    """SIGKILL while layer 2 trains, then while it writes its file: the rerun redoes layer 2 only."""
    workdir = tmp_path / "workflow"
    shutil.copytree(tiny_run[0] / "results/data", workdir / "results/data")  # downloaded and prepared
    # batch 1 on 10,000 examples: each epoch of layer 2 lasts long enough (about a second) to be killed inside
    args = ["results/tiny/sda.csv", "--config", "preset=tiny", "models=[sda]", "seeds=[7]",
            "overrides=[data.datamodule.train_subset=10000,model.pretrain.batch_size=1,model.pretrain.epochs=3]"]
    run = workdir / "results/runs/tiny/sda/seed7"
    layer2_log = workdir / "results/logs/pretrain/tiny/sda/seed7/layer2.log"

    def layer2_finished_an_epoch():
        return layer2_log.exists() and "pretraining epoch 1," in layer2_log.read_text()

    assert start_and_kill(workdir, args, layer2_finished_an_epoch), "layer 2 never finished its first epoch"
    assert "pretraining epoch 3," not in layer2_log.read_text(), "killed inside training"
    assert not (run / "layer2/layer.pt").exists() and not list(run.rglob("*.part"))
    layer1 = {name: (run / "layer1" / name) for name in ("layer.pt", "codes.npy")}
    before = {name: (path.stat().st_mtime_ns, checksum(path)) for name, path in layer1.items()}

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_HOOK)
    paused = tmp_path / "paused"
    env = {**os.environ, "PYTHONPATH": str(hook), "PAUSE_BEFORE_RENAMING": "seed7/layer2/layer.pt",
           "PAUSED": str(paused)}
    snakemake(workdir, "--unlock", *args)
    assert start_and_kill(workdir, ["--rerun-incomplete", *args], paused.exists, env=env), "never reached the save"
    assert not (run / "layer2/layer.pt").exists(), "killed while saving: the file is not in place"
    assert len(list((run / "layer2").glob(".layer.pt.*.part"))) == 1, "only the temporary file was written"

    snakemake(workdir, "--unlock", *args)
    planned = planned_outputs(workdir, "--rerun-incomplete", *args)
    assert "results/runs/tiny/sda/seed7/layer2/layer.pt" in planned
    assert not {"results/runs/tiny/sda/seed7/layer1/layer.pt", "results/runs/tiny/sda/seed7/layer1/codes.npy"} & planned
    snakemake(workdir, "--rerun-incomplete", *args)
    assert {name: (path.stat().st_mtime_ns, checksum(path)) for name, path in layer1.items()} == before
    load_layer(run / "layer2/layer.pt")
    assert not list(workdir.rglob("*.part")), "no temporary file left after the rerun"
    table, uninterrupted = (pd.read_csv(d / "results/tiny/sda.csv") for d in (workdir, tiny_run[0]))
    assert list(table.columns) == list(uninterrupted.columns)
    assert list(table["seed"]) == [7] and table["test_error"].between(0, 100).all()
