"""The tutorial table: one row per reported number, ours aggregated over seeds, verdicts, Markdown."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dltutorials.drawing import tutorial_table
from dltutorials.drawing.tutorial_table import TableError, build, load_spec, to_markdown
from dltutorials.provenance import code_digest
from dltutorials.results import tutorial_results

# The tutorial's numbers (resources/tutorial_results.csv) this test builds tables around.
REPORTED = {"logreg": (7.489583, 7.5), "mlp": (1.65, 1.69), "lenet": (0.92, 0.91), "sda": (1.30, 1.39),
            "dbn": (1.34, 1.27)}
RBM_TRACE = [-90.65, -81.24, -74.91, -73.02, -68.41, -63.27, -66.00, -68.12, -68.32, -64.29, -61.52, -61.65,
             -63.55, -63.38, -62.76]


def classifier_table(model, test_errors, valid_errors=None, pretrained_layers=0):
    rows = []
    for i, test_error in enumerate(test_errors):
        row = {"model": model, "seed": 1234 + i, "test_error": test_error, "train_seconds": 100.0,
               "best_valid_error": (valid_errors or test_errors)[i]}
        for k in range(1, pretrained_layers + 1):
            row[f"pretrain_seconds_layer{k}"] = 10.0 * k
        if pretrained_layers:
            row["finetune_seconds"] = 100.0  # the same number as train_seconds: counted once
        rows.append(row)
    return pd.DataFrame(rows)


def pretraining_table(model, costs_by_seed, epoch_seconds=2.0, layers=1):
    return pd.DataFrame([{"model": model, "seed": seed, "layer": layer, "epoch": epoch, "cost": cost,
                          "epoch_seconds": epoch_seconds}
                         for seed, costs in costs_by_seed.items() for layer in range(1, layers + 1)
                         for epoch, cost in enumerate(costs, start=1)])


def hmc_table():
    return pd.DataFrame([{"model": "hmc", "target": target, "seed": 1234, "final_acceptance_rate": acceptance,
                          "final_stepsize": 0.44, "burnin_seconds": 2.0, "sampling_seconds": 3.0}
                         for target, acceptance in [("gaussian_5d", 0.91), ("banana", 0.89)]])


def rnnrbm_table():
    epochs = [{"model": "rnnrbm", "seed": 1234, "variant": "tutorial", "row": "epoch", "epoch": e,
               "train_monitor": -4.0 - e / 1000, "epoch_seconds": 10.0} for e in (199, 200)]
    final = {"model": "rnnrbm", "seed": 1234, "variant": "tutorial", "row": "final", "epoch": 200,
             "train_monitor": -4.2, "test_monitor": -4.3, "test_accuracy": 0.29, "train_seconds": 2000.0,
             "pretrain_seconds": None, "test_log_likelihood_per_frame": -3.6, "test_expected_accuracy": 0.45}
    return pd.DataFrame([*epochs, final])


def all_tables(**replace):
    tables = {model: classifier_table(model, [test + 0.05], [valid - 0.05],
                                      pretrained_layers=3 if model in ("sda", "dbn") else 0)
              for model, (test, valid) in REPORTED.items()}
    tables["cae"] = classifier_table("cae", [1.7], pretrained_layers=1)
    tables["rbm"] = pretraining_table("rbm", {1234: [v + 1.0 for v in RBM_TRACE]}, epoch_seconds=20.0)
    tables["da"] = pd.concat([pretraining_table("da_corruption0", {1234: [60.0, 55.0]}),
                              pretraining_table("da_corruption30", {1234: [70.0, 66.0]})])
    tables["hmc"], tables["rnnrbm"] = hmc_table(), rnnrbm_table()
    tables.update(replace)
    return tables


def reported_row(table, model, metric):
    rows = table[(table["section"] == "reported") & (table["model"] == model) & (table["metric"] == metric)]
    assert len(rows) == 1, f"{model} {metric}: {len(rows)} rows"
    return rows.iloc[0]


def test_every_number_the_tutorial_reports_has_its_row():
    table = build(all_tables(), "paper")
    tutorial_table.check_covers_the_tutorial(table)
    reported = table[table["section"] == "reported"]
    # 14 numbers in the reference, the RBM's trace as 15 rows instead of 1, the HMC step size from its setting
    assert len(tutorial_results()) == 14
    assert len(reported) == 14 - 1 + 15 + 1
    assert reported["verdict"].eq("within").all(), reported[["model", "metric", "verdict"]]
    row = reported_row(table, "mlp", "test_error")
    assert (row["tutorial"], row["ours_mean"], row["n_seeds"]) == (1.65, pytest.approx(1.70), 1)
    assert row["difference"] == pytest.approx(0.05) and math.isnan(row["ours_std"])
    assert reported_row(table, "logreg", "valid_error")["ours_mean"] == pytest.approx(7.45)
    stepsize = reported_row(table, "hmc", "final_stepsize")
    assert stepsize["tutorial"] == pytest.approx(0.460446628091) and stepsize["ours_mean"] == 0.44
    assert reported_row(table, "rnnrbm", "monitor_epoch_200")["ours_mean"] == pytest.approx(-4.2)


def test_the_rbm_trace_compares_each_epoch_in_the_tutorials_numbering():
    table = build(all_tables(), "paper")
    first, last = reported_row(table, "rbm", "pseudo_log_likelihood_epoch_0"), \
        reported_row(table, "rbm", "pseudo_log_likelihood_epoch_14")
    assert (first["tutorial"], first["ours_mean"]) == (-90.65, pytest.approx(-89.65))
    assert (last["tutorial"], last["ours_mean"]) == (-62.76, pytest.approx(-61.76))
    assert last["our_seconds"] == pytest.approx(15 * 20.0), "the run's time: its 15 epochs"


def test_ours_is_the_mean_over_seeds_with_its_spread_and_the_verdict_uses_the_tolerance():
    tables = all_tables(mlp=classifier_table("mlp", [1.75, 1.85, 1.95]))
    row = reported_row(build(tables, "paper"), "mlp", "test_error")
    assert (row["ours_mean"], row["ours_std"], row["n_seeds"]) == (pytest.approx(1.85), pytest.approx(0.1), 3)
    assert row["difference"] == pytest.approx(0.2) and row["tolerance"] == 0.2
    assert row["verdict"] == "within", "a difference equal to the tolerance is within it"
    tables = all_tables(mlp=classifier_table("mlp", [1.76, 1.86, 1.96]))
    assert reported_row(build(tables, "paper"), "mlp", "test_error")["verdict"] == "outside"
    tables = all_tables(mlp=classifier_table("mlp", [1.40]))
    assert reported_row(build(tables, "paper"), "mlp", "test_error")["verdict"] == "outside", "below as well"


def test_missing_tables_give_not_run_rows_and_no_ours_only_rows():
    tables = all_tables()
    del tables["dbn"], tables["cae"]
    table = build(tables, "paper")
    row = reported_row(table, "dbn", "test_error")
    assert row["verdict"] == "not run" and row["n_seeds"] == 0 and math.isnan(row["ours_mean"])
    assert "cae" not in set(table.loc[table["section"] == "ours_only", "model"])
    assert "| dbn | mnist | test_error | percent | 1.34 | not run | – |" in to_markdown(table, "paper")


def test_other_presets_are_not_judged_against_the_tutorial():
    row = reported_row(build(all_tables(), "quick"), "mlp", "test_error")
    assert row["verdict"] == "not the tutorial's protocol (preset quick)"


def test_wall_time_adds_pretraining_to_fine_tuning_and_sums_pretraining_epochs():
    table = build(all_tables(), "paper")
    assert reported_row(table, "sda", "test_error")["our_seconds"] == 100 + 10 + 20 + 30
    assert reported_row(table, "mlp", "test_error")["our_seconds"] == 100
    assert reported_row(table, "hmc", "final_acceptance_rate")["our_seconds"] == 5
    assert reported_row(table, "rnnrbm", "monitor_epoch_200")["our_seconds"] == 2000, "the run's final row"
    ours = table[table["section"] == "ours_only"].set_index("metric")
    assert ours.loc["reconstruction_cost_corruption_30", "ours_mean"] == 66.0, "the last epoch's cost"
    assert ours.loc["reconstruction_cost_corruption_30", "our_seconds"] == 2 * 2.0


def test_markdown_has_a_line_per_row_and_says_how_many_are_within():
    tables = all_tables(mlp=classifier_table("mlp", [1.6, 1.7, 1.8], [1.7, 1.7, 1.7]))
    table = build(tables, "paper")
    text = to_markdown(table, "paper", "Built somewhere.")
    reported = table[table["section"] == "reported"]
    assert f"{len(reported)} of {len(reported)} reported numbers within" in text
    assert "| mlp | mnist | test_error | percent | 1.65 | 1.7 ± 0.1 (n=3) | – | 0.05 | ±0.2 | within |" in text
    assert "| mlp | mnist | valid_error | percent | 1.69 | 1.7 ± 0 (n=3) | – | 0.01 | ±0.2 | within | ″ | ″ | ″ |" \
        in text, "without a judge of which seeds are current, the current column is empty"
    assert text.count("\n| ") == len(table) + 2, "a line per row and the two header lines"


def test_a_spec_without_a_tolerance_or_missing_a_reported_number_is_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("reported:\n  - {model: mlp, metric: test_error, table: mlp, column: test_error}\n")
    with pytest.raises(TableError, match=r"reported\[0\] lacks \['tolerance'\]"):
        load_spec(spec)
    spec.write_text("reported:\n  - {model: mlp, metric: test_error, table: mlp, column: test_error, "
                    "tolerance: 0.2}\nours_only: []\n")
    table = build(all_tables(), "paper", load_spec(spec))
    with pytest.raises(TableError, match="no row for the tutorial's logreg mnist test_error"):
        tutorial_table.check_covers_the_tutorial(table)


def test_a_table_without_the_column_is_named(tmp_path):
    with pytest.raises(TableError, match="table mlp: no column 'test_error'"):
        build(all_tables(mlp=pd.DataFrame({"model": ["mlp"], "seed": [1]})), "paper")


def test_the_command_writes_both_files_or_nothing(tmp_path):
    paths = []
    for name, frame in all_tables().items():
        paths.append(tmp_path / f"{name}.csv")
        frame.assign(preset="paper").to_csv(paths[-1], index=False)  # the command reads the preset from the rows
    outputs = [tmp_path / "out" / f"tutorial_table.{ext}" for ext in ("csv", "md", "html")]
    tutorial_table.main(["table", str(outputs[0]), *map(str, paths)])
    out_csv, out_md, out_html = outputs
    assert len(pd.read_csv(out_csv)) == len(build(all_tables(), "paper"))
    assert out_md.read_text().startswith("# The tutorial's numbers and ours (preset paper)")
    reported, ours_only = out_html.read_text().split("<table")[1:]  # the Markdown's rows, as HTML tables
    assert reported.count("<tr") == 1 + 29 and "<th>tutorial's hardware</th>" in reported
    assert ours_only.count("<tr") == 1 + (pd.read_csv(out_csv)["section"] == "ours_only").sum()
    for path in outputs:
        path.unlink()
    (tmp_path / "mlp.csv").write_text("")
    with pytest.raises(SystemExit, match=r"mlp.csv: cannot read the table"):
        tutorial_table.main(["table", str(outputs[0]), *map(str, paths)])
    assert not list((tmp_path / "out").iterdir()), "nothing half-written"
    all_tables()["mlp"].assign(preset="quick").to_csv(tmp_path / "mlp.csv", index=False)
    with pytest.raises(SystemExit, match=r"one preset, not \['paper', 'quick'\]"):
        tutorial_table.main(["table", str(outputs[0]), *map(str, paths)])
    assert not list((tmp_path / "out").iterdir()), "nothing half-written"


def test_the_command_marks_rows_made_by_other_numerics_code_stale(tmp_path):
    """Under Snakemake a run whose settings change is made again, one whose code changes is not: the command judges
    each row by its numerics code (its `code` column) against today's."""
    today = code_digest()
    tables = all_tables(mlp=classifier_table("mlp", [1.6, 1.7, 1.8], [1.7, 1.7, 1.7]))
    for frame in tables.values():
        frame["code"] = today
    tables["mlp"].loc[2, "code"] = "0" * 12  # its third seed made by other code
    del tables["logreg"]["code"]  # made before the digest was recorded
    paths = []
    for name, frame in tables.items():
        paths.append(tmp_path / f"{name}.csv")
        frame.assign(preset="paper").to_csv(paths[-1], index=False)
    outputs = [tmp_path / f"tutorial_table.{ext}" for ext in ("csv", "md", "html")]
    tutorial_table.main(["table", str(outputs[0]), *map(str, paths)])
    table = pd.read_csv(outputs[0])
    mlp, dbn = reported_row(table, "mlp", "test_error"), reported_row(table, "dbn", "test_error")
    assert (mlp["n_seeds"], mlp["n_current"], mlp["stale"]) == (3, 2, True)
    assert (dbn["n_current"], dbn["stale"]) == (1, False)
    assert reported_row(table, "logreg", "test_error")["n_current"] == 0
    text = outputs[1].read_text()
    assert "| 1.7 ± 0.1 (n=3) | 2 of 3 | 0.05 | ±0.2 | within, stale |" in text
    assert "25 of 29 reported numbers within the promised tolerance (conf/tutorial_table.yaml); 4 rows from code" \
        in text, "the MLP's two rows and logistic regression's two are stale"
    assert "within, stale" in outputs[2].read_text(), "the HTML page shows the same"


def test_a_row_holding_a_measurement_is_current_when_the_measurements_code_is_todays_too():
    """An RNN-RBM's final row holds its measurement on whole tunes, made by a job of its own (likelihood_code)."""
    current, today = tutorial_table.made_by_code("a" * 12), {"code": "a" * 12}
    assert current("rnnrbm", pd.Series(today))
    assert current("rnnrbm", pd.Series({**today, "likelihood_numerics": float("nan")})), "not measured"
    assert current("rnnrbm", pd.Series({**today, "likelihood_numerics": "1" * 12, "likelihood_code": "a" * 12}))
    assert not current("rnnrbm", pd.Series({**today, "likelihood_numerics": "1" * 12, "likelihood_code": "b" * 12}))
