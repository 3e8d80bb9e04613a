"""The numbers of a results tree, and where two trees differ: a restructuring must change none of them.

``make same-numbers BASE=<commit>`` builds the tiny and quick presets' tables at BASE and in this tree side
by side and calls ``python -m dltutorials.numbers <base results> <this results>``, which compares every table
under ``results/<preset>/`` digit for digit (what the CSV holds, as text), leaving out only the columns that
say when, where, how fast or by which code a run was made (``CIRCUMSTANCES``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from dltutorials.results import MEASURED

# Columns that describe the circumstances of a run, or of a measurement made apart (an RNN-RBM's, MEASURED: its
# likelihood_code, likelihood_host, ...), not what it computed.
CIRCUMSTANCES = re.compile(rf"seconds|second$|_time$|^n_current$|^stale$|^({MEASURED})?(time|host|git|date|started|"
                           r"finished|built|device$|versions\.|torch_threads$|code$|numerics$|cpu$)")
PRESETS = ("tiny", "quick")


def numbers(table: Path) -> pd.DataFrame:
    """A table's computed columns, every value as the text the CSV holds (so equal means equal digits)."""
    frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    return frame[[column for column in frame.columns if not CIRCUMSTANCES.search(column)]]


def tables(results: Path, presets: tuple[str, ...] = PRESETS) -> dict[str, Path]:
    """Every CSV table of the presets' folders, by its path relative to ``results``."""
    return {str(path.relative_to(results)): path for preset in presets
            for path in sorted((results / preset).rglob("*.csv"))}


def differences(before: Path, after: Path, presets: tuple[str, ...] = PRESETS) -> list[str]:
    """Where the tables of two results folders differ: a missing table, other columns, or a cell's digits."""
    old, new = tables(before, presets), tables(after, presets)
    found = [f"{name}: only in {before}" for name in sorted(set(old) - set(new))]
    found += [f"{name}: only in {after}" for name in sorted(set(new) - set(old))]
    for name in sorted(set(old) & set(new)):
        a, b = numbers(old[name]), numbers(new[name])
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            found.append(f"{name}: columns or rows differ ({list(a.columns)} x {len(a)} against "
                         f"{list(b.columns)} x {len(b)})")
            continue
        for column in a.columns:
            for row in (a[column] != b[column]).to_numpy().nonzero()[0]:
                found.append(f"{name}: row {row} {column}: {a[column].iloc[row]} -> {b[column].iloc[row]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="a results folder (e.g. the base commit's)")
    parser.add_argument("after", type=Path, help="another results folder (e.g. this tree's)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args(argv)
    presets = tuple(args.presets)
    for folder in (args.before, args.after):
        if not tables(folder, presets):
            print(f"error: no tables under {folder}/{{{','.join(presets)}}}/", file=sys.stderr)
            return 2
    found = differences(args.before, args.after, presets)
    compared = len(tables(args.before, presets))
    for line in found:
        print(line)
    print(f"{compared} tables compared, {len(found)} differences", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
