"""make same-numbers' comparison (dltutorials.numbers): every computed digit counts, circumstances do not."""

from __future__ import annotations

from dltutorials.numbers import differences, main

TABLE = ("model,preset,seed,test_error,train_seconds,git_commit,versions.torch,host,tutorial_time,likelihood_code,"
         "likelihood_git_commit\n"
         "mlp,tiny,1234,{error},{seconds},{commit},2.13.0,vm,97 min,{commit},{commit}\n")


def results(root, error="12.50", seconds="3.1", commit="abc", extra=None):
    (root / "tiny" / "sweeps").mkdir(parents=True)
    (root / "tiny" / "mlp.csv").write_text(TABLE.format(error=error, seconds=seconds, commit=commit))
    (root / "tiny" / "sweeps" / "dbn_lr.csv").write_text("sweep,pretrain_learning_rate,test_error\ndbn_lr,0.1,9.1\n")
    if extra:
        (root / "tiny" / f"{extra}.csv").write_text("model,test_error\nx,1\n")
    return root


def test_times_commits_versions_and_hosts_are_not_numbers(tmp_path):
    before = results(tmp_path / "a")
    after = results(tmp_path / "b", seconds="7.9", commit="def")
    assert differences(before, after) == []
    assert main([str(before), str(after)]) == 0


def test_a_digit_of_a_computed_column_is_a_difference(tmp_path):
    before, after = results(tmp_path / "a"), results(tmp_path / "b", error="12.5")
    assert differences(before, after) == ["tiny/mlp.csv: row 0 test_error: 12.50 -> 12.5"], "digits, not values"
    assert main([str(before), str(after)]) == 1


def test_a_table_made_on_one_side_only_is_a_difference(tmp_path):
    before, after = results(tmp_path / "a"), results(tmp_path / "b", extra="dbn")
    assert differences(before, after) == [f"tiny/dbn.csv: only in {after}"]


def test_an_empty_results_folder_is_refused(tmp_path, capsys):
    assert main([str(results(tmp_path / "a")), str(tmp_path / "nothing")]) == 2
    assert "no tables under" in capsys.readouterr().err
