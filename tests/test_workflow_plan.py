"""The workflow's logic (dltutorials.workflow) without starting Snakemake: paths, runs, targets, overrides, checks."""

from __future__ import annotations

import re

import pytest
import yaml

from dltutorials.config import PROJECT_ROOT, ConfigError, compose, validate, validate_hmc, validate_music
from dltutorials.workflow import layout
from dltutorials.workflow.plan import ImageRun, Plan

WORKFLOW_CONFIG = yaml.safe_load((PROJECT_ROOT / "conf" / "workflow.yaml").read_text())


def plan_of(**settings) -> Plan:
    """A Plan of conf/workflow.yaml with some settings changed, as `--config key=value` would."""
    return Plan({**WORKFLOW_CONFIG, **settings})


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of()


def test_the_tutorials_dataset_and_the_paper_preset_name_no_folder():
    assert layout.folder("paper") == "" and layout.folder("quick") == "quick/"
    assert layout.folder("paper", "fashion") == "fashion/" and layout.folder("tiny", "fashion") == "tiny/fashion/"
    assert layout.run_dir("paper", "dbn", "mnist", 1234) == "results/runs/paper/dbn/seed1234"
    assert layout.run_dir("quick", "rbm_cd1", "mnist_binarized", 7) == \
        "results/runs/quick/rbm_cd1/mnist_binarized/seed7"
    assert layout.table("quick/", "dbn") == "results/quick/dbn.csv"
    assert layout.figure("", "dbn_filters") == "results/figures/dbn_filters.png"
    assert layout.sweep_point_dir("tiny", "dbn_lr", "mnist", "0.1", 1, "1e-05") == \
        "results/runs/tiny/sweeps/dbn_lr/pre0.1/seed1/fine1e-05"
    assert layout.music_samples_folder("paper", "rnnrbm", "tutorial", first=True) == "rnnrbm"
    assert layout.music_samples_folder("quick", "rnnrbm", "improved", first=False) == "quick/rnnrbm/improved"


@pytest.mark.parametrize("overrides, expected", [
    (["model=dbn", "preset=quick", "seed=7"], layout.run_dir("quick", "dbn", "mnist", 7)),
    (["model=rbm_cd1", "data=mnist_binarized"], layout.run_dir("paper", "rbm_cd1", "mnist_binarized", 1234)),
])
def test_hydra_puts_a_run_where_the_layout_says(overrides, expected):
    """The run folder a stage writes to (paths.run_dir) is the one the workflow's rules expect."""
    assert validate(compose(overrides))["paths"]["run_dir"] == expected


def test_hydra_puts_hmc_and_music_runs_where_the_layout_says():
    hmc = validate_hmc(compose(["hmc_target=banana", "preset=tiny", "seed=3"], "hmc"))
    assert hmc["paths"]["run_dir"] == layout.hmc_run_dir("tiny", "banana", 3)
    music = validate_music(compose(["preset=quick", "rnnrbm_variant=improved"], "rnnrbm"))
    assert music["paths"]["run_dir"] == layout.music_run_dir("quick", "nottingham", "improved", 1234)


@pytest.mark.parametrize("name, run", [
    ("tiny/dbn/seed1234", ImageRun("tiny", "dbn", "mnist", 1234)),
    ("paper/rbm_cd1/mnist_binarized/seed7", ImageRun("paper", "rbm_cd1", "mnist_binarized", 7)),
    ("tiny/sweeps/dbn_lr/pre0.1/seed1", ImageRun("tiny", "dbn", "mnist", 1, "dbn_lr", "0.1")),
    ("tiny/sweeps/dbn_lr/pre0.1/seed1/fine1e-05", ImageRun("tiny", "dbn", "mnist", 1, "dbn_lr", "0.1", "1e-05")),
])
def test_a_run_folder_names_its_run_and_back(plan, name, run):
    assert plan.image_run(name) == run
    assert run.run_dir == f"results/runs/{name}"
    kinds = {kind for kind in ("model", "stack", "run") if re.fullmatch(plan.run_pattern(kind), name)}
    expected = {"model": {"model", "stack", "run"}, "stack": {"stack"}, "point": {"run"}}
    assert kinds == expected["model" if run.sweep is None else "point" if run.fine else "stack"]


@pytest.mark.parametrize("name", ["tiny/hmc/banana/seed1234", "tiny/rnnrbm/nottingham/tutorial/seed1234",
                                  "tiny/dbn/nottingham/seed1", "nopreset/dbn/seed1", "tiny/dbn/seed1/fine0.1"])
def test_no_other_folder_is_an_image_run(plan, name):
    assert not any(re.fullmatch(plan.run_pattern(kind), name) for kind in ("model", "stack", "run"))


