"""The published results: kept per-seed tables of the paper preset, and the tutorial table rebuilt from them.

    python -m dltutorials.published keep [TABLE.csv...] [--seeds N...]   (make keep [TABLES="results/dbn.csv ..."])
    python -m dltutorials.published table                                (make published-table)

``keep`` splits paper-preset model tables (``results/<table>.csv``) by seed into ``published/<table>/seed<N>.csv``,
every column as the table has it (provenance included: ``git_commit``, ``code``, ``numerics``, ``host``,
``versions.*``), and what the rows' numerics code was made of, file by file, into ``published/code/<code>.json``
(read from the rows' commit in git, and checked against their ``code``). Without tables it keeps every table the
tutorial table reads that ``results/`` holds. A kept
file is replaced run by run: the rows of a run the new table holds (a model, an HMC target, an RNN-RBM variant)
replace that run's, the file's other runs stay, and other seeds' files are not touched, so seeds and runs made on
different days and machines add up. A table is refused as a whole, and nothing is written, when it is not the
paper preset's table of a model on the tutorial's dataset, or any row lacks a numerics fingerprint or names no
clean commit (``+dirty``, ``unknown`` or none), or when that commit's numerics code is not the rows' ``code``: a
kept row must say which code made it.

``table`` concatenates each table's kept seeds and builds the tutorial table from them
(``dltutorials.drawing.tutorial_table``) into ``published/tutorial_table.{csv,md}``, which ``make readme-results``
puts into the README. A kept row is *current* (``Today``) when today's code and settings would make the same
numbers: its run's settings (the same model, target or variant, dataset, layer and seed in the paper preset's
configs composed today through ``dltutorials.workflow.plan.Plan``) are what its ``numerics`` fingerprinted, and
every numerics file its run's modules import (``provenance.numerics_files_of``: the stages of its kind and the
classes its settings name) is as it was, so a change to the RBM stales the RBM's and the DBN's rows and leaves
the MLP's current. An RNN-RBM's final row also holds its measurement on whole tunes (``likelihood_*`` columns,
``results.MEASURED``), made by a job of its own: that row is current when the measurement is too (its fingerprint
with today's conf/likelihood.yaml, the files ``stages.likelihood`` imports as they were), and ``keep`` checks and
keeps the measurement's provenance as it does the run's. The table says per row how many of its seeds are current
and marks the rest stale.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
import yaml

from dltutorials import fingerprints
from dltutorials.atomic import atomic_path
from dltutorials.cli import one_line_errors
from dltutorials.config import PROJECT_ROOT, ConfigError
from dltutorials.drawing import tutorial_table
from dltutorials.provenance import (
    PACKAGE,
    PACKAGE_NAME,
    digest_of,
    file_digests,
    git_sources,
    numerics_files_of,
    numerics_fingerprint,
    sources,
)
from dltutorials.results import MEASURED
from dltutorials.workflow import layout
from dltutorials.workflow.layout import PAPER, TUTORIAL_DATASET
from dltutorials.workflow.plan import SAMPLER_TABLES, ImageRun, Plan

PUBLISHED = PROJECT_ROOT / "published"
KEPT = re.compile(r"seed(\d+)\.csv")
# The columns that name a run within a table and seed: the model, and an HMC run's target or an RNN-RBM's variant.
RUN_KEYS = ("model", "target", "variant", "dataset")
CODE = "code"  # published/code/<digest>.json: the numerics files of the code that made kept rows
# The stages that make a kept row's numbers, by the kind of its table; with the classes its settings name
# (``_target_``), they are where the code a row depends on is looked for (``Today.files_of``).
SAMPLER_STAGES = ["stages.sample"]
MUSIC_STAGES = ["stages.music_data", "stages.music_pretrain", "stages.music"]
IMAGE_STAGES = ["stages.data", "stages.train"]
PRETRAINING_STAGE = "stages.pretrain"  # for a model with pretrained layers, and a pretraining-only model's rows
MEASUREMENT_STAGE = "stages.likelihood"  # an RNN-RBM's final row's measurement on whole tunes (MEASURED columns)


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


def code_path(folder: Path, code: str) -> Path:
    return Path(folder) / CODE / f"{code}.json"


def code_files(code: str, commit: str, where: str, root: Path = PROJECT_ROOT) -> dict:
    """What the numerics code ``code`` was made of, file by file (``provenance.file_digests``): today's files when
    they are that code, else the files of ``commit`` in git; refused (KeepError naming ``where``) when they are
    not that code. ``root``: the git checkout to read ``commit`` from."""
    today = sources()
    if digest_of(today) != code:
        try:
            today = git_sources(commit, root)
        except ValueError as error:
            raise KeepError(f"{where}: made by numerics code {code}, not this checkout's, and {error}") from None
        if digest_of(today) != code:
            raise KeepError(f"{where}: rows say numerics code {code}, but commit {commit}'s numerics code is "
                            f"{digest_of(today)}: the rows' code and commit disagree")
    return {"code": code, "commit": commit, "files": file_digests(today)}


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
    for column in ("preset", "seed", "code", "numerics", "git_commit"):
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
                **commit_problems(table["git_commit"], "")}
    if f"{MEASURED}numerics" in table.columns:  # rows holding a measurement made apart (an RNN-RBM's whole tunes)
        held = table[f"{MEASURED}numerics"].str.strip() != ""
        code = table.get(f"{MEASURED}code", pd.Series("", index=table.index))
        commit = table.get(f"{MEASURED}git_commit", pd.Series("", index=table.index))
        problems.update({what: held & rows for what, rows in commit_problems(commit, MEASURED).items()})
        problems[f"with a measurement without its numerics code ({MEASURED}code)"] = held & (code.str.strip() == "")
    for what, rows in problems.items():
        if rows.any():
            first = table[rows].iloc[0]
            clean = sorted(set(table.loc[~rows, "seed"]) - set(table.loc[rows, "seed"]), key=int)
            others = f" (--seeds {' '.join(clean)} keeps the other seeds)" if clean else ""
            raise KeepError(f"{path}: {rows.sum()} rows {what}, e.g. {first.get('model', '')} seed {first['seed']}; "
                            f"a kept row must name the commit and code that made it{others}")


def made_by(table: pd.DataFrame) -> set[tuple[str, str]]:
    """The (numerics code, commit) pairs that made a table's rows: their runs', and their measurements' where they
    hold one (``MEASURED`` columns, empty in rows without one)."""
    pairs = set(zip(table["code"], table["git_commit"]))
    if f"{MEASURED}code" in table.columns:
        pairs |= {(code, commit) for code, commit in zip(table[f"{MEASURED}code"], table[f"{MEASURED}git_commit"])
                  if code}
    return pairs


def commit_problems(commit: pd.Series, prefix: str) -> dict[str, pd.Series]:
    """The rows whose commit (the ``{prefix}git_commit`` column) cannot say which code made them, by what is wrong."""
    whose = "with a measurement " if prefix else ""
    return {f"{whose}without a commit": commit.str.strip() == "",
            f"{whose}from a checkout with uncommitted changes ({prefix}git_commit ...+dirty)":
            commit.str.endswith("+dirty"),
            f"{whose}from outside a git checkout ({prefix}git_commit unknown)": commit == "unknown"}


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
        if "row" in table.columns:  # the RNN-RBM's baselines are no run of a seed: results/rnnrbm.csv has them
            table = table[table["row"] != "baseline"]
        if wanted is not None and "seed" in table.columns:
            table = table[table["seed"].isin(wanted)]
        check_keepable(path, table, plan)
        tables[path] = table
    writes = {}
    for path, table in tables.items():
        for code, commit in sorted(made_by(table)):
            target = code_path(folder, code)
            if not target.is_file() and target not in writes:
                writes[target] = code_files(code, commit, str(path))
        for seed, rows in table.groupby("seed", sort=True):
            target = kept_path(folder, path.stem, int(seed))
            kept = read_text_table(target) if target.is_file() else None
            writes[target] = merged(kept, rows)
    for target, rows in writes.items():
        with atomic_path(target) as tmp:
            if isinstance(rows, dict):
                tmp.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
            else:
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
    """Whether a kept row is current: today's code and settings would make its numbers. Called as
    ``today(table, row)``; current when

    - its ``numerics`` is the fingerprint of its run's settings composed today (``plan``: the workflow's, paper
      preset) with the row's own ``code``: the settings are today's; and
    - its ``code`` is today's numerics code, or every numerics file its run depends on (``files_of``) is as it
      was in that code (``folder``/code/<code>.json, written by ``keep``): the code it runs is today's.

    The settings are those ``dltutorials.stages`` fingerprint: an image model's run (``training_settings``) or
    pretrained layer (``layer_settings``, rows with a ``layer``), an HMC run (``sampling_settings``), an RNN-RBM
    run (``music_settings``), each with the row's seed. ``package`` is where today's code is, ``code`` stands in
    for its numerics code's digest (tests)."""

    def __init__(self, plan: Plan | None = None, preset: str = PAPER, code: str | None = None,
                 folder: str | Path = PUBLISHED, package: Path = PACKAGE):
        self.plan = workflow_plan() if plan is None else plan
        self.preset = preset
        self.sources = sources(package)
        self.code = digest_of(self.sources) if code is None else code
        self.files = file_digests(self.sources)
        self.folder = Path(folder)
        self._settings: dict[tuple, dict | None] = {}
        self._made_of: dict[str, dict[str, str] | None] = {}

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

    def _todays_settings(self, table: str, row: pd.Series) -> dict | None:
        """``settings``, once per run; None when its model is no longer in the configs."""
        key = (table, *(str(row.get(column)) for column in (*RUN_KEYS, "layer", "seed")))
        if key not in self._settings:
            try:
                self._settings[key] = self.settings(table, row)
            except ConfigError:
                self._settings[key] = None
        return self._settings[key]

    def fingerprint(self, table: str, row: pd.Series, code: str | None = None) -> str | None:
        """The numerics fingerprint of the row's run with today's settings and ``code`` (default: today's)."""
        settings = self._todays_settings(table, row)
        return None if settings is None else numerics_fingerprint(settings, self.code if code is None else code)

    def files_of(self, table: str, row: pd.Series) -> list[str]:
        """The numerics files the row's run depends on today: those its stages and the classes its settings name
        import (``provenance.numerics_files_of``)."""
        settings = self._todays_settings(table, row) or {}
        stages = (SAMPLER_STAGES if table in SAMPLER_TABLES else MUSIC_STAGES if table in self.plan.music_tables
                  else IMAGE_STAGES + ([PRETRAINING_STAGE] if "layer" in settings
                                       or settings.get("model", {}).get("pretrain") else []))
        return numerics_files_of([f"{PACKAGE_NAME}.{stage}" for stage in stages] + targets(settings), self.sources)

    def made_of(self, code: str) -> dict[str, str] | None:
        """The numerics files of the code ``code`` (``folder``/code/<code>.json), None when not kept."""
        if code not in self._made_of:  # once per code, not once per row
            path = code_path(self.folder, code)
            try:
                self._made_of[code] = json.loads(path.read_text())["files"] if path.is_file() else None
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise KeepError(f"{path}: cannot read what the code was made of ({error})") from None
        return self._made_of[code]

    def measurement_fingerprint(self, row: pd.Series, code: str) -> str:
        """The numerics fingerprint of an RNN-RBM run's measurement on whole tunes with today's settings (conf/
        likelihood.yaml) and ``code``: what ``stages.likelihood.measure_frames`` fingerprints, the run's own
        fingerprint among it."""
        settings = fingerprints.music_likelihood_settings(self.plan.likelihood_config(self.preset))
        return numerics_fingerprint({**settings, "measured": row["numerics"]}, code)

    def made_today(self, numerics, code, fingerprint: Callable[[str], str | None],
                   files: Callable[[], list[str]]) -> bool:
        """Whether numbers fingerprinted ``numerics`` by numerics code ``code`` are what today's settings
        (``fingerprint`` of a code) and today's ``files`` would make."""
        if not (isinstance(numerics, str) and isinstance(code, str)) or numerics != fingerprint(code):
            return False
        if code == self.code:
            return True
        made_of = self.made_of(code)
        return made_of is not None and all(made_of.get(path) == self.files[path] for path in files())

    def __call__(self, table: str, row: pd.Series) -> bool:
        if not self.made_today(row.get("numerics"), row.get("code"), lambda code: self.fingerprint(table, row, code),
                               lambda: self.files_of(table, row)):
            return False
        if table not in self.plan.music_tables or not tutorial_table.measured(row):
            return True
        # an RNN-RBM's final row also holds its measurement on whole tunes: stale when that would change
        return self.made_today(row[f"{MEASURED}numerics"], row.get(f"{MEASURED}code"),
                               lambda code: self.measurement_fingerprint(row, code),
                               lambda: numerics_files_of([f"{PACKAGE_NAME}.{MEASUREMENT_STAGE}"], self.sources))


