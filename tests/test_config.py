"""Every preset composes for every model; bad settings are rejected before training, naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hydra.errors import HydraException
from hydra.utils import instantiate

from dltutorials.config import ConfigError, available, compose, validate
from dltutorials.stages.pretrain import build_layer


@pytest.mark.parametrize("preset", available("preset"))
@pytest.mark.parametrize("model", available("model"))
def test_every_preset_composes_and_validates_for_every_model(model, preset):
    cfg = compose([f"model={model}", f"preset={preset}"])
    plain = validate(cfg)
    assert plain["model"]["name"] == model
    assert plain["preset_name"] == preset
    assert plain["paths"]["run_dir"] == f"results/runs/{preset}/{model}/seed{plain['seed']}"
    if "module" in cfg.model:
        module = instantiate(cfg.model.module)
        assert module.learning_rate == plain["model"]["module"]["learning_rate"]
    if "pretrain" in cfg.model:
        sizes = [plain["data"]["n_features"], *plain["model"]["hidden_sizes"]]
        for k in range(1, len(sizes)):
            layer = build_layer(cfg, k)
            assert layer.weight.shape == (sizes[k], sizes[k - 1])


@pytest.mark.parametrize("model, settings", [
    ("logreg", {"learning_rate": 0.13, "batch_size": 600, "max_epochs": 1000, "patience": 5000}),
    ("mlp", {"learning_rate": 0.01, "batch_size": 20, "max_epochs": 1000, "patience": 10000,
             "l1_reg": 0.0, "l2_reg": 0.0001, "n_hidden": 500, "activation": "tanh"}),
    ("lenet", {"learning_rate": 0.1, "batch_size": 500, "max_epochs": 200, "patience": 10000,
               "n_kerns": [20, 50], "n_hidden": 500}),
])
def test_paper_preset_is_the_tutorials_protocol(model, settings):
    plain = validate(compose([f"model={model}", "preset=paper"]))
    found = {**plain["model"], **plain["model"]["module"], **plain["model"]["early_stopping"]}
    assert {key: found[key] for key in settings} == settings
    assert plain["model"]["early_stopping"]["patience_increase"] == 2
    assert plain["model"]["early_stopping"]["improvement_threshold"] == 0.995
    assert plain["data"]["datamodule"]["train_subset"] is None


@pytest.mark.parametrize("override, key", [
    ("model.module.learning_rate=-0.1", "model.module.learning_rate must be > 0"),
    ("model.batch_size=0", "model.batch_size must be > 0"),
    ("model.batch_size=abc", "model.batch_size must be an integer"),
    ("model.batch_size=2.5", "model.batch_size must be an integer"),
    ("model.max_epochs=0", "model.max_epochs must be > 0"),
    ("model.module.l2_reg=-1", "model.module.l2_reg must be >= 0"),
    ("model.early_stopping.improvement_threshold=1.5", "model.early_stopping.improvement_threshold must be in"),
    ("model.module.learning_rate=fast", "model.module.learning_rate must be a number"),
    ("+model.module.momentum=0.9", "model.module.momentum is not a parameter of MLP"),
    ("model.module.activation=3", "model.module.activation must be a string"),
    ("data.datamodule.train_subset=-5", "data.datamodule.train_subset must be > 0"),
    ("seed=one", "seed must be an integer"),
    ("data.datamodule.tutorial_evaluation=maybe", "data.datamodule.tutorial_evaluation must be true or false"),
])
def test_bad_values_are_rejected_naming_the_key(override, key):
    cfg = compose(["model=mlp", override])
    with pytest.raises(ConfigError, match=key.replace("(", r"\(")):
        validate(cfg)


def test_unknown_model_names_the_group_and_the_options():
    with pytest.raises(HydraException, match="model/resnet"):
        compose(["model=resnet"])


def test_train_stage_refuses_a_bad_config_before_training(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dltutorials.stages.train", "model=logreg", "model.module.learning_rate=-1",
         f"paths.run_dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "config error: model.module.learning_rate must be > 0, got -1" in result.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()
