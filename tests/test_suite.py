"""The test suite's own promises: in CI, missing data fails the run instead of skipping it; `make test` ends by
listing what it skipped and why."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from dltutorials.config import PROJECT_ROOT


def run_pytest(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DLTUTORIALS_TEST_DATA": str(tmp_path / "nowhere")}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_datamodule.py"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_data_fails_the_run_in_ci_and_skips_elsewhere(tmp_path):
    in_ci = run_pytest(tmp_path, "true")
    assert in_ci.returncode != 0
    assert "CI: tutorial data not found at" in in_ci.stdout + in_ci.stderr
    on_a_laptop = run_pytest(tmp_path, None)
    assert on_a_laptop.returncode == 0, on_a_laptop.stdout[-2000:]
    assert "skipped" in on_a_laptop.stdout


def test_make_test_ends_with_each_skipped_test_and_its_reason(tmp_path):
    """A local `make test` skips what needs Chromium, SLURM or the data; its summary names each skipped test with
    the reason (pytest's -rs, part of the project's -ra), beside the failures, so a green run with skips is
    not mistaken for CI's. Run here as make runs it (its recipe, `make -n test`) with the project's pytest
    settings, on a file of one skipped, one failing and one passing test."""
    # --no-print-directory: under `make test` itself (CI) this make is a sub-make, which would print
    # "make[1]: Leaving directory ..." after the recipe
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert recipe.returncode == 0, recipe.stderr
    command = shlex.split(recipe.stdout.strip().splitlines()[-1])
    assert command[1:4] == ["-m", "pytest"] and command[0].endswith("python"), command
    (tmp_path / "test_three.py").write_text(
        "import pytest\n\n"
        "def test_needs_chromium():\n    pytest.skip('Chromium not found (CI=true fails instead)')\n\n"
        "def test_broken():\n    assert 1 == 2\n\n"
        "def test_fine():\n    pass\n")
    result = subprocess.run([*command, "-p", "no:cacheprovider", "-c", str(PROJECT_ROOT / "pyproject.toml"),
                             str(tmp_path / "test_three.py")], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stdout[-3000:]
    summary = result.stdout.split("short test summary info", 1)[-1]
    assert "SKIPPED [1] " in summary and "test_three.py:4: Chromium not found (CI=true fails instead)" in summary, \
        result.stdout[-3000:]
    assert re.search(r"^FAILED \S*::test_broken - assert 1 == 2$", summary, flags=re.M), result.stdout[-3000:]
