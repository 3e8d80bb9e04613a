"""Runs by hand and sweeps (python -m dltutorials.stages.train ...): own folders, clear one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TRAIN = [sys.executable, "-m", "dltutorials.stages.train"]


def train_stage(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAIN, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_a_hand_run_writes_its_own_folder_never_the_pipelines(results_dir):
    result = train_stage("model=logreg", "preset=tiny", f"paths.results_dir={results_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    hand_runs = list((results_dir / "hand_runs/tiny/logreg").glob("*/metrics.json"))
    assert len(hand_runs) == 1
    assert json.loads(hand_runs[0].read_text())["model"] == "logreg"
    assert not (results_dir / "runs/tiny/logreg").exists(), "the pipeline's run folder is untouched"


def test_trainer_auto_trains_on_the_device_the_job_sees(results_dir, tmp_path):
    """trainer=auto (the cluster's setting): the GPU where torch sees one, else the CPU."""
    import torch

    result = train_stage("model=logreg", "preset=tiny", "trainer=auto", f"paths.results_dir={results_dir}",
                         f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_a_hand_run_without_prepared_data_says_which_target_makes_it(tmp_path):
    result = train_stage("model=logreg", f"paths.results_dir={tmp_path}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    data = tmp_path / "data/mnist/train.npz"
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {data}: split file not found; prepare it with: snakemake --cores all {data}")


@pytest.mark.parametrize("override, message", [
    ("trainer.precision=bf16-mixed", "config error: trainer.precision must be 32-true"),
    ("trainer.devices=2", "config error: trainer.devices must be 1"),
])
def test_mixed_precision_and_several_devices_are_refused_in_one_line_before_training(tmp_path, override, message):
    result = train_stage("model=sda", override, f"paths.results_dir={tmp_path}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(message)


@pytest.mark.slow
def test_a_sweep_fine_tunes_the_pipelines_pretrained_layers(tiny_run):
    workdir = tiny_run[0]
    results = workdir / "results"
    table_before = (results / "tiny/sda.csv").read_bytes()
    result = train_stage("-m", "model=sda", "preset=tiny", f"paths.results_dir={results}",
                         "model.module.learning_rate=0.5,1.0", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(p.read_text()) for p in sorted(results.glob("sweeps/*/*/metrics.json"))]
    assert len(rows) == 2 and all(row["test_error"] < 30 for row in rows)
    assert (results / "tiny/sda.csv").read_bytes() == table_before


@pytest.mark.slow
def test_a_sweep_over_pretraining_settings_is_refused_in_one_line(tiny_run):
    workdir = tiny_run[0]
    result = train_stage("-m", "model=sda", "preset=tiny", f"paths.results_dir={workdir / 'results'}",
                         "model.pretrain.layer.learning_rate=0.5,0.2", cwd=workdir)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("config error: ") and "pretrained with other settings (layer.learning_rate differ)" in last
    assert "snakemake" in last
