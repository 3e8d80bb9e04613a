"""The published results: kept per-seed tables of the paper preset, and the tutorial table rebuilt from them.

    python -m dltutorials.published keep [TABLE.csv...] [--seeds N...]   (make keep [TABLES="results/dbn.csv ..."])
    python -m dltutorials.published table                                (make published-table)

``keep`` splits paper-preset model tables (``results/<table>.csv``) by seed into ``published/<table>/seed<N>.csv``,
every column as the table has it (provenance included: ``git_commit``, ``code``, ``numerics``, ``host``,
``versions.*``). Without tables it keeps every table the tutorial table reads that ``results/`` holds. A kept
file is replaced run by run: the rows of a run the new table holds (a model, an HMC target, an RNN-RBM variant)
replace that run's, the file's other runs stay, and other seeds' files are not touched, so seeds and runs made on
different days and machines add up. A table is refused as a whole, and nothing is written, when it is not the
paper preset's table of a model on the tutorial's dataset, or any row lacks a numerics fingerprint or names no
clean commit (``+dirty``, ``unknown`` or none): a kept row must say which code made it.

``table`` concatenates each table's kept seeds and builds the tutorial table from them
(``dltutorials.drawing.tutorial_table``) into ``published/tutorial_table.{csv,md}``, which ``make readme-results``
puts into the README. A kept row is *current* when its ``numerics`` equals the fingerprint its run would get
today (``Today``): the settings of the same model (target, variant), dataset, layer and seed in the paper
preset's configs composed today through ``dltutorials.workflow.plan.Plan``, with today's numerics code
(``provenance.code_digest``). The table says per row how many of its seeds are current and marks the rest stale.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml

from dltutorials import fingerprints
from dltutorials.atomic import atomic_path
from dltutorials.cli import one_line_errors
from dltutorials.config import PROJECT_ROOT, ConfigError
from dltutorials.drawing import tutorial_table
from dltutorials.provenance import code_digest, numerics_fingerprint
from dltutorials.workflow import layout
from dltutorials.workflow.layout import PAPER, TUTORIAL_DATASET
from dltutorials.workflow.plan import SAMPLER_TABLES, ImageRun, Plan

PUBLISHED = PROJECT_ROOT / "published"
KEPT = re.compile(r"seed(\d+)\.csv")
# The columns that name a run within a table and seed: the model, and an HMC run's target or an RNN-RBM's variant.
RUN_KEYS = ("model", "target", "variant", "dataset")


class KeepError(ValueError):
    """A table that cannot be kept, or no kept tables to build from; the message names the file."""


def workflow_plan() -> Plan:
    """The workflow's plan of conf/workflow.yaml as it is (no --config changes): the paper preset's configs."""
    return Plan(yaml.safe_load((PROJECT_ROOT / "conf" / "workflow.yaml").read_text()))


def tutorial_tables() -> list[str]:
    """The model tables the tutorial table reads (conf/tutorial_table.yaml)."""
    spec = tutorial_table.load_spec()
    return sorted({row["table"] for section in ("reported", "ours_only") for row in spec.get(section) or []})


def kept_path(folder: Path, table: str, seed: int) -> Path:
    return Path(folder) / table / f"seed{seed}.csv"


# -- keep -----------------------------------------------------------------------------------------------------------

def read_text_table(path: Path) -> pd.DataFrame:
    """A table with every cell as the text the CSV holds (kept files copy it, not a float read and written back)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise KeepError(f"{path}: cannot read the table ({error})") from None


def check_keepable(path: Path, table: pd.DataFrame, plan: Plan) -> None:
    """Refuse (KeepError naming ``path``) a table that is not a paper-preset model table on the tutorial's dataset,
    or with a row lacking a seed, a numerics fingerprint or a clean commit."""
    name = Path(path).stem
    if name not in plan.all_tables():
        raise KeepError(f"{path}: {name!r} is not a model table of the workflow ({', '.join(plan.all_tables())})")
    if table.empty:
        raise KeepError(f"{path}: no rows to keep")
    for column in ("preset", "seed", "numerics", "git_commit"):
        if column not in table.columns:
            raise KeepError(f"{path}: no {column!r} column (a table made before results recorded their "
                            f"{'numerics fingerprint' if column == 'numerics' else column}: make it again)")
    presets = sorted(set(table["preset"]) - {PAPER})
    if presets:
        raise KeepError(f"{path}: not the paper preset's table (preset {', '.join(presets)}): only the tutorial's "
                        f"protocol is kept")
    datasets = {run["dataset"] for run in plan.table_runs(name, "") if run.get("dataset")}
    if datasets and "dataset" in table.columns and set(table["dataset"]) - datasets:
        raise KeepError(f"{path}: runs on {', '.join(sorted(set(table['dataset']) - datasets))}, not the "
                        f"tutorial's {', '.join(sorted(datasets))}")
    if not table["seed"].str.fullmatch(r"\d+").all():
        raise KeepError(f"{path}: a row without a seed")
    problems = {"without a numerics fingerprint (made before results recorded one: make it again)":
                table["numerics"].str.strip() == "",
                "without a commit": table["git_commit"].str.strip() == "",
                "from a checkout with uncommitted changes (git_commit ...+dirty)":
                table["git_commit"].str.endswith("+dirty"),
                "from outside a git checkout (git_commit unknown)": table["git_commit"] == "unknown"}
    for what, rows in problems.items():
        if rows.any():
            first = table[rows].iloc[0]
            clean = sorted(set(table.loc[~rows, "seed"]) - set(table.loc[rows, "seed"]), key=int)
            others = f" (--seeds {' '.join(clean)} keeps the other seeds)" if clean else ""
            raise KeepError(f"{path}: {rows.sum()} rows {what}, e.g. {first.get('model', '')} seed {first['seed']}; "
                            f"a kept row must name the commit and code that made it{others}")


