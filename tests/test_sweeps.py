"""Sweeps (conf/sweep/; workflow/rules/images.smk's rules over a sweep's folders): the tutorial's grid of DBN
learning rates as targets, one pretrained stack per pretraining value shared by every fine-tuning, a table with
the selected point, a heat map; a bad grid is refused naming its key."""

from __future__ import annotations

import re
import subprocess

import matplotlib.image
import pandas as pd
import pytest

from conftest import SNAKEMAKE, snakemake
from dltutorials.config import ConfigError, check_sweep_point, compose, validate, validate_sweep

GRID = ["pretrain_learning_rate", "finetune_learning_rate"]
RUNS = "results/runs/tiny/sweeps/dbn_lr"


def job_counts(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The job counts of a dry run with `--quiet rules`."""
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, flags=re.M)}


@pytest.mark.parametrize("target, seeds, layers, n_pretrain, n_finetune", [
    ("results/sweeps/dbn_lr.png", "[1234]", 3, 5, 4),  # the tutorial's grid: 5 stacks of 3 layers, 20 fine-tunings
    ("results/tiny/sweeps/dbn_lr.png", "[1,2]", 2, 2, 2),  # a stack per pretraining value and seed
])
def test_each_pretraining_value_pretrains_one_stack_that_every_fine_tuning_shares(tmp_path, target, seeds, layers,
                                                                                  n_pretrain, n_finetune):
    n_seeds = len(seeds.split(","))
    counts = job_counts(snakemake(tmp_path, target, "-n", "--quiet", "rules", "--config", f"seeds={seeds}"))
    assert counts == {"download": 1, "prepare": 1, "pretrain_layer": n_pretrain * layers * n_seeds,
                      "encode_layer": n_pretrain * (layers - 1) * n_seeds,
                      "train": n_pretrain * n_finetune * n_seeds, "sweep_table": 1, "sweep_figure": 1,
                      "total": 4 + n_pretrain * (2 * layers - 1 + n_finetune) * n_seeds}


@pytest.mark.parametrize("override, message", [
    ("sweep.pretrain.values=[]", r"sweep.pretrain.values must be a non-empty list of numbers, got \[\]"),
    ("sweep.finetune.values=[0.1,0]", r"sweep.finetune.values\[1\] must be a number > 0, got 0"),
    ("sweep.pretrain.values=[0.1,-0.01]", r"sweep.pretrain.values\[1\] must be a number > 0, got -0.01"),
    ("sweep.finetune.values=[fast]", r"sweep.finetune.values\[0\] must be a number > 0, got 'fast'"),
    ("sweep.pretrain.values=[0.1,0.1000000001]", "sweep.pretrain.values has 0.1 twice"),
    ("sweep.finetune.values=0.1", "sweep.finetune.values must be a non-empty list of numbers, got 0.1"),
    ("sweep.pretrain.key=model.module.learning_rate", "sweep.pretrain.key must name a setting under model.pretrain"),
    ("sweep.finetune.key=model.pretrain.epochs", "sweep.finetune.key must name a setting of the model outside"),
    ("sweep.finetune.key=model.module.lr", r"sweep.finetune.key: model.module.lr is not a setting of model=dbn"),
    ("sweep.finetune.key=model.hidden_sizes", "sweep.finetune.key: model.hidden_sizes of model=dbn is .*not a number"),
    ("sweep.model=mlp", "sweep.model: mlp is not pretrained and fine-tuned"),
    ("sweep.model=dbm", "sweep.model must be one of"),
    ("~sweep.finetune", "sweep.finetune is missing"),
    ("+sweep.seeds=[1]", "sweep.seeds is not a setting of a sweep"),
])
def test_a_bad_grid_is_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        validate_sweep(compose(["sweep=dbn_lr", override], config_name="sweep"))


def test_the_grids_of_the_presets():
    grids = {preset: validate_sweep(compose(["sweep=dbn_lr", f"preset={preset}"], config_name="sweep"))
             for preset in ("paper", "quick", "tiny")}
    assert grids["paper"]["pretrain"]["values"] == [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], "the tutorial's, section 10.5"
    assert grids["paper"]["finetune"]["values"] == [1e-1, 1e-2, 1e-3, 1e-4]
    assert [len(grids["tiny"][axis]["values"]) for axis in ("pretrain", "finetune")] == [2, 2]
    point = validate(compose(["model=dbn", "+model.pretrain.per_layer.2.learning_rate=0.05"]))
    with pytest.raises(ConfigError, match="model.pretrain.per_layer.2.learning_rate replaces the swept"):
        check_sweep_point(point, grids["paper"])


def test_a_bad_grid_stops_the_workflow_before_any_job(tmp_path, monkeypatch):
    """A grid of the user's own ($DLTUTORIALS_CONFIG_DIR/sweep/<name>.yaml) is checked like the project's."""
    (tmp_path / "configs" / "sweep").mkdir(parents=True)
    (tmp_path / "configs" / "sweep" / "empty_lr.yaml").write_text(
        "model: dbn\npretrain: {key: model.pretrain.layer.learning_rate, values: []}\n"
        "finetune: {key: model.module.learning_rate, values: [0.1]}\n")
    monkeypatch.setenv("DLTUTORIALS_CONFIG_DIR", str(tmp_path / "configs"))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "results/sweeps/empty_lr.csv"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    error = "sweep=empty_lr preset=paper: sweep.pretrain.values must be a non-empty list"
    assert error in result.stdout + result.stderr


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory, mirror_url):
    """The tiny preset's 2 x 2 grid, its table and heat map, from nothing (downloading over loopback HTTP)."""
    workdir = tmp_path_factory.mktemp("sweep")
    snakemake(workdir, "results/tiny/sweeps/dbn_lr.png", "--config", f"data_mirror={mirror_url}")
    return workdir, mirror_url


@pytest.mark.slow
def test_the_tiny_grid_builds_its_table_and_heat_map(tiny_sweep):
    workdir, _ = tiny_sweep
    table = pd.read_csv(workdir / "results/tiny/sweeps/dbn_lr.csv")
    assert list(table.columns[:13]) == ["sweep", "model", "preset", "dataset", *GRID, "seed", "best_valid_error",
                                        "mean_valid_error", "selected", "test_error", "best_epoch", "epochs_run"]
    assert list(zip(table[GRID[0]], table[GRID[1]])) == [(0.1, 1.0), (0.1, 0.1), (0.01, 1.0), (0.01, 0.1)]
    assert (table["preset"] == "tiny").all() and (table["seed"] == 1234).all()
    assert table["selected"].sum() == 1
    assert table.loc[table["selected"], "best_valid_error"].item() == table["best_valid_error"].min()
    assert ((0 < table["test_error"]) & (table["test_error"] < 100)).all() and (table["epochs_run"] >= 1).all()
    # the two fine-tunings of a pretraining value read the same layers: one stack each, pretrained once
    assert len(list(workdir.glob(f"{RUNS}/pre*/seed1234/layer2/layer.pt"))) == 2
    assert len(list(workdir.glob(f"{RUNS}/pre*/seed1234/fine*/metrics.json"))) == 4
    assert (table.groupby(GRID[0])["pretrain_seconds"].nunique() == 1).all()
    assert (table["pretrain_seconds"] > 0).all() and (table["finetune_seconds"] > 0).all()
    image = matplotlib.image.imread(workdir / "results/tiny/sweeps/dbn_lr.png")
    assert image.shape[0] > 200 and image[..., :3].std() > 0.05, "the heat map is (nearly) blank"
    assert not list(workdir.glob("results/**/*.part")), "no temporary file left behind"


@pytest.mark.slow
def test_a_fine_tuning_setting_reruns_the_fine_tunings_only(tiny_sweep):
    workdir, mirror_url = tiny_sweep
    target, config = "results/tiny/sweeps/dbn_lr.png", ["--config", f"data_mirror={mirror_url}"]
    unchanged = snakemake(workdir, target, "-n", *config)
    assert "Nothing to be done" in unchanged.stdout + unchanged.stderr
    changed = snakemake(workdir, target, "-n", "--quiet", "rules", *config, "models=[dbn]",  # models with the key
                        "overrides=[model.max_epochs=3]")
    assert job_counts(changed) == {"train": 4, "sweep_table": 1, "sweep_figure": 1, "total": 6}


@pytest.mark.slow
def test_the_report_shows_the_sweep_under_its_chapter(tiny_sweep):
    workdir, _ = tiny_sweep
    report = workdir / "results/tiny/sweep_report.html"
    snakemake(workdir, "--report", str(report), "results/tiny/sweeps/dbn_lr.png")
    html = report.read_text()
    assert "10 Deep belief networks" in html and "dbn_lr.png" in html and "dbn_lr.csv" in html
    assert "the framed cell is the point" in html and "section 10.5" in html, "the captions"
