"""Every preset composes for every model; bad settings are rejected before training, naming the key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dltutorials import config
from dltutorials.config import ConfigError, available, compose, validate, validate_hmc, validate_music
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


@pytest.mark.parametrize("override, key", [
    ("model.pretrain.layer.momentum=1.5", "model.pretrain.layer.momentum must be in"),
    ("model.pretrain.layer.initial_momentum=-0.5", "model.pretrain.layer.initial_momentum must be in"),
    ("model.pretrain.layer.weight_decay=-0.001", "model.pretrain.layer.weight_decay must be >= 0"),
    ("model.pretrain.layer.initial_momentum_epochs=2.5", "model.pretrain.layer.initial_momentum_epochs must be an"),
    ("+model.pretrain.layer.learning_rate_decay=3", "learning_rate_decay must be a string"),
    ("+model.pretrain.layer.cd_k_initial=0", "model.pretrain.layer.cd_k_initial must be > 0"),
    ("+model.pretrain.layer.cd_k_initial=2.5", "model.pretrain.layer.cd_k_initial must be an integer"),
])
def test_bad_rbm_training_settings_are_rejected_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        validate(compose(["model=rbm_cd1", override]))


def test_the_comparison_rbms_share_one_training_program_each():
    """rbm_cd1.yaml sets the AIS paper's program once (rbm.m with anneal_lr): CD-k trains for 10 k epochs and
    changes only k and its size (the DBN stacks a second RBM so trained on rbm_cd25's); rbm_hinton_cd1.yaml sets
    Hinton & Salakhutdinov's recipe, which PCD keeps."""
    def pretrain(name):
        return validate(compose([f"model={name}"]))["model"]["pretrain"]

    def shared(layer):
        return {key: value for key, value in layer.items() if key not in ("cd_k", "persistent", "learning_rate_decay")}

    paper = pretrain("rbm_cd1")
    assert paper["layer"] | {"_target_": None} == {
        "_target_": None, "cd_k": 1, "cd_k_every": 10, "persistent": False, "learning_rate": 0.05,
        "weight_decay": 0.0002, "initial_momentum": 0.5, "initial_momentum_epochs": 5, "momentum": 0.9,
        "binarize_input": True, "initial_weight_std": 0.01}
    assert paper["batch_size"] == 100 and paper["epochs"] == 10
    for name, k in (("rbm_cd1_h25", 1), ("rbm_cd3", 3), ("rbm_cd25", 25), ("dbn_generative", 10)):
        settings = pretrain(name)
        assert settings["layer"]["cd_k"] == k and settings["epochs"] == 10 * k  # k reaches cd_k for ten epochs
        assert shared(settings["layer"]) == shared(paper["layer"]) and settings["batch_size"] == 100
    hinton = pretrain("rbm_hinton_cd1")
    assert hinton["layer"]["learning_rate"] == 0.1 and hinton["epochs"] == 30
    assert "binarize_input" not in hinton["layer"]
    assert pretrain("dbn_generative")["stack_on"] == {"model": "rbm_cd25", "data": "mnist", "layers": 1}
    for name in ("rbm_pcd",):
        settings = pretrain(name)
        assert shared(settings["layer"]) == shared(hinton["layer"]) and settings["epochs"] == 30
    assert validate(compose(["model=rbm"]))["model"]["pretrain"]["layer"].get("momentum", 0.0) == 0.0  # tutorial's


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


# The workflow composes each run's config through `composed`, which keeps it on disk between processes.
@pytest.fixture
def config_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def cache_entries(cache):
    return sorted(cache.glob("configs/*/*.json"))


@pytest.mark.parametrize("overrides, check", [
    (["model=sda", "preset=tiny"], validate), (["model=dbn", "preset=paper", "seed=7"], validate),
    (["model=cae"], None), (["hmc_target=banana", "preset=quick"], validate_hmc),
    (["data=nottingham", "rnnrbm_variant=improved"], validate_music),
])
def test_a_kept_config_is_the_one_hydra_composes(config_cache, monkeypatch, overrides, check):
    config_name = {validate_hmc: "hmc", validate_music: "rnnrbm"}.get(check, "config")
    cfg = compose(overrides, config_name)
    expected = check(cfg) if check else OmegaConf.to_container(cfg)
    assert config.composed(overrides, config_name, check) == expected
    assert len(cache_entries(config_cache)) == 1

    def no_hydra(*args):
        raise AssertionError("composed again: the kept config was not used")

    monkeypatch.setattr(config, "compose", no_hydra)
    assert config.composed(overrides, config_name, check) == expected


def test_a_changed_config_file_is_composed_again(config_cache, tmp_path, monkeypatch):
    """The key covers the files' contents: the user's folder of configs (DLTUTORIALS_CONFIG_DIR) here."""
    user = tmp_path / "configs"
    (user / "data").mkdir(parents=True)
    mnist = (config.CONFIG_DIR / "data" / "mnist.yaml").read_text()
    own = user / "data" / "mine.yaml"
    own.write_text(mnist.replace("name: mnist", "name: mine"))
    monkeypatch.setenv(config.USER_CONFIG_ENV, str(user))
    assert config.composed(["data=mine"])["data"]["n_classes"] == 10
    own.write_text(mnist.replace("name: mnist", "name: mine").replace("n_classes: 10", "n_classes: 7"))
    assert config.composed(["data=mine"])["data"]["n_classes"] == 7
    assert len(cache_entries(config_cache)) == 2  # one per state of the files


def test_a_changed_python_file_of_the_package_is_composed_again(config_cache, tmp_path, monkeypatch):
    """The key covers the package's code too (its resolvers, checks and classes' signatures): one statement added
    to one .py file composes again. The key is read from a copy of the package (config.py finds the package
    beside its own file), so the test edits the copy and the checkout stays as it is."""
    package = Path(config.__file__).parent
    copy = tmp_path / "package"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(config, "__file__", str(copy / "config.py"))
    real_compose, calls = config.compose, []

    def counting_compose(*args):
        calls.append(args)
        return real_compose(*args)

    monkeypatch.setattr(config, "compose", counting_compose)
    expected = config.composed(["model=logreg"], check=validate)
    assert config.composed(["model=logreg"], check=validate) == expected and len(calls) == 1, "kept"
    edited = copy / "models" / "classifier.py"
    assert edited.is_file()
    edited.write_text(edited.read_text() + "\nEDITED = True\n")
    assert config.composed(["model=logreg"], check=validate) == expected
    assert len(calls) == 2, "the edited code must compose the config again"
    assert len(list(config_cache.glob("configs/*"))) == 2  # one per state of the files
    assert config.composed(["model=logreg"], check=validate) == expected and len(calls) == 2, "kept again"


def test_a_config_that_fails_its_check_is_never_kept(config_cache):
    for _ in range(2):
        with pytest.raises(ConfigError, match="model.module.learning_rate must be > 0"):
            config.composed(["model=mlp", "model.module.learning_rate=-1"], check=validate)
    assert cache_entries(config_cache) == []


def test_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(config.CACHE_ENV, str(blocked))
    assert config.composed(["model=logreg"], check=validate)["model"]["name"] == "logreg"


def test_the_comparison_models_are_apart_from_the_tutorials_and_chosen_the_same_way(tmp_path, monkeypatch):
    """conf/model/ holds the tutorial's models, conf/comparison/model/ those beyond it; both are model=<name>."""
    from dltutorials.config import COMPARISON_DIR, CONFIG_DIR, available

    tutorial = {path.stem for path in (CONFIG_DIR / "model").glob("*.yaml")}
    comparison = {path.stem for path in (COMPARISON_DIR / "model").glob("*.yaml")}
    assert {"logreg", "mlp", "lenet", "sda", "dbn", "rbm", "cae"} <= tutorial
    assert {"rbm_cd1", "rbm_cd25", "rbm_pcd", "dbn_generative"} <= comparison and not tutorial & comparison
    assert set(available("model")) == tutorial | comparison
    assert compose(["model=rbm_cd25"]).model.name == "rbm_cd25"
    user = tmp_path / "mine"
    (user / "model").mkdir(parents=True)
    (user / "model" / "rbm_pcd.yaml").write_text("name: rbm_pcd\n")
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(user))
    with pytest.raises(ConfigError, match="rbm_pcd.yaml has the name of .*comparison/model/rbm_pcd.yaml"):
        available("model")
