"""Figures from saved artifacts (stages.curves): the data each one reads, the files, the errors."""

from __future__ import annotations

import json

import matplotlib.figure
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

from dltutorials.drawing import curves, plots
from dltutorials.results import tutorial_monitor_trace


def write_run(run_dir, valid_errors, *, n_examples=1000, batch_size=10, patience=400, updates_per_step=30,
              log_every=1, model="mlp", seed=1, test_error=1.5, train_subset=None):
    """A finished supervised run as train.py leaves it: config.yaml, metrics.json and Lightning's CSV log.

    The log is built the way Lightning writes it: one row per ``log_every`` training steps (each step a chunk
    of updates laid out by ``chunk_bounds``), validation columns on the steps that validated, a test row last.
    """
    from dltutorials.data.datamodule import chunk_bounds

    n = (train_subset or n_examples) // batch_size
    frequency = min(n, patience // 2)
    bounds = chunk_bounds(n, frequency, updates_per_step)
    rows, updates, best, best_iteration = [], 0, np.inf, None
    for step in range(len(valid_errors) * frequency // n * len(bounds)):
        start, end = bounds[step % len(bounds)]
        updates += end - start
        row = {"epoch": step // len(bounds), "step": step, "train/cost": 0.1}
        if updates % frequency == 0:
            error = valid_errors[updates // frequency - 1]
            if error < best:
                best, best_iteration = error, updates - 1
            row.update({"val/error": error, "val/best_error": best, "val/patience": float(patience)})
        if (step + 1) % log_every == 0:
            rows.append(row)
    rows.append({"epoch": updates // n, "step": step + 1, "test/error": test_error})
    (run_dir / "logs").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(run_dir / "logs" / "metrics.csv", index=False)
    config = {"data": {"name": "mnist", "sizes": {"train": n_examples},
                       "datamodule": {"updates_per_step": updates_per_step, "train_subset": train_subset}},
              "model": {"name": model, "batch_size": batch_size, "early_stopping": {"patience": patience}},
              "preset_name": "quick", "seed": seed}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (run_dir / "metrics.json").write_text(json.dumps({
        "model": model, "preset": "quick", "seed": seed, "best_valid_error": best, "test_error": test_error,
        "best_iteration": best_iteration, "best_epoch": best_iteration // n + 1, "iterations_run": updates}))
    return run_dir


def write_layers(run_dir, costs_per_layer, *, model="sda", seed=1, layer="DenoisingAutoencoder", persistent=False):
    for k, costs in enumerate(costs_per_layer, start=1):
        layer_dir = run_dir / f"layer{k}"
        layer_dir.mkdir(parents=True)
        pd.DataFrame({"epoch": range(1, len(costs) + 1), "cost": costs, "seconds": 1.0}).to_csv(
            layer_dir / "epochs.csv", index=False)
        config = {"data": {"name": "mnist"}, "preset_name": "quick", "seed": seed,
                  "model": {"name": model, "pretrain": {"layer": {"_target_": f"dltutorials.models.x.{layer}",
                                                                   "persistent": persistent}}}}
        (layer_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_dir


def write_table(path, rows):
    pd.DataFrame(rows, columns=["model", "preset", "seed", "test_error", "tutorial_test_error"]).to_csv(
        path, index=False)
    return path


def assert_png(path, min_width):
    image = matplotlib.image.imread(path)
    assert image.shape[1] >= min_width and image.shape[0] >= 300, image.shape
    assert path.stat().st_size > 10_000  # lines and text, not a blank canvas
    assert not list(path.parent.glob(".*.part"))


@pytest.fixture
def drawn(monkeypatch):
    """The figures the stage saves (still written), to check what they show."""
    figures, save = [], plots._save_figure
    monkeypatch.setattr(plots, "_save_figure", lambda path, figure: (figures.append(figure), save(path, figure)))
    return figures


def points(ax, marker):
    """x and y of every line of ``ax`` drawn with ``marker``, in drawing order."""
    return [(list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines if line.get_marker() == marker]


ERRORS = [3.0, 2.0, 1.8, 1.25, 1.3, 1.25, 1.4, 1.5]  # best at epoch 4 (a later tie is no improvement)


# -- learning curves ------------------------------------------------------------

def test_validations_are_placed_at_the_epoch_they_ended(tmp_path):
    run = write_run(tmp_path / "run", ERRORS)  # 100 minibatches an epoch, 4 steps of 25 updates
    curve = curves.validation_curve(run)
    np.testing.assert_array_equal(curve["epoch"], np.arange(1, 9))
    np.testing.assert_array_equal(curve["valid_error"], ERRORS)


def test_an_epoch_of_a_training_subset_is_counted_over_the_subset(tmp_path):
    run = write_run(tmp_path / "run", ERRORS, n_examples=50000, train_subset=1000)
    np.testing.assert_array_equal(curves.validation_curve(run)["epoch"], np.arange(1, 9))
    assert curves.best_epoch(run) == (4.0, 1.25)


def test_validations_inside_an_epoch_fall_between_whole_epochs(tmp_path):
    # patience 100: a validation every 50 updates, twice an epoch, at the end of steps 1, 3, 5, ...
    run = write_run(tmp_path / "run", ERRORS, patience=100)
    np.testing.assert_array_equal(curves.validation_curve(run)["epoch"], np.arange(1, 9) / 2)
    assert curves.best_epoch(run) == (2.0, 1.25)


def test_a_log_written_every_few_steps_keeps_the_validations_it_has(tmp_path):
    # like logreg's and lenet's paper runs: 2 steps an epoch, Lightning writes every 10th step only
    run = write_run(tmp_path / "run", ERRORS * 2, n_examples=1000, updates_per_step=50, log_every=10)
    curve = curves.validation_curve(run)
    np.testing.assert_array_equal(curve["epoch"], [5, 10, 15])
    np.testing.assert_array_equal(curve["valid_error"], [ERRORS[4], ERRORS[1], ERRORS[6]])
    assert curves.best_epoch(run) == (4.0, 1.25), "the best comes from metrics.json, logged or not"
    assert curves.learning_curve(run)["label"] == "mlp (quick, seed 1) [3 of 16 validations logged]"


def test_best_epoch_is_the_first_lowest_validation(tmp_path):
    run = write_run(tmp_path / "run", ERRORS)
    curve = curves.validation_curve(run)
    first_lowest = curve["epoch"][curve["valid_error"].idxmin()]
    assert curves.best_epoch(run) == (first_lowest, 1.25) == (4.0, 1.25)


def test_the_repeats_lightning_writes_at_the_next_step_are_dropped(tmp_path):
    """With log_every_n_steps=1, Lightning writes a value logged in on_train_batch_end again at the next step."""
    run = write_run(tmp_path / "run", ERRORS, patience=100)  # validations at half epochs, 2 steps apart
    expected = curves.validation_curve(run)
    log = pd.read_csv(run / "logs" / "metrics.csv")
    columns = ["val/error", "val/best_error", "val/patience"]
    for i in log.index[log["val/error"].notna()]:
        if i + 1 < len(log) - 1 and pd.isna(log.loc[i + 1, "val/error"]):
            log.loc[i + 1, columns] = log.loc[i, columns]
    assert log["val/error"].notna().sum() > len(expected)
    log.to_csv(run / "logs" / "metrics.csv", index=False)
    pd.testing.assert_frame_equal(curves.validation_curve(run), expected)
    log.loc[log["val/error"].notna().idxmax() + 1, "val/error"] = 99.0  # not a repeat: a validation out of place
    log.to_csv(run / "logs" / "metrics.csv", index=False)
    with pytest.raises(ValueError, match="steps do not match"):
        curves.validation_curve(run)


def test_a_log_that_does_not_match_its_config_is_refused(tmp_path):
    run = write_run(tmp_path / "run", ERRORS)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"]["datamodule"]["updates_per_step"] = 100  # 1 step an epoch, not the log's 4
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="steps do not match"):
        curves.validation_curve(run)
    run = write_run(tmp_path / "twice", ERRORS, patience=100)  # validations at half epochs
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["model"]["early_stopping"]["patience"] = 400  # the same 4 steps an epoch, once an epoch
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="a validation every 100 updates"):
        curves.validation_curve(run)


def test_learning_figure_marks_each_runs_best_and_is_written(tmp_path, drawn):
    runs = [write_run(tmp_path / "a", ERRORS, seed=1), write_run(tmp_path / "b", ERRORS[::-1], seed=2)]
    curves.main(["learning", str(tmp_path / "fig" / "learning.png"), *map(str, runs)])
    assert_png(tmp_path / "fig" / "learning.png", 700)
    ax, = drawn[0].axes
    assert points(ax, ".") == [(list(range(1, 9)), ERRORS), (list(range(1, 9)), ERRORS[::-1])]
    assert points(ax, "*") == [([4.0], [1.25]), ([3.0], [1.25])]  # each run's best validation
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "mlp (quick, seed 1): best epoch 4, valid 1.25 %, test 1.50 %",
        "mlp (quick, seed 2): best epoch 3, valid 1.25 %, test 1.50 %"]


# -- pretraining costs ----------------------------------------------------------

def test_pretraining_panels_have_a_line_per_run_and_layer(tmp_path):
    runs = [write_layers(tmp_path / f"seed{seed}", [[3.0, 2.0, 1.0], [30.0, 20.0, 10.0]], seed=seed)
            for seed in (1, 2)]
    panels = curves.pretraining_panels(runs)
    assert [panel["title"] for panel in panels] == ["layer 1", "layer 2"]
    assert [line["label"] for line in panels[1]["lines"]] == ["quick, seed 1", "quick, seed 2"]
    np.testing.assert_array_equal(panels[1]["lines"][0]["cost"], [30.0, 20.0, 10.0])
    assert panels[0]["ylabel"] == "reconstruction cross-entropy" and panels[0]["references"] == []


def test_the_rbm_panel_shows_the_tutorials_trace(tmp_path):
    run = write_layers(tmp_path / "rbm", [np.linspace(-90, -62, 15)], model="rbm", layer="RBM", persistent=True)
    panel, = curves.pretraining_panels([run])
    assert panel["ylabel"] == "pseudo-likelihood (PCD monitor)"
    reference, = panel["references"]
    assert list(reference["cost"]) == tutorial_monitor_trace("rbm", "mnist") and len(reference["cost"]) == 15
    np.testing.assert_array_equal(reference["epoch"], np.arange(1, 16))


def test_cost_labels_follow_the_layer_type():
    assert curves.cost_label({"_target_": "m.RBM", "persistent": False}) == "reconstruction cross-entropy"
    assert curves.cost_label({"_target_": "m.ContractiveAutoencoder"}) == "cross-entropy + contraction penalty"


def test_pretraining_figure_is_written(tmp_path, drawn):
    costs = [[3.0, 2.0, 1.5], [30.0, 20.0, 15.0], [9.0, 8.0, 7.5]]
    run = write_layers(tmp_path / "sda", costs)
    curves.main(["pretraining", str(tmp_path / "pretraining.png"), str(run)])
    assert_png(tmp_path / "pretraining.png", 1200)  # three panels side by side
    assert [points(ax, ".") for ax in drawn[0].axes] == [[([1, 2, 3], layer)] for layer in costs]
    rbm = write_layers(tmp_path / "rbm", [np.linspace(-90, -62, 15)], model="rbm", layer="RBM", persistent=True)
    curves.main(["pretraining", str(tmp_path / "rbm.png"), str(rbm)])
    line, reference = points(drawn[1].axes[0], ".")
    assert reference == (list(range(1, 16)), tutorial_monitor_trace("rbm", "mnist"))


# -- headline -------------------------------------------------------------------

def test_headline_rows_average_seeds_in_the_tutorials_order(tmp_path):
    tables = [write_table(tmp_path / "cae.csv", [["cae", "paper", 1, 1.7, None]]),
              write_table(tmp_path / "mlp.csv", [["mlp", "paper", 1, 1.6, 1.65], ["mlp", "paper", 2, 1.8, 1.65]]),
              write_table(tmp_path / "logreg.csv", [["logreg", "paper", 1, 7.49, 7.489583]])]
    rows = curves.headline_rows(tables)
    assert [row["label"] for row in rows] == ["logreg", "mlp", "cae"]
    assert rows[1]["mean"] == pytest.approx(1.7) and rows[1]["std"] == pytest.approx(np.std([1.6, 1.8], ddof=1))
    assert rows[1]["n_seeds"] == 2 and rows[1]["tutorial"] == 1.65
    assert rows[0]["std"] == 0.0 and rows[2]["tutorial"] is None  # one seed; the cA has no tutorial number


def test_headline_labels_presets_only_when_tables_mix_them(tmp_path):
    tables = [write_table(tmp_path / "a.csv", [["mlp", "paper", 1, 1.6, 1.65]]),
              write_table(tmp_path / "b.csv", [["mlp", "quick", 1, 2.5, 1.65]])]
    assert [row["label"] for row in curves.headline_rows(tables)] == ["mlp (paper)", "mlp (quick)"]


def test_headline_figure_is_written(tmp_path, drawn):
    table = write_table(tmp_path / "t.csv", [["logreg", "paper", 1, 7.49, 7.49], ["lenet", "paper", 1, 0.85, 0.92],
                                             ["lenet", "paper", 2, 0.95, 0.92], ["cae", "paper", 1, 1.72, None]])
    curves.main(["headline", str(tmp_path / "headline.png"), str(table)])
    assert_png(tmp_path / "headline.png", 700)
    ax, = drawn[0].axes
    ours = [(container.lines[0].get_xdata()[0], container.has_xerr) for container in ax.containers]
    assert ours == [(7.49, False), (pytest.approx(0.9), True), (1.72, False)]  # an error bar where 2 seeds
    assert [x for x, _ in points(ax, "D")] == [[7.49], [0.92]]  # the tutorial's, none for the cA
    labels = sorted(zip(ax.get_yticks(), [label.get_text() for label in ax.get_yticklabels()]), reverse=True)
    assert [label for _, label in labels] == ["logreg", "lenet", "cae"]  # top down, the tutorial's order


# -- errors ---------------------------------------------------------------------

def exits_naming(argv, *fragments):
    with pytest.raises(SystemExit) as exit_info:
        curves.main(argv)
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_bad_inputs_end_with_one_line_naming_the_file_and_leave_no_figure(tmp_path):
    out = tmp_path / "figs" / "out.png"
    run = write_run(tmp_path / "run", ERRORS)
    (run / "metrics.json").unlink()  # an unfinished run
    exits_naming(["learning", str(out), str(run)], str(run / "metrics.json"), "not a finished training run")
    (tmp_path / "nolayers").mkdir()
    exits_naming(["pretraining", str(out), str(tmp_path / "nolayers")], "nolayers", "no layer<k>/")
    broken = write_layers(tmp_path / "broken", [[1.0, 2.0]])
    (broken / "layer1" / "epochs.csv").write_text("epoch,seconds\n1,2.0\n")
    exits_naming(["pretraining", str(out), str(broken)], str(broken / "layer1" / "epochs.csv"), "cost")
    exits_naming(["headline", str(out), str(tmp_path / "missing.csv")], str(tmp_path / "missing.csv"), "not found")
    (tmp_path / "da.csv").write_text("model,seed,layer,cost\nda,1,1,60.0\n")  # a pretraining table
    exits_naming(["headline", str(out), str(tmp_path / "da.csv")], str(tmp_path / "da.csv"), "test_error")
    (tmp_path / "empty.csv").write_text("")
    exits_naming(["headline", str(out), str(tmp_path / "empty.csv")], str(tmp_path / "empty.csv"))
    quiet = write_run(tmp_path / "quiet", ERRORS)
    pd.read_csv(quiet / "logs" / "metrics.csv").drop(columns=["val/error"]).to_csv(
        quiet / "logs" / "metrics.csv", index=False)
    exits_naming(["learning", str(out), str(quiet)], str(quiet / "logs" / "metrics.csv"), "val/error")
    assert not out.exists()


def test_a_failure_while_saving_leaves_no_partial_file(tmp_path, monkeypatch):
    def fail_halfway(self, f, **kwargs):
        f.write(b"\x89PNG half a figure")
        raise OSError("disk full")

    table = write_table(tmp_path / "t.csv", [["mlp", "paper", 1, 1.6, 1.65]])
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail_halfway)
    exits_naming(["headline", str(tmp_path / "headline.png"), str(table)], "disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
