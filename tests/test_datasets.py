"""An image dataset of one's own beside the tutorial's MNIST: its config from DLTUTORIALS_CONFIG_DIR, and
runs, tables and figures whose paths name it, so that neither dataset ever overwrites the other's results."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_dir

from conftest import SNAKEMAKE, snakemake
from dltutorials.config import CONFIG_DIR, ConfigError, available, compose

DATASET = "mirrored"
SIZES = {"train": 600, "valid": 200, "test": 200}
TINY = ["--config", "preset=tiny"]


def write_dataset(folder: Path, mnist: Path) -> Path:
    """MNIST test digits mirrored left to right in the tutorial's format (a gzipped pickle of three (x, y)
    splits), and a folder of configs with its data/mirrored.yaml, which downloads it from a file:// URL."""
    with gzip.open(mnist, "rb") as f:
        _, _, (x, y) = pickle.load(f, encoding="latin1")
    x = x.reshape(-1, 28, 28)[:, :, ::-1].reshape(-1, 784).astype(np.float32)
    ends = np.cumsum(list(SIZES.values()))
    splits = tuple((x[end - n:end], y[end - n:end].astype(np.int64)) for n, end in zip(SIZES.values(), ends))
    source = folder / f"{DATASET}.pkl.gz"
    with gzip.open(source, "wb") as f:
        pickle.dump(splits, f)
    config_dir = folder / "my_conf"
    (config_dir / "data").mkdir(parents=True)
    (config_dir / "data" / f"{DATASET}.yaml").write_text(f"""\
name: {DATASET}
kind: images
urls: [{source.as_uri()}]
sha256: {hashlib.sha256(source.read_bytes()).hexdigest()}
mirror: null
mirror_path: {DATASET}/{DATASET}.pkl.gz
raw_file: ${{paths.data_dir}}/${{data.name}}/${{data.name}}.pkl.gz
prepared_dir: ${{paths.data_dir}}/${{data.name}}
sizes: {SIZES}
n_features: 784
n_classes: 10
image_shape: [1, 28, 28]
datamodule:
  _target_: dltutorials.data.datamodule.MinibatchDataModule
  data_dir: ${{data.prepared_dir}}
  updates_per_step: 250
  eval_batch_size: 2000
  train_subset: null
  tutorial_evaluation: true
""")
    return config_dir


@pytest.fixture
def user_configs(tmp_path, shared_data, monkeypatch) -> Path:
    """The user's folder of configs, named by DLTUTORIALS_CONFIG_DIR (the workflow's jobs inherit it)."""
    config_dir = write_dataset(tmp_path, shared_data / "mnist" / "mnist.pkl.gz")
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(config_dir))
    return config_dir


def test_a_users_dataset_composes_and_its_runs_name_it(user_configs):
    assert DATASET in available("data") and "mnist" in available("data")
    cfg = compose(["model=dbn", "preset=tiny", f"data={DATASET}"])
    assert cfg.data.sizes.test == 200
    assert cfg.paths.run_dir == f"results/runs/tiny/dbn/{DATASET}/seed1234"
    assert compose(["model=dbn", "preset=tiny"]).paths.run_dir == "results/runs/tiny/dbn/seed1234", "MNIST's as before"
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        hand_run = hydra_compose("config", [f"data={DATASET}", "preset=tiny", "model=mlp"], return_hydra_config=True)
    assert hand_run.hydra.run.dir.startswith(f"results/hand_runs/tiny/mlp/{DATASET}/")


def test_a_bad_folder_of_configs_is_refused_in_one_line(user_configs, monkeypatch, tmp_path):
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="DLTUTORIALS_CONFIG_DIR=.*missing is not a directory"):
        available("data")
    (user_configs / "data" / "mnist.yaml").write_text("name: mnist\n")
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(user_configs))
    with pytest.raises(ConfigError, match=r"data/mnist.yaml has the name of .*conf/data/mnist.yaml"):
        available("data")