@pytest.mark.parametrize("name", ["tiny/dbn/pre0.1/seed1", "tiny/sweeps/dbn_lr/seed1"])
def test_a_folder_that_is_not_a_run_is_refused(plan, name):
    with pytest.raises(ConfigError, match="is not the folder of an image model's run"):
        plan.image_run(name)


def test_a_sweep_point_gets_its_values_after_the_users_overrides(plan):
    point = plan.image_run("tiny/sweeps/dbn_lr/pre0.1/seed1/fine1")
    arguments = plan.job_arguments(point, writes_run_dir=True)
    assert arguments == ("model=dbn preset=tiny data=mnist seed=1 paths.run_dir=results/runs/tiny/sweeps/dbn_lr/"
                         "pre0.1/seed1 hydra.run.dir=results/runs/tiny/sweeps/dbn_lr/pre0.1/seed1/fine1")
    assert plan.point_arguments(point) == "model.pretrain.layer.learning_rate=0.1 model.module.learning_rate=1.0"
    assert plan.run_config(point)["model"]["module"]["learning_rate"] == 1.0
    stack = plan.image_run("tiny/sweeps/dbn_lr/pre0.1/seed1")
    assert plan.point_arguments(stack) == "model.pretrain.layer.learning_rate=0.1"
    assert plan.layer_files(point) == [f"{stack.run_dir}/layer{k}/layer.pt" for k in (1, 2)]
    with pytest.raises(ConfigError, match=r"0.7 is not one of sweep.pretrain.values \['0.1', '0.01'\]"):
        plan.run_config(plan.image_run("tiny/sweeps/dbn_lr/pre0.7/seed1"))


def test_layers_learn_from_the_data_then_from_the_codes_below(plan):
    run = plan.image_run("tiny/sda/seed3")
    assert plan.layer_input(run, 1) == "results/data/mnist/train.npz"
    assert plan.layer_input(run, 3) == "results/runs/tiny/sda/seed3/layer2/codes.npy"
    assert plan.layer_files(plan.image_run("tiny/mlp/seed3")) == []
    assert plan.run_result(plan.image_run("tiny/rbm/seed3")) == "results/runs/tiny/rbm/seed3/layer1/layer.pt"


def test_a_stack_on_another_models_layers_reads_and_trains_only_above_them(plan, monkeypatch):
    """dbn_generative stacks on rbm_cd25's run (model.pretrain.stack_on): its layer 1 is that run's, trained and
    encoded there, and its layer 2 learns from that run's codes."""
    run = plan.image_run("tiny/dbn_generative/seed3")
    assert plan.layer_files(run) == ["results/runs/tiny/rbm_cd25/seed3/layer1/layer.pt",
                                     "results/runs/tiny/dbn_generative/seed3/layer2/layer.pt"]
    assert plan.layer_input(run, 2) == "results/runs/tiny/rbm_cd25/seed3/layer1/codes.npy"
    assert plan.likelihood_layers(run)[-1] == "results/runs/tiny/rbm_cd25/seed3/layer1/codes.npy"
    assert layout.stack_layer_dirs("out/run", 3, {"model": "m", "data": "fashion", "layers": 2}, "quick", 5) == [
        "results/runs/quick/m/fashion/seed5/layer1", "results/runs/quick/m/fashion/seed5/layer2", "out/run/layer3"]
    # a first layer of another size than the one it stacks on
    other = plan_of()
    configs = other.run_config
    monkeypatch.setattr(other, "run_config", lambda r: {**configs(r), "model": {**configs(r)["model"], "hidden_sizes": [
        100, 12]}} if r.model == "dbn_generative" else configs(r))
    with pytest.raises(ConfigError, match=r"model=dbn_generative: model.pretrain.stack_on takes the first 1 layers "
                                          r"of model=rbm_cd25, whose sizes \[64\] are not the first of "
                                          r"model.hidden_sizes \[100, 12\]"):
        other.layer_files(run)


def test_the_pretraining_stage_reads_the_codes_below_and_refuses_a_layer_it_stacks_on():
    from dltutorials.stages.pretrain import check_layer, layer_inputs

    cfg = compose(["model=dbn_generative", "preset=tiny", "seed=3"])
    assert str(layer_inputs(cfg, 2)) == "results/runs/tiny/rbm_cd25/seed3/layer1/codes.npy"
    check_layer(cfg, 2)
    with pytest.raises(ConfigError, match="layer 1 of dbn_generative is layer 1 of rbm_cd25's run on mnist "
                                          r"\(model.pretrain.stack_on\): train or encode it there"):
        check_layer(cfg, 1)