def targets(settings) -> list[str]:
    """The modules of the package that the classes and functions a settings tree names (``_target_``) live in."""
    if isinstance(settings, dict):
        named = settings.get("_target_")
        found = [named.rpartition(".")[0]] if isinstance(named, str) and named.startswith(f"{PACKAGE_NAME}.") else []
        return found + [module for value in settings.values() for module in targets(value)]
    if isinstance(settings, list):
        return [module for value in settings for module in targets(value)]
    return []


def built_line(tables: dict[str, pd.DataFrame], folder: Path, code: str | None) -> str:
    """The start of the table's provenance line: which kept tables and commits, judged against which code (no
    time: rebuilding from the same kept tables at the same numerics code gives the same table, digit for digit)."""
    commits = sorted({str(commit)[:7] for table in tables.values() if "git_commit" in table
                      for commit in table["git_commit"].dropna()})
    line = f"Built from the kept tables in {Path(folder).name}/ (runs at commits {', '.join(commits) or '–'})"
    return line + (f"; current: made with today's paper settings by code whose numerics files the run imports are "
                   f"today's (numerics code {code})" if code else "")


def write_published(folder: str | Path = PUBLISHED, current: tutorial_table.Current | None = None) -> pd.DataFrame:
    """``folder``/tutorial_table.{csv,md} from the kept tables the tutorial table reads; ``current`` decides which
    rows are current (default: ``Today()``)."""
    folder = Path(folder)
    tables = {name: table for name, table in read_kept(folder).items() if name in tutorial_tables()}
    if not tables:
        raise KeepError(f"{folder}: no kept tables (<table>/seed<N>.csv) the tutorial table reads; keep them "
                        f"first: python -m dltutorials.published keep results/<table>.csv")
    current = Today(folder=folder) if current is None else current
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
