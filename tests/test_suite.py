"""The test suite's own promises: in CI, missing data fails the run instead of skipping it."""

from __future__ import annotations

import os
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