def run_keys(table: pd.DataFrame) -> list[str]:
    return [column for column in RUN_KEYS if column in table.columns]


def merged(kept: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """A seed's kept rows with ``new`` in place of the runs it holds; the kept rows of other runs stay. Rows in a
    stable order of their run (whatever order the runs were kept in), each run's rows in their own order."""
    keys = run_keys(new)
    rows = new
    if kept is not None and not kept.empty:
        replaced = set(new[keys].itertuples(index=False, name=None))
        others = kept[[row not in replaced for row in kept.reindex(columns=keys).fillna("").itertuples(
            index=False, name=None)]]
        rows = pd.concat([others, new], ignore_index=True).fillna("")
    return rows.sort_values(keys, kind="stable").reset_index(drop=True)


def keep(paths: Iterable[str | Path], folder: str | Path = PUBLISHED, seeds: Iterable[int] | None = None,
         plan: Plan | None = None) -> list[Path]:
    """Keep each table's rows by seed in ``folder``/<table>/seed<N>.csv (``seeds``: only these); every table is
    checked before any file is written. Returns the files written."""
    paths = [Path(path) for path in paths]
    if not paths:
        raise KeepError("no tables to keep")
    plan = workflow_plan() if plan is None else plan
    wanted = None if seeds is None else {str(seed) for seed in seeds}
    tables = {}
    for path in paths:
        table = read_text_table(path)
        if wanted is not None and "seed" in table.columns:
            table = table[table["seed"].isin(wanted)]
        check_keepable(path, table, plan)
        tables[path] = table
    writes = {}
    for path, table in tables.items():
        for seed, rows in table.groupby("seed", sort=True):
            target = kept_path(folder, path.stem, int(seed))
            kept = read_text_table(target) if target.is_file() else None
            writes[target] = merged(kept, rows)
    for target, rows in writes.items():
        with atomic_path(target) as tmp:
            rows.to_csv(tmp, index=False)
    return list(writes)


def default_tables(results: Path = PROJECT_ROOT) -> list[Path]:
    """Every paper-preset table the tutorial table reads that ``results/`` holds."""
    paths = [results / layout.table("", table) for table in tutorial_tables()]
    return [path for path in paths if path.is_file()]


# -- the published table --------------------------------------------------------------------------------------------

def read_kept(folder: str | Path = PUBLISHED) -> dict[str, pd.DataFrame]:
    """Every kept table by name, its seeds concatenated in the order of their numbers."""
    files: dict[str, list[tuple[int, Path]]] = {}
    for path in sorted(Path(folder).glob("*/seed*.csv")):
        match = KEPT.fullmatch(path.name)
        if match:
            files.setdefault(path.parent.name, []).append((int(match[1]), path))
    tables = {}
    for name, seeds in sorted(files.items()):
        frames = []
        for _, path in sorted(seeds):
            try:
                frames.append(pd.read_csv(path, dtype=tutorial_table.TEXT_COLUMNS))
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
                raise KeepError(f"{path}: cannot read the kept table ({error})") from None
        tables[name] = pd.concat(frames, ignore_index=True)
    return tables


class Today:
    """Whether a kept row is current: its ``numerics`` equals what its run's settings, composed today (``plan``:
    the workflow's, paper preset), and today's numerics code (``code``) give. Called as ``today(table, row)``.

    The settings are those ``dltutorials.stages`` fingerprint: an image model's run (``training_settings``) or
    pretrained layer (``layer_settings``, rows with a ``layer``), an HMC run (``sampling_settings``), an RNN-RBM
    run (``music_settings``), each with the row's seed."""

    def __init__(self, plan: Plan | None = None, preset: str = PAPER, code: str | None = None):
        self.plan = workflow_plan() if plan is None else plan
        self.preset = preset
        self.code = code_digest() if code is None else code
        self._fingerprints: dict[tuple, str | None] = {}

    def settings(self, table: str, row: pd.Series) -> dict:
        """The settings that determine the numbers of the row's run, composed today."""
        seed = int(row["seed"])
        if table in SAMPLER_TABLES:
            return fingerprints.sampling_settings({**self.plan.hmc_config(row["target"], self.preset), "seed": seed})
        if table in self.plan.music_tables:
            plain = self.plan.music_config(self.plan.music_tables[table], self.preset, row["variant"])
            return {**fingerprints.music_settings(plain), "seed": seed}
        if table not in self.plan.tables:
            raise KeyError(f"{table!r} is not a model table of the workflow")
        dataset = row.get("dataset")
        plain = self.plan.run_config(ImageRun(self.preset, row["model"],
                                              dataset if isinstance(dataset, str) else TUTORIAL_DATASET, seed))
        layer = row.get("layer")
        if layer is not None and pd.notna(layer):  # a pretrained layer's row (a pretraining-only model's table)
            return {**fingerprints.layer_settings(plain, int(layer)), "seed": seed}
        return {**fingerprints.training_settings(plain), "seed": seed}

    def fingerprint(self, table: str, row: pd.Series) -> str | None:
        """Today's numerics fingerprint of the row's run (None when its model is no longer in the configs)."""
        key = (table, *(str(row.get(column)) for column in (*RUN_KEYS, "layer", "seed")))
        if key not in self._fingerprints:
            try:
                self._fingerprints[key] = numerics_fingerprint(self.settings(table, row), self.code)
            except ConfigError:
                self._fingerprints[key] = None
        return self._fingerprints[key]

    def __call__(self, table: str, row: pd.Series) -> bool:
        numerics = row.get("numerics")
        return isinstance(numerics, str) and numerics == self.fingerprint(table, row)


def built_line(tables: dict[str, pd.DataFrame], folder: Path, code: str | None) -> str:
    """The start of the table's provenance line: which kept tables and commits, judged against which code (no
    time: rebuilding from the same kept tables at the same numerics code gives the same table, digit for digit)."""
    commits = sorted({str(commit)[:7] for table in tables.values() if "git_commit" in table
                      for commit in table["git_commit"].dropna()})
    line = f"Built from the kept tables in {Path(folder).name}/ (runs at commits {', '.join(commits) or '–'})"
    return line + (f"; current: made by the numerics code {code} with today's paper settings" if code else "")


def write_published(folder: str | Path = PUBLISHED, current: tutorial_table.Current | None = None) -> pd.DataFrame:
    """``folder``/tutorial_table.{csv,md} from the kept tables the tutorial table reads; ``current`` decides which
    rows are current (default: ``Today()``)."""
    folder = Path(folder)
    tables = {name: table for name, table in read_kept(folder).items() if name in tutorial_tables()}
    if not tables:
        raise KeepError(f"{folder}: no kept tables (<table>/seed<N>.csv) the tutorial table reads; keep them "
                        f"first: python -m dltutorials.published keep results/<table>.csv")
    current = Today() if current is None else current
    return tutorial_table.write(tables, folder / "tutorial_table.csv", folder / "tutorial_table.md", None, PAPER,
                                current, built_line(tables, folder, getattr(current, "code", None)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dltutorials.published", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=PUBLISHED, help="the kept tables (default: published/)")
    commands = parser.add_subparsers(dest="command", required=True)
    kept = commands.add_parser("keep", help="keep paper-preset tables by seed")
    kept.add_argument("tables", type=Path, nargs="*",
                      help="e.g. results/dbn.csv (default: every table the tutorial table reads in results/)")
    kept.add_argument("--seeds", type=int, nargs="+", help="keep only these seeds' rows")
    commands.add_parser("table", help="build <folder>/tutorial_table.{csv,md} from the kept tables")
    args = parser.parse_args(argv)
    with one_line_errors(OSError, ValueError):  # KeepError and TableError are ValueErrors
        if args.command == "keep":
            tables = args.tables or default_tables()
            if not tables:
                raise KeepError(f"no tables to keep: {PROJECT_ROOT / layout.RESULTS} holds none of "
                                f"{', '.join(f'{name}.csv' for name in tutorial_tables())}")
            for path in keep(tables, args.folder, args.seeds):
                print(f"kept {path}")
        else:
            table = write_published(args.folder)
            print(f"wrote {args.folder / 'tutorial_table.csv'} and {args.folder / 'tutorial_table.md'} "
                  f"({len(table)} rows)")


if __name__ == "__main__":
    main()