@pytest.mark.slow
def test_a_second_dataset_builds_beside_mnist_without_touching_it(user_configs, shared_data, tmp_path):
    """The tiny preset on MNIST, then on the mirrored digits in the same folder: every path of the second names
    its dataset, MNIST's stay where they were, untouched, and nothing reruns."""
    workdir = tmp_path / "workflow"
    mnist_args = [*TINY, f"data_mirror={shared_data}", "models=[logreg,mlp]"]
    other_args = [*TINY, f"data_mirror={shared_data}", "models=[logreg,mlp,rbm]", f"overrides=[data={DATASET}]"]
    snakemake(workdir, *mnist_args)
    mnist_tables = {model: workdir / f"results/tiny/{model}.csv" for model in ("logreg", "mlp")}
    before = {model: (path.read_bytes(), path.stat().st_mtime_ns) for model, path in mnist_tables.items()}

    snakemake(workdir, *other_args)
    for model, path in mnist_tables.items():
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before[model], f"{path} was rewritten"
        mnist, other = pd.read_csv(path).iloc[0], pd.read_csv(workdir / f"results/tiny/{DATASET}/{model}.csv").iloc[0]
        assert (mnist["dataset"], other["dataset"]) == ("mnist", DATASET)
        assert (mnist["test_examples"], other["test_examples"]) == (10000, 200)
        assert mnist["test_error"] != other["test_error"]
        assert pd.isna(other["tutorial_test_error"]), "the tutorial reports nothing on this dataset"
        assert (workdir / f"results/runs/tiny/{model}/seed1234/metrics.json").is_file()
        run = workdir / f"results/runs/tiny/{model}/{DATASET}/seed1234"
        assert f"name: {DATASET}" in (run / "config.yaml").read_text() and (run / "model.ckpt").is_file()
    rbm = pd.read_csv(workdir / f"results/tiny/{DATASET}/rbm.csv")
    assert list(rbm["epoch"]) == [1, 2] and (rbm["dataset"] == DATASET).all()
    assert (workdir / f"results/runs/tiny/rbm/{DATASET}/seed1234/layer1/layer.pt").is_file()
    figures = workdir / f"results/tiny/{DATASET}/figures"
    assert sorted(p.name for p in figures.iterdir()) == ["logreg_learning.png", "mlp_learning.png",
                                                          "rbm_filters.png", "rbm_pretraining.png", "rbm_samples.png"]
    mnist_figures = sorted(p.name for p in (workdir / "results/tiny/figures").iterdir())
    assert mnist_figures == ["logreg_learning.png", "mlp_learning.png"], "MNIST's own only (no headline: "\
        "some classifiers did not run)"
    assert not list((workdir / "results/runs/tiny").glob("*/mnist")), "MNIST's paths name no dataset"

    for args in (mnist_args, other_args):
        dry = snakemake(workdir, "-n", *args)
        assert "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.slow
def test_every_layerwise_job_of_another_dataset_names_it(user_configs, tmp_path):
    """The tiny DBN's two layers, the codes between them, fine-tuning and table, and the paper DBN's first layer
    and filters: all jobs of the dataset's own rules, in its own paths."""
    dry = snakemake(tmp_path, f"results/tiny/{DATASET}/dbn.csv", f"results/{DATASET}/figures/dbn_filters.png",
                    "-n", "--quiet", "rules")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout + dry.stderr, flags=re.M))
    assert counts == {"download": "1", "prepare": "1", "pretrain_layer": "3", "encode_layer": "1", "train": "1",
                      "table": "1", "layer_figure": "1", "total": "9"}
    listed = snakemake(tmp_path, "-n", f"results/tiny/{DATASET}/dbn.csv").stdout
    assert f"results/runs/tiny/dbn/{DATASET}/seed1234/layer2/layer.pt" in listed
    assert f"results/runs/tiny/dbn/{DATASET}/seed1234/layer1/codes.npy" in listed


def test_a_sweep_on_another_dataset_names_it(user_configs, tmp_path):
    """The tiny DBN's learning-rate grid on the dataset: its stacks, fine-tunings and table in paths that name it."""
    listed = snakemake(tmp_path, f"results/tiny/{DATASET}/sweeps/dbn_lr.csv", "-n", "-p")
    out = listed.stdout + listed.stderr
    runs = f"results/runs/tiny/sweeps/dbn_lr/{DATASET}"
    assert f"{runs}/pre0.1/seed1234/layer2/layer.pt" in out and f"{runs}/pre0.01/seed1234/fine1/metrics.json" in out
    commands = [line for line in out.splitlines() if "-m dltutorials.stages." in line]
    assert len(commands) == 2 + 4 + 2 + 4, "download, prepare, 2 x 2 layers, 2 x 1 codes, 4 fine-tunings"
    assert all(f"data={DATASET} " in line for line in commands)
    assert "results/runs/tiny/sweeps/dbn_lr/pre" not in out, "no path of MNIST's"


@pytest.mark.slow
@pytest.mark.parametrize("args, error", [
    (["overrides=[data=nope]"], r"config overrides: data=nope is not one of the image datasets \["),
    (["overrides=[data=nottingham]"], r"config overrides: data=nottingham is not one of the image datasets"),
])
def test_a_dataset_that_is_not_an_image_dataset_is_refused_in_one_line(user_configs, tmp_path, args, error):
    assert_refused(tmp_path, args, error)


@pytest.mark.slow
@pytest.mark.parametrize("file_name, name, error", [
    ("quick", "quick", r"data=quick: an image dataset's name is .* not one of the presets"),
    ("runs", "runs", r"data=runs: an image dataset's name is .* not one of the presets .* \['data', "),
    ("other", DATASET, r"data=other: data.name must be 'other' \(the config's file name\), got 'mirrored'"),
])
def test_a_dataset_named_like_a_results_folder_or_not_after_its_file_is_refused(user_configs, tmp_path, file_name,
                                                                                 name, error):
    text = (user_configs / "data" / f"{DATASET}.yaml").read_text()
    (user_configs / "data" / f"{file_name}.yaml").write_text(text.replace(f"name: {DATASET}\n", f"name: {name}\n"))
    assert_refused(tmp_path, [], error)


def assert_refused(workdir, config, error):
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "-n", "--config", "preset=tiny", *config],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and re.search(error, result.stdout + result.stderr), result.stderr[-2000:]
