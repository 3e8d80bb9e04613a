"""The published results (dltutorials.published): kept per-seed tables, the tutorial table rebuilt from them, and
which of their rows today's code and settings still make."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import types

import pandas as pd
import pytest
import torch
import yaml

from dltutorials import published
from dltutorials.config import PROJECT_ROOT, compose, validate, validate_hmc, validate_likelihood, validate_music
from dltutorials.fingerprints import (
    layer_settings,
    music_likelihood_settings,
    music_settings,
    sampling_settings,
    training_settings,
)
from dltutorials.provenance import PACKAGE, code_digest, digest_of, file_digests, numerics_fingerprint, sources
from dltutorials.published import KeepError, Today, keep, read_kept, write_published
from dltutorials.results import write_table
from dltutorials.training.layers import save_layer
from dltutorials.workflow.plan import Plan

WORKFLOW_CONFIG = yaml.safe_load((PROJECT_ROOT / "conf" / "workflow.yaml").read_text())
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# Rows made by today's numerics code, so that keeping them reads what it was made of from this checkout
PROVENANCE = {"preset": "paper", "git_commit": COMMIT, "code": code_digest(), "host": "vm", "versions.torch": "2.13"}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(WORKFLOW_CONFIG)


def today_numerics(table, seed) -> str:
    """The fixture's stand-in for today's fingerprint of a run: one per table and seed."""
    return f"{table}{seed}".ljust(12, "0")[:12]


def fixture_current(table, row) -> bool:
    return row["numerics"] == today_numerics(table, row["seed"])


def classifier_rows(model, errors, stale_seeds=()):
    """A model table's rows, one per seed from 1234 (test and validation error), current but for ``stale_seeds``."""
    return [{"model": model, **PROVENANCE, "seed": seed, "dataset": "mnist", "test_error": test,
             "best_valid_error": valid, "train_seconds": 60.0,
             "numerics": "0ld000000000" if seed in stale_seeds else today_numerics(model, seed)}
            for seed, (test, valid) in enumerate(errors, start=1234)]


def write_kept(folder, table, rows):
    """Kept files as `keep` writes them: published/<table>/seed<N>.csv, a seed's rows each."""
    frame = pd.DataFrame(rows)
    for seed, seed_rows in frame.groupby("seed"):
        path = folder / table / f"seed{seed}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        seed_rows.to_csv(path, index=False)


@pytest.fixture
def kept(tmp_path):
    """Kept tables of four models: the MLP's three seeds within tolerance but seed 1236 from older code, the DBN
    current but outside, logistic regression and HMC current and within; the others not run."""
    folder = tmp_path / "published"
    write_kept(folder, "mlp", classifier_rows("mlp", [(1.6, 1.7), (1.7, 1.7), (1.8, 1.7)], stale_seeds=(1236,)))
    write_kept(folder, "logreg", classifier_rows("logreg", [(7.5, 7.5)]))
    write_kept(folder, "dbn", classifier_rows("dbn", [(1.8, 1.8)]))
    write_kept(folder, "hmc", [{"model": "hmc", **PROVENANCE, "target": target, "seed": 1234,
                                "numerics": today_numerics("hmc", 1234), "final_acceptance_rate": rate,
                                "final_stepsize": 0.44, "burnin_seconds": 1.0, "sampling_seconds": 2.0}
                               for target, rate in [("gaussian_5d", 0.92), ("banana", 0.89)]])
    return folder