@pytest.mark.parametrize("override, message", [
    ("model.pretrain.stack_on.layers=2", "model.pretrain.stack_on.layers is 2, but model.hidden_sizes has 2 layers"),
    ("model.pretrain.stack_on.data=null", "model.pretrain.stack_on.data"),
])
def test_a_bad_stack_on_is_refused_naming_it(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(["model=dbn_generative", override]))


def test_the_default_target_follows_the_preset_and_the_dataset():
    paper = plan_of().default_targets()
    assert {"results/dbn.csv", "results/figures/dbn_filters.png", "results/figures/headline.png",
            "results/tutorial_table.md", "results/hmc.csv", "results/rnnrbm.csv", "results/rnnrbm/sample1.mid",
            "results/rnnrbm/improved/sample1.mid", "results/figures/rnnrbm_monitor.png"} <= set(paper)
    quick = plan_of(preset="quick", models=["logreg", "hmc"]).default_targets()
    assert set(quick) == {"results/quick/logreg.csv", "results/quick/figures/logreg_learning.png",
                          "results/quick/hmc.csv", "results/quick/figures/hmc_samples.png",
                          "results/quick/figures/hmc_adaptation.png"}, "no headline or tutorial table: partial"
    other = plan_of(preset="tiny", models=["rbm"], overrides=["data=mnist_binarized"]).default_targets()
    assert set(other) == {"results/tiny/mnist_binarized/rbm.csv", "results/tiny/mnist_binarized/figures/"
                          "rbm_filters.png", "results/tiny/mnist_binarized/figures/rbm_samples.png",
                          "results/tiny/mnist_binarized/figures/rbm_pretraining.png"}


def test_the_music_figures_read_their_runs_and_the_test_tunes():
    plan = plan_of(seeds=["1", "2"], rnnrbm_variants=["tutorial", "transposed"])
    assert [path for path in plan.figure_paths("rnnrbm", "quick", "nottingham") if path.endswith(".png")] == [
        f"results/quick/figures/rnnrbm_{figure}.png" for figure in ("samples", "monitor", "statistics")]
    run = "results/runs/quick/rnnrbm/nottingham/{}/seed1/{}".format
    # every variant's first seed and its samples; the test split once (both keys are in it)
    assert plan.music_figure_inputs("rnnrbm", "quick/", "statistics") == [
        run("tutorial", "metrics.json"), run("tutorial", "samples.npz"), run("transposed", "metrics.json"),
        run("transposed", "samples.npz"), "results/data/nottingham/test.npz"]
    assert len(plan.music_figure_inputs("rnnrbm", "quick/", "monitor")) == 4, "every variant and seed"


def test_a_table_collects_every_model_and_seed_it_names():
    plan = plan_of(seeds=["1", "2"])
    runs = plan.table_runs("da", "quick/")
    assert [(run["model"], run["seed"]) for run in runs] == [
        ("da_corruption0", 1), ("da_corruption0", 2), ("da_corruption30", 1), ("da_corruption30", 2)]
    assert runs[0]["run_dir"] == "results/runs/quick/da_corruption0/seed1"
    assert plan.table_inputs("hmc", "")[0] == "results/runs/paper/hmc/gaussian_5d/seed1/metrics.json"
    with pytest.raises(ConfigError, match="the hmc table names no image dataset"):
        plan.table_inputs("hmc", "mnist_binarized/")


def test_each_override_goes_where_its_key_is():
    plan = plan_of(overrides=["sampler.n_steps=10", "trainer=gpu", "model.max_epochs=3", "ais.n_runs=5",
                              "rnnrbm.accuracy.n_steps=9", "data=mnist_binarized"], rnnrbm_overrides=["model.epochs=2"])
    assert plan.model_override_list == ["trainer=gpu", "model.max_epochs=3"]
    assert plan.hmc_override_list == ["sampler.n_steps=10", "trainer=gpu"]
    assert plan.likelihood_override_list == ["trainer=gpu", "ais.n_runs=5", "rnnrbm.accuracy.n_steps=9"]
    assert plan.music_override_list == ["trainer=gpu", "model.epochs=2"]
    assert plan.dataset == "mnist_binarized"
    assert plan.job_gpus(plan.run_config(plan.image_run("tiny/mlp/seed1"))) == 1
    assert plan.job_gpus(plan_of().run_config(plan.image_run("tiny/mlp/seed1"))) == 0


def test_threads_and_priorities_by_model():
    plan = plan_of(threads={"default": "1", "lenet": "4"}, start_first=["sda", "dbn"])
    assert (plan.job_threads("lenet"), plan.job_threads("mlp")) == (4, 1)
    assert (plan.job_priority("sda"), plan.job_priority("dbn"), plan.job_priority("mlp")) == (2, 1, 0)


