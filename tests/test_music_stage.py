"""The RNN-RBM's stage (stages/music.py): its config checks and a run from the shared MIDI copy."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dltutorials.config import ConfigError, compose, validate
from dltutorials.stages.data import download_dataset, prepare_dataset
from dltutorials.stages.music import run


@pytest.mark.parametrize("override, message", [
    ("model.module.learning_rate=0", "model.module.learning_rate must be > 0, got 0"),
    ("model.module.cd_k=1.5", "model.module.cd_k must be an integer, got 1.5"),
    ("model.module.n_hidden_recurrent=0", "model.module.n_hidden_recurrent must be a positive integer, got 0"),
    ("model.module.momentum=1.0", "model.module.momentum must be in [0, 1), got 1.0"),
    ("model.module.nesterov=true", "model.module.nesterov needs a momentum > 0"),
    ("model.module.gradient_clip=-1", "model.module.gradient_clip must be a norm > 0 or null, got -1"),
    ("+model.module.dropout=0.5", "model.module.dropout is not a parameter of RNNRBM"),
    ("model.epochs=0", "model.epochs must be a positive integer, got 0"),
    ("generation.n_frames=many", "generation.n_frames must be a positive integer, got 'many'"),
    ("evaluation.gibbs_steps=0", "evaluation.gibbs_steps must be a positive integer, got 0"),
    ("data.note_range=[109,21]", "data.note_range must be [low, high) MIDI notes"),
    ("data.dt=0", "data.dt must be a frame length in seconds > 0, got 0"),
    ("data=mnist", "data=mnist is not a piano-roll dataset"),
    ("trainer.precision=16-mixed", "trainer.precision must be 32-true"),
])
def test_bad_settings_are_refused_naming_the_key(tmp_path, override, message):
    cfg = compose([override], config_name="rnnrbm")
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists(), "nothing ran"


def test_the_image_models_refuse_a_piano_roll_dataset():
    with pytest.raises(ConfigError, match="data=nottingham is a piano_roll dataset: only the RNN-RBM"):
        validate(compose(["model=mlp", "data=nottingham"]))


def test_the_stage_reports_a_bad_setting_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dltutorials.stages.music", "model.module.cd_k=0",
                             f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "config error: model.module.cd_k must be > 0, got 0"


@pytest.fixture(scope="module")
def nottingham(tmp_path_factory, shared_data):
    data_dir = tmp_path_factory.mktemp("data")
    cfg = compose(["data=nottingham", f"paths.data_dir={data_dir}", f"data.mirror={shared_data}"])
    download_dataset(cfg)
    prepare_dataset(cfg)
    return data_dir


def test_a_tiny_run_trains_evaluates_and_generates(tmp_path, nottingham):
    cfg = compose(["preset=tiny", f"paths.data_dir={nottingham}", "trainer.enable_progress_bar=false"],
                  config_name="rnnrbm")
    row = run(cfg, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(row))
    epochs = pd.read_csv(tmp_path / "epochs.csv")
    assert list(epochs["epoch"]) == [1, 2] and list(epochs["tutorial_monitor"]) == [-15.0308940028, -10.4892606673]
    assert row["train_monitor"] == epochs["monitor"].iloc[-1]
    assert epochs["monitor"].iloc[1] > epochs["monitor"].iloc[0], "training improves the monitor"
    # the tiny preset evaluates the first 10 tunes of each split, every frame of them
    valid = np.load(nottingham / "nottingham" / "valid.npz")["offsets"]
    assert row["valid_frames"] == valid[10]
    assert row["valid_subsequences"] == sum(-(-int(n) // 100) for n in np.diff(valid[:11]))
    assert np.isfinite([row["valid_monitor"], row["test_monitor"]]).all()
    assert {"sample1.mid", "sample2.mid", "samples.npz", "model.ckpt", "config.yaml"} <= \
        {p.name for p in tmp_path.iterdir()}
