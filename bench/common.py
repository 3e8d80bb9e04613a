"""Shared pieces of the benchmarks: timing side by side, the `bench` line, results/bench.csv."""

from __future__ import annotations

import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dltutorials.atomic import atomic_path
from dltutorials.provenance import git_commit

BENCH_CSV = Path("results/bench.csv")
MISSED: list[str] = []  # names of the benchmarks that missed their goal in this process
FIELDS = ["name", "ratio", "goal", "project_seconds", "baseline_seconds", "repeats", "extra", "git_commit", "date"]


def interleaved(project: Callable[[], float], baseline: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Run the two alternately ``repeats`` times; medians of the seconds each returns."""
    project_times, baseline_times = [], []
    for _ in range(repeats):
        baseline_times.append(baseline())
        project_times.append(project())
    return statistics.median(project_times), statistics.median(baseline_times)


def report(name: str, project_seconds: float, baseline_seconds: float, goal: float, repeats: int,
           extra: str = "") -> float:
    """Print the `bench <name>: <ratio>x (goal <= <goal>x)` line and append a row to results/bench.csv."""
    ratio = project_seconds / baseline_seconds
    missed = ratio > goal
    print(f"bench {name}: {ratio:.2f}x (goal <= {goal}x)" + (" MISSED" if missed else "")
          + (f"  [{extra}]" if extra else ""), flush=True)
    if missed:
        MISSED.append(name)
    rows = []
    if BENCH_CSV.exists():
        with BENCH_CSV.open() as f:
            rows = list(csv.DictReader(f))
    rows.append({"name": name, "ratio": f"{ratio:.4f}", "goal": goal, "project_seconds": f"{project_seconds:.4f}",
                 "baseline_seconds": f"{baseline_seconds:.4f}", "repeats": repeats, "extra": extra,
                 "git_commit": git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%S")})
    with atomic_path(BENCH_CSV) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return ratio


def exit_status() -> int:
    """The benchmark script's exit status: 1 when any goal was missed (after every line was printed)."""
    if MISSED:
        print(f"missed goals: {', '.join(MISSED)}", file=sys.stderr)
    return 1 if MISSED else 0