@pytest.mark.parametrize("settings, message", [
    ({"preset": "fast"}, r"config preset='fast' is not one of \["),
    ({"models": ["logreg", "svm"]}, r"config models: 'svm' is not one of \["),
    ({"hmc_targets": ["cauchy"]}, r"config hmc_targets: 'cauchy' is not one of \["),
    ({"rnnrbm_variants": ["tutorial", "best"]}, r"config rnnrbm_variants: 'best' is not one of \["),
    ({"threads": {"default": 1, "svm": 2}}, r"config threads/start_first: 'svm' is not one of \["),
    ({"overrides": ["data=nottingham"]}, r"config overrides: data=nottingham is not one of the image datasets"),
])
def test_a_bad_setting_is_refused_naming_it(settings, message):
    with pytest.raises(ConfigError, match=message):
        plan_of(**settings)


def test_the_likelihood_table_reads_each_model_on_its_dataset():
    plan = plan_of(likelihood_models=["rbm", "rbm_cd1"])
    assert plan.likelihood_table_inputs("rbm", "tiny/") == [
        "results/runs/tiny/rbm/seed1234/likelihood.json", "results/runs/tiny/rbm_cd1/seed1234/likelihood.json"]
    assert plan.likelihood_table_inputs("rnnrbm", "")[0] == \
        "results/runs/paper/rnnrbm/nottingham/tutorial/seed1234/likelihood.json"
    with pytest.raises(ConfigError, match="config likelihood_models: 'svm' is not one of"):
        plan_of(likelihood_models=["svm"]).likelihood_table_inputs("rbm", "")


@pytest.mark.parametrize("model, overrides, message", [
    ("mlp", [], r"results/runs/tiny/mlp/seed1234: model=mlp has no RBM layers, and AIS measures an RBM"),
    ("rbm", ["data.n_features=100"], r"results/runs/tiny/rbm/seed1234: model=rbm trains on data=mnist, 100 visible "
                                     r"units, but the likelihoods are measured on data=mnist_binarized, 784"),
])
def test_a_likelihood_with_nothing_to_measure_is_refused_before_any_job(model, overrides, message):
    run = ImageRun("tiny", model, "mnist", 1234)
    with pytest.raises(ConfigError, match=f"^{message}"):
        plan_of(overrides=overrides).likelihood_layers(run)
    assert plan_of().likelihood_layers(ImageRun("tiny", "dbn", "mnist", 1234))[-1].endswith("layer1/codes.npy")


def test_a_bad_corpus_split_or_hmc_target_is_refused_before_any_job(tmp_path, monkeypatch):
    """The data rule's params (music_data_settings) and the HMC rule's (hmc_config) validate the config while
    Snakemake builds the DAG: a chorale split that does not sum to 1, or a target's plot_dims outside it, stop
    the workflow before the download or the sampling runs."""
    with pytest.raises(ConfigError, match=r"^rnnrbm data=jsb_chorales preset=paper rnnrbm_variant=tutorial: "
                                          r"data\.split: split fractions .* do not sum to 1$"):
        plan_of(rnnrbm_overrides=["data.split.valid=0.25"]).music_data_settings("jsb_chorales", ("split",))
    (tmp_path / "hmc_target").mkdir()
    own = (PROJECT_ROOT / "conf" / "hmc_target" / "gaussian_5d.yaml").read_text()
    (tmp_path / "hmc_target" / "mine.yaml").write_text(
        own.replace("name: gaussian_5d", "name: mine").replace("plot_dims: [0, 1]", "plot_dims: [0, 5]"))
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^hmc_target=mine preset=tiny: hmc_target\.plot_dims must be two "
                                          r"different dimensions of the 5-d target \(0\.\.4\), got \[0, 5\]$"):
        plan_of(hmc_targets=["mine"]).hmc_config("mine", "tiny")


def test_a_piano_roll_preparation_depends_on_its_frames():
    """The prepare rule's params name the frame settings, so beat-synchronous frames (data=nottingham_beats) or
    another minor key prepare the splits again."""
    plan = plan_of(models=["rnnrbm", "rnnrbm_nottingham_beats"])
    assert yaml.safe_load(plan.preparation_settings("nottingham_beats")) == {
        "dt": 0.25, "note_range": [21, 109], "skip_bad_files": False, "frames_per_quarter_note": 2, "minor_key": "C"}
    assert yaml.safe_load(plan.preparation_settings("nottingham"))["frames_per_quarter_note"] is None