def reported(table, model, metric):
    rows = table[(table["section"] == "reported") & (table["model"] == model) & (table["metric"] == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_published_table_says_per_row_how_many_seeds_are_current_and_counts_only_current_rows(kept):
    write_published(kept, current=fixture_current)
    table = pd.read_csv(kept / "tutorial_table.csv")
    mlp = reported(table, "mlp", "test_error")
    assert (mlp["n_seeds"], mlp["n_current"], mlp["verdict"], mlp["stale"]) == (3, 2, "within", True)
    logreg = reported(table, "logreg", "test_error")
    assert (logreg["n_seeds"], logreg["n_current"], logreg["stale"]) == (1, 1, False)
    dbn = reported(table, "dbn", "test_error")
    assert (dbn["verdict"], dbn["stale"]) == ("outside", False)
    sda = reported(table, "sda", "test_error")
    assert (sda["verdict"], sda["n_seeds"], sda["n_current"], sda["stale"]) == ("not run", 0, 0, False)

    text = (kept / "tutorial_table.md").read_text()
    assert "| mlp | mnist | test_error | percent | 1.65 | 1.7 ± 0.1 (n=3) | 2 of 3 | 0.05 | ±0.2 | within, stale |" \
        in text
    assert "| logreg | mnist | valid_error | percent | 7.5 | 7.5 (n=1) | 1 of 1 | 0 | ±0.3 | within |" in text
    assert "| dbn | mnist | test_error | percent | 1.34 | 1.8 (n=1) | 1 of 1 | 0.46 | ±0.2 | outside |" in text
    assert "| hmc | banana | final_acceptance_rate | ratio | 0.89 (n=1) | 1 of 1 |" in text
    # within and current: logreg's two rows and HMC's two; the MLP's two rows are within but stale
    assert ("4 of 29 reported numbers within the promised tolerance (conf/tutorial_table.yaml); 2 rows from code "
            "or settings that have changed since") in text
    assert f"Built from the kept tables in published/ (runs at commits {COMMIT[:7]}); host vm" in text
    assert (kept / "tutorial_table.md").read_text() == text and not (kept / "tutorial_table.html").exists()
    write_published(kept, current=fixture_current)
    assert (kept / "tutorial_table.md").read_text() == text, "rebuilt from the same kept tables: the same digits"


def test_a_table_with_every_seed_current_says_so(kept):
    table = write_published(kept, current=lambda table, row: True)
    assert not table["stale"].eq(True).any()
    assert "6 of 29 reported numbers within the promised tolerance (conf/tutorial_table.yaml); every seed current" \
        in (kept / "tutorial_table.md").read_text()


def test_the_published_table_needs_kept_tables(tmp_path):
    with pytest.raises(KeepError, match="no kept tables"):
        write_published(tmp_path, current=fixture_current)


# -- keep -----------------------------------------------------------------------------------------------------------

def results_table(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_keep_splits_a_table_by_seed_as_written_and_later_seeds_add_up(tmp_path, plan):
    folder = tmp_path / "published"
    rows = classifier_rows("mlp", [(1.6, 1.7), (1.72, 1.6633333333333333)])
    table = results_table(tmp_path / "mlp.csv", rows)
    written = keep([table], folder, plan=plan)
    made_of = folder / "code" / f"{code_digest()}.json"
    assert sorted(written) == [made_of, folder / "mlp" / "seed1234.csv", folder / "mlp" / "seed1235.csv"]
    assert json.loads(made_of.read_text()) == {"code": code_digest(), "commit": COMMIT,
                                               "files": file_digests(sources())}, "what the rows' code was made of"
    first = (folder / "mlp" / "seed1234.csv").read_text()
    assert first.splitlines()[0] == ",".join(rows[0]), "every column, provenance included"
    assert "1.6633333333333333" in (folder / "mlp" / "seed1235.csv").read_text(), "the digits as the table has them"

    (tmp_path / "later").mkdir()
    seed_1236 = classifier_rows("mlp", [(9.0, 9.0)] * 3)[2:]
    keep([results_table(tmp_path / "later" / "mlp.csv", seed_1236)], folder, plan=plan)
    assert (folder / "mlp" / "seed1234.csv").read_text() == first, "another seed leaves the kept ones"
    assert set(read_kept(folder)["mlp"]["seed"]) == {1234, 1235, 1236}

    again = results_table(tmp_path / "later" / "mlp.csv", classifier_rows("mlp", [(1.5, 1.5)]))
    keep([again], folder, seeds=[1234], plan=plan)
    assert pd.read_csv(folder / "mlp" / "seed1234.csv")["test_error"].tolist() == [1.5], "the same run replaced"


def test_keep_replaces_only_the_runs_a_table_holds(tmp_path, plan):
    """An RNN-RBM table of one variant leaves the other variant's kept rows of the same seed."""
    def rnnrbm(variant, monitor):
        return [{"model": "rnnrbm", **PROVENANCE, "seed": 1234, "dataset": "nottingham", "variant": variant,
                 "row": row, "epoch": 200, "train_monitor": monitor, "numerics": today_numerics(variant, 1234)}
                for row in ("epoch", "final")]

    folder = tmp_path / "published"
    keep([results_table(tmp_path / "rnnrbm.csv", rnnrbm("tutorial", -4.1) + rnnrbm("improved", -3.0))], folder,
         plan=plan)
    keep([results_table(tmp_path / "rnnrbm.csv", rnnrbm("tutorial", -4.2))], folder, plan=plan)
    rows = pd.read_csv(folder / "rnnrbm" / "seed1234.csv")
    assert rows.groupby("variant")["train_monitor"].first().to_dict() == {"improved": -3.0, "tutorial": -4.2}


@pytest.mark.parametrize("change, message", [
    ({"preset": "quick"}, r"mlp.csv: not the paper preset's table \(preset quick\)"),
    ({"numerics": None}, r"mlp.csv: 1 rows without a numerics fingerprint"),
    ({"git_commit": COMMIT + "+dirty"}, r"mlp.csv: 1 rows from a checkout with uncommitted changes"),
    ({"git_commit": "unknown"}, r"mlp.csv: 1 rows from outside a git checkout"),
    ({"git_commit": None}, r"mlp.csv: 1 rows without a commit"),
    ({"dataset": "mnist_binarized"}, r"mlp.csv: runs on mnist_binarized, not the tutorial's mnist"),
    ({"code": "0" * 12}, r"mlp.csv: made by numerics code 000000000000, not this checkout's, and cannot read "
                         f"commit {COMMIT}'s code from git in "),
    # a row holding a measurement made apart (an RNN-RBM's on whole tunes) must say which code made that too
    ({"likelihood_numerics": "1" * 12, "likelihood_code": code_digest(), "likelihood_git_commit": COMMIT + "+dirty"},
     r"mlp.csv: 1 rows with a measurement from a checkout with uncommitted changes \(likelihood_git_commit"),
    ({"likelihood_numerics": "1" * 12, "likelihood_code": code_digest()},
     r"mlp.csv: 1 rows with a measurement without a commit"),
    ({"likelihood_numerics": "1" * 12, "likelihood_git_commit": COMMIT},
     r"mlp.csv: 1 rows with a measurement without its numerics code \(likelihood_code\)"),
])
def test_keep_refuses_a_table_that_cannot_say_which_code_made_it_and_writes_nothing(tmp_path, plan, change,
                                                                                   message):
    good = results_table(tmp_path / "logreg.csv", classifier_rows("logreg", [(7.5, 7.5)]))
    rows = classifier_rows("mlp", [(1.6, 1.7), (1.7, 1.7)])
    rows[1].update(change)
    bad = results_table(tmp_path / "mlp.csv", rows)
    folder = tmp_path / "published"
    with pytest.raises(KeepError, match=message):
        keep([good, bad], folder, plan=plan)
    assert not folder.exists(), "nothing kept, not even the good table before it"
    with pytest.raises(SystemExit, match=f"^error: {re.escape(str(tmp_path))}/{message}") as error:
        published.main(["--folder", str(folder), "keep", str(good), str(bad)])
    assert not folder.exists()
    if "rows" in message:
        assert str(error.value).endswith("(--seeds 1234 keeps the other seeds)"), "the bad row is seed 1235's"


def test_keep_reads_what_the_code_of_each_run_and_each_measurement_was_made_of():
    """A measurement made apart by other code (an RNN-RBM's likelihood_code) needs its files kept beside the run's."""
    table = pd.DataFrame({"code": ["a" * 12, "a" * 12], "git_commit": ["1" * 40, "1" * 40],
                          "likelihood_code": ["", "b" * 12], "likelihood_git_commit": ["", "2" * 40]})
    assert published.made_by(table) == {("a" * 12, "1" * 40), ("b" * 12, "2" * 40)}
    assert published.made_by(table.drop(columns=["likelihood_code", "likelihood_git_commit"])) == {("a" * 12, "1" * 40)}


def test_keep_refuses_a_table_that_is_not_a_model_table(tmp_path, plan):
    sweep = results_table(tmp_path / "dbn_lr.csv", classifier_rows("dbn", [(1.4, 1.3)]))
    with pytest.raises(KeepError, match="dbn_lr.csv: 'dbn_lr' is not a model table of the workflow"):
        keep([sweep], tmp_path / "published", plan=plan)


def test_the_command_keeps_and_builds(tmp_path, plan, monkeypatch, capsys):
    monkeypatch.setattr(published, "workflow_plan", lambda: plan)
    monkeypatch.setattr(published, "Today", lambda **_: fixture_current)
    folder = tmp_path / "published"
    table = results_table(tmp_path / "mlp.csv", classifier_rows("mlp", [(1.6, 1.7), (1.7, 1.7)]))
    published.main(["--folder", str(folder), "keep", str(table), "--seeds", "1235"])
    assert [path.name for path in (folder / "mlp").iterdir()] == ["seed1235.csv"]
    published.main(["--folder", str(folder), "table"])
    assert "| mlp | mnist | test_error | percent | 1.65 | 1.7 (n=1) | 1 of 1 |" in \
        (folder / "tutorial_table.md").read_text()
    assert "wrote" in capsys.readouterr().out


# -- today's fingerprint --------------------------------------------------------------------------------------------

def independent(overrides, config_name, check, settings):
    """A run's numerics fingerprint as its stage computes it, from a config composed here with the run's seed."""
    plain = check(compose(overrides, config_name))
    return numerics_fingerprint(settings(plain), code_digest())


@pytest.mark.parametrize("table, row, expected", [
    ("mlp", {"model": "mlp", "dataset": "mnist", "seed": 1235},
     lambda: independent(["model=mlp", "preset=paper", "data=mnist", "seed=1235"], "config", validate,
                         lambda plain: {**training_settings(plain), "seed": 1235})),
    ("rbm", {"model": "rbm", "dataset": "mnist", "seed": 1236, "layer": 1, "epoch": 3},
     lambda: independent(["model=rbm", "preset=paper", "data=mnist", "seed=1236"], "config", validate,
                         lambda plain: {**layer_settings(plain, 1), "seed": 1236})),
    ("hmc", {"model": "hmc", "target": "gaussian_5d", "seed": 1235},
     lambda: independent(["hmc_target=gaussian_5d", "preset=paper", "seed=1235"], "hmc", validate_hmc,
                         sampling_settings)),
    ("rnnrbm", {"model": "rnnrbm", "dataset": "nottingham", "variant": "improved", "seed": 1235, "row": "epoch"},
     lambda: independent(["data=nottingham", "preset=paper", "rnnrbm_variant=improved", "seed=1235"], "rnnrbm",
                         validate_music, lambda plain: {**music_settings(plain), "seed": 1235})),
])
def test_todays_fingerprint_through_the_plan_is_the_one_a_run_records(plan, table, row, expected):
    today, fingerprint = Today(plan), expected()
    assert today.fingerprint(table, pd.Series(row)) == fingerprint
    row = {**row, "code": code_digest()}
    assert today(table, pd.Series({**row, "numerics": fingerprint}))
    assert not today(table, pd.Series({**row, "numerics": "0" * 12}))
    assert not today(table, pd.Series({**row, "seed": row["seed"] + 1, "numerics": fingerprint})), "another seed"
    assert not today(table, pd.Series({**row, "code": None, "numerics": fingerprint})), "no code, no judgement"


def test_an_rnnrbm_runs_measurement_is_judged_with_todays_likelihood_settings(plan):
    """A final row holding the run's measurement on whole tunes is current when that measurement's fingerprint is
    what its stage records with today's conf/likelihood.yaml (the run's own fingerprint among it) too."""
    row = {"model": "rnnrbm", "dataset": "nottingham", "variant": "tutorial", "seed": 1234, "row": "final",
           "code": code_digest()}
    today = Today(plan)
    row["numerics"] = today.fingerprint("rnnrbm", pd.Series(row))
    measurement = numerics_fingerprint(
        {**music_likelihood_settings(validate_likelihood(compose(["preset=paper"], "likelihood"))),
         "measured": row["numerics"]}, code_digest())
    measured = {**row, "likelihood_code": code_digest(), "likelihood_numerics": measurement}
    assert today("rnnrbm", pd.Series(measured))
    assert today("rnnrbm", pd.Series({**row, "likelihood_numerics": float("nan")})), "not measured: its run's alone"
    assert not today("rnnrbm", pd.Series({**measured, "likelihood_numerics": "0" * 12})), "other AIS settings"
    assert not today("rnnrbm", pd.Series({**measured, "numerics": "0" * 12})), "another training"
    assert not today("rnnrbm", pd.Series({**measured, "likelihood_code": "0" * 12})), "older code, files not kept"
    assert not today("rnnrbm", pd.Series({**measured, "likelihood_code": None})), "no code, no judgement"


def test_todays_fingerprint_changes_with_a_learning_rate_and_with_the_code(plan):
    row = pd.Series({"model": "mlp", "dataset": "mnist", "seed": 1234})
    fingerprint = Today(plan).fingerprint("mlp", row)
    changed = Plan({**WORKFLOW_CONFIG, "overrides": ["model.module.learning_rate=0.02"]})
    assert Today(changed).fingerprint("mlp", row) != fingerprint
    assert Today(plan, code="0" * 12).fingerprint("mlp", row) != fingerprint


# -- the per-epoch rows of a table carry their run's provenance ----------------------------------------------------

RUN_PROVENANCE = {"code": "c0de00000001", "numerics": "5e771n650001", "git_commit": COMMIT, "host": "vm",
                  "versions": {"torch": "2.13"}}


def test_per_epoch_rows_carry_their_layers_and_their_runs_provenance(tmp_path):
    layer = tmp_path / "rbm" / "layer1"
    layer.mkdir(parents=True)
    parameters = types.SimpleNamespace(weight=torch.zeros(2, 3), hidden_bias=torch.zeros(2),
                                       visible_bias=torch.zeros(3))
    save_layer(layer / "layer.pt", parameters, {"layer": 1, "class": "RBM", "settings": {}, **RUN_PROVENANCE})
    (layer / "epochs.csv").write_text("epoch,cost,seconds\n1,-90.0,2.0\n2,-80.0,2.0\n")
    music = tmp_path / "rnnrbm"
    music.mkdir()
    (music / "epochs.csv").write_text("epoch,monitor,tutorial_monitor,seconds\n1,-5.0,,3.0\n2,-4.5,,3.0\n")
    (music / "metrics.json").write_text(json.dumps({"model": "rnnrbm", "preset": "paper", "seed": 1234,
                                                    "dataset": "nottingham", "variant": "tutorial", "epochs": 2,
                                                    **RUN_PROVENANCE}))
    rbm = write_table([{"model": "rbm", "preset": "paper", "seed": 1234, "dataset": "mnist",
                        "run_dir": tmp_path / "rbm"}], tmp_path / "rbm.csv")
    rnnrbm = write_table([{"model": "rnnrbm", "run_dir": music}], tmp_path / "rnnrbm.csv")
    for table, rows in ((rbm, 2), (rnnrbm, 3)):
        assert len(table) == rows
        assert (table[["code", "numerics", "git_commit", "host", "versions.torch"]] ==
                ["c0de00000001", "5e771n650001", COMMIT, "vm", "2.13"]).all().all()


def music_run(folder, variant: str, key: str, measured: bool = True):
    """An RNN-RBM run as the stages leave it: metrics.json, epochs.csv and, measured, likelihood.json, whose
    provenance (another commit) and frames (3 whole tunes) differ from the training's."""
    folder.mkdir(parents=True)
    (folder / "epochs.csv").write_text("epoch,monitor,tutorial_monitor,seconds\n1,-5.0,,3.0\n")
    run = {"model": "rnnrbm", "preset": "paper", "seed": 1234, "dataset": "nottingham", "variant": variant}
    made = {"code": code_digest(), "numerics": today_numerics("rnnrbm", 1234), "git_commit": COMMIT, "host": "vm",
            "versions": {"torch": "2.13"}}
    (folder / "metrics.json").write_text(json.dumps({**run, "epochs": 1, "valid_frames": 900, "valid_monitor": -4.3,
                                                     "device": "cpu", **made}))
    if measured:
        baselines = [{"baseline": name, "split": "valid", "log_likelihood": -6.5 - k, "accuracy": 0.5,
                      "expected_accuracy": 0.4, "frames": 300, "tp": 1, "fp": 1, "fn": 1}
                     for k, name in enumerate(("previous_frame", "markov"))]
        (folder / "likelihood.json").write_text(json.dumps({
            **run, "valid_frames": 300, "valid_log_likelihood_per_frame": -3.5, "valid_expected_accuracy": 0.42,
            "key": key, "device": "cuda", "baselines": baselines, **made, "git_commit": "f" * 40}))


def test_an_rnnrbm_runs_final_row_takes_its_measurement_and_the_baselines_are_rows_once_per_key(tmp_path, plan):
    """The final row gets likelihood.json's numbers, what both files name as likelihood_<name>; the baselines
    become one row per key and baseline (two runs in the original key give them once), no seed, and keep leaves
    them out. A run not yet measured keeps its training's row."""
    runs = [{"model": "rnnrbm", "run_dir": tmp_path / variant} for variant in ("tutorial", "other", "improved")]
    for run, key in zip(runs, ("original", "original", "transposed")):
        music_run(run["run_dir"], run["run_dir"].name, key)
    music_run(tmp_path / "unmeasured", "unmeasured", "original", measured=False)
    table = write_table([*runs, {"model": "rnnrbm", "run_dir": tmp_path / "unmeasured"}], tmp_path / "rnnrbm.csv")
    final = table[table["row"] == "final"].set_index("variant")
    tutorial = final.loc["tutorial"]
    assert (tutorial["valid_frames"], tutorial["likelihood_valid_frames"]) == (900, 300)
    assert (tutorial["device"], tutorial["likelihood_device"]) == ("cpu", "cuda")
    assert (tutorial["git_commit"], tutorial["likelihood_git_commit"]) == (COMMIT, "f" * 40)
    assert (tutorial["valid_monitor"], tutorial["valid_log_likelihood_per_frame"], tutorial["key"]) == (
        -4.3, -3.5, "original")
    assert pd.isna(final.loc["unmeasured", "valid_log_likelihood_per_frame"])
    baselines = table[table["row"] == "baseline"]
    assert list(zip(baselines["key"], baselines["variant"], baselines["valid_log_likelihood_per_frame"])) == [
        ("original", "previous_frame", -6.5), ("original", "markov", -7.5),
        ("transposed", "previous_frame", -6.5), ("transposed", "markov", -7.5)]
    assert (baselines["model"] == "baseline").all() and baselines["seed"].isna().all()
    assert (baselines["likelihood_valid_frames"] == 300).all()
    assert list(pd.read_csv(tmp_path / "rnnrbm.csv", dtype=str)["epoch"].dropna().unique()) == ["1"], "not 1.0"
    folder = tmp_path / "published"
    keep([tmp_path / "rnnrbm.csv"], folder, plan=plan)
    assert set(pd.read_csv(folder / "rnnrbm" / "seed1234.csv")["row"]) == {"epoch", "final"}


# -- a change to one model's code stales that model's rows only ---------------------------------------------------

RUNS = {"mlp": {"model": "mlp", "dataset": "mnist", "seed": 1234},
        "lenet": {"model": "lenet", "dataset": "mnist", "seed": 1234},
        "dbn": {"model": "dbn", "dataset": "mnist", "seed": 1234},
        "rbm": {"model": "rbm", "dataset": "mnist", "seed": 1234, "layer": 1, "epoch": 3},
        "hmc": {"model": "hmc", "target": "gaussian_5d", "seed": 1234},
        "rnnrbm": {"model": "rnnrbm", "dataset": "nottingham", "variant": "tutorial", "seed": 1234, "row": "final"}}


@pytest.fixture
def package_copy(tmp_path):
    copy = tmp_path / "dltutorials"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return copy


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def judged(plan, folder, package):
    """Whether each of RUNS, made by the code kept in ``folder``/code, is current with the code in ``package``."""
    today = Today(plan, folder=folder, package=package)
    (made,) = [path.stem for path in (folder / "code").iterdir()]
    rows = {table: pd.Series({**row, "code": made, "numerics": today.fingerprint(table, pd.Series(row), made)})
            for table, row in RUNS.items()}
    return {table: today(table, row) for table, row in rows.items()}


def test_a_change_to_the_rbms_update_rule_stales_the_rows_of_the_runs_that_use_the_rbm_only(tmp_path, plan,
                                                                                          package_copy):
    folder = tmp_path / "published"
    made = sources(package_copy)
    (folder / "code").mkdir(parents=True)
    (folder / "code" / f"{digest_of(made)}.json").write_text(json.dumps({"files": file_digests(made)}))
    edit(package_copy / "models" / "mlp.py", '"""', '"""Reworded. ')          # a docstring
    edit(package_copy / "drawing" / "plots.py", "def ", "def _unused() -> None:\n    pass\n\n\ndef ")  # a plot
    assert judged(plan, folder, package_copy) == dict.fromkeys(RUNS, True)

    edit(package_copy / "models" / "rbm.py", "rate *= 1.0 - epoch / epochs", "rate *= 1.0 - epoch / (epochs + 1)")
    assert judged(plan, folder, package_copy) == {"mlp": True, "lenet": True, "hmc": True,
                                                  "dbn": False, "rbm": False, "rnnrbm": False}, \
        "the DBN's layers are RBMs, and the RNN-RBM starts from one"

    (folder / "code" / f"{digest_of(made)}.json").unlink()
    assert judged_without_files(plan, folder, package_copy, digest_of(made)) == dict.fromkeys(RUNS, False), \
        "older code whose files are not kept: nothing to tell, so not current"


def test_a_change_to_the_piano_rolls_stales_the_rnnrbms_rows_only(tmp_path, plan, package_copy):
    """The MIDI code, the tunes' data module and their stage are the RNN-RBM's files only: the image models read
    their data through ``stages.data`` and ``data/datamodule.py``, which do not import them."""
    folder = tmp_path / "published"
    made = sources(package_copy)
    (folder / "code").mkdir(parents=True)
    (folder / "code" / f"{digest_of(made)}.json").write_text(json.dumps({"files": file_digests(made)}))
    for file, old, new in (("data/midi.py", "_BOUNDARY_TOLERANCE = 1e-6", "_BOUNDARY_TOLERANCE = 1e-5"),
                           ("data/tunes.py", "shuffle=True", "shuffle=False"),
                           ("stages/music_data.py", "for split in SPLITS:", "for split in reversed(SPLITS):")):
        edit(package_copy / file, old, new)
        assert judged(plan, folder, package_copy) == {**dict.fromkeys(RUNS, True), "rnnrbm": False}, file
        edit(package_copy / file, new, old)


def test_a_change_to_ais_stales_the_rnnrbms_measured_rows_only(tmp_path, plan, package_copy):
    """AIS makes an RNN-RBM's log-likelihood on whole tunes (the final row's measurement), not its training: the
    final row of a measured run goes stale, its epoch rows and every other model's stay current."""
    folder = tmp_path / "published"
    made = sources(package_copy)
    (folder / "code").mkdir(parents=True)
    (folder / "code" / f"{digest_of(made)}.json").write_text(json.dumps({"files": file_digests(made)}))
    edit(package_copy / "sampling" / "ais.py", "def ais_runs(", "def _unused() -> None:\n    pass\n\n\ndef ais_runs(")
    today = Today(plan, folder=folder, package=package_copy)
    code = digest_of(made)
    final = pd.Series({**RUNS["rnnrbm"], "code": code})
    final["numerics"] = today.fingerprint("rnnrbm", final, code)
    measured = pd.Series({**final, "likelihood_code": code,
                          "likelihood_numerics": today.measurement_fingerprint(final, code)})
    epoch = pd.Series({**final, "row": "epoch", "epoch": 1})
    assert (today("rnnrbm", final), today("rnnrbm", epoch), today("rnnrbm", measured)) == (True, True, False)
    assert judged(plan, folder, package_copy) == dict.fromkeys(RUNS, True)


def judged_without_files(plan, folder, package, made):
    today = Today(plan, folder=folder, package=package)
    return {table: today(table, pd.Series({**row, "code": made,
                                           "numerics": today.fingerprint(table, pd.Series(row), made)}))
            for table, row in RUNS.items()}


def git(repo, *arguments):
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *arguments],
                          cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_what_a_past_commits_code_was_made_of_is_read_from_git_and_checked(tmp_path):
    repo = tmp_path / "repo"
    package = repo / "src" / "dltutorials"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    edit(package / "models" / "rbm.py", "rate *= 1.0 - epoch / epochs", "rate *= 1.0 - epoch / (epochs + 1)")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "an RBM of the past")
    commit, past = git(repo, "rev-parse", "HEAD"), digest_of(sources(package))
    shutil.rmtree(package)  # read from git, not from the files
    assert past != code_digest()
    files = published.code_files(past, commit, "rbm.csv", repo)["files"]
    assert files["models/rbm.py"] != file_digests(sources())["models/rbm.py"]
    assert {path: digest for path, digest in files.items() if path != "models/rbm.py"} == \
        {path: digest for path, digest in file_digests(sources()).items() if path != "models/rbm.py"}
    with pytest.raises(KeepError, match=f"rbm.csv: rows say numerics code 000000000000, but commit {commit}'s "
                                        f"numerics code is {past}"):
        published.code_files("0" * 12, commit, "rbm.csv", repo)


# -- the repository's own published table ---------------------------------------------------------------------------

def test_the_kept_tables_rebuild_the_published_table_and_the_readmes_digit_for_digit(tmp_path):
    """What a fresh clone gets from `make published-table`: the committed table, and the README's results section
    (`make readme-results`). Fails when code has changed since which rows are current were last written down."""
    from dltutorials.readme import spliced

    folder = tmp_path / "published"
    shutil.copytree(published.PUBLISHED, folder, ignore=shutil.ignore_patterns("tutorial_table.*"))
    write_published(folder)
    rebuilt = (folder / "tutorial_table.md").read_text()
    assert rebuilt == (published.PUBLISHED / "tutorial_table.md").read_text(), "make published-table"
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert spliced(readme, rebuilt) == readme, "make readme-results"
