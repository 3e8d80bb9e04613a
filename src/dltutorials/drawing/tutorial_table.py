"""The tutorial table: every number the tutorial reports beside ours, with a verdict.

    python -m dltutorials.drawing.tutorial_table table OUT.csv TABLE.csv...    (OUT.md and OUT.html beside OUT.csv)

Rows are described in ``conf/tutorial_table.yaml``: for each number of
``resources/tutorial_results.csv``, the model table and column that hold ours.
Ours is the mean over seeds (pandas), with its standard deviation and the
number of seeds; the verdict compares the mean with the tutorial's number
against the tolerance the project promises. A second section holds numbers
the tutorial does not report (ours only).

Each row also says how many of its seeds are *current*: made by today's code
(and settings). What decides it is a function of a table's name and one of
its rows (``build``'s ``current``): this command's is ``made_by_code``, the
digest of today's numerics code against the row's ``code`` (Snakemake reruns
a run whose settings change, but not one whose code changes);
``dltutorials.published`` passes one that also composes today's settings. A
row with a seed that is not current is *stale*: marked so beside its verdict,
and not counted in the summary line's "within".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from dltutorials import drawing
from dltutorials.atomic import atomic_path, write_text
from dltutorials.config import CONFIG_DIR
from dltutorials.provenance import code_digest
from dltutorials.results import (
    MEASURED,
    PROVENANCE,
    tutorial_monitor_trace,
    tutorial_results,
    tutorial_row,
    tutorial_setting_value,
)

SPEC_PATH = CONFIG_DIR / "tutorial_table.yaml"
COLUMNS = ["section", "model", "dataset", "metric", "unit", "tutorial", "ours_mean", "ours_std", "n_seeds",
           "n_current", "difference", "tolerance", "verdict", "stale", "our_seconds", "tutorial_time",
           "tutorial_hardware"]
# Seconds a run took, summed over the columns its table has (pretraining layers, fine-tuning, sampling);
# finetune_seconds repeats train_seconds and is not among them.
TIME_COLUMNS = ("train_seconds", "pretrain_seconds", "burnin_seconds", "sampling_seconds")
NOT_RUN, NOT_PAPER = "not run", "not the tutorial's protocol"
# Whether a row of a model table (by the table's name) was made by today's code and settings.
Current = Callable[[str, pd.Series], bool]
CURRENT = "_current"  # the column build() adds to its copy of each table: the row's seed is current
# Provenance columns read as text, a measurement's too: a 12-digit hex digest may look like a number ("123e4567...").
TEXT_COLUMNS = {column: str for key in PROVENANCE if key != "versions" for column in (key, f"{MEASURED}{key}")}


def measured(row: pd.Series) -> bool:
    """Whether the row also holds a measurement made apart from its run (an RNN-RBM's on whole tunes, ``MEASURED``
    columns), with provenance of its own."""
    return isinstance(row.get(f"{MEASURED}numerics"), str) and bool(row[f"{MEASURED}numerics"])


def made_by_code(code: str) -> Current:
    """Current when the row's numerics code (its ``code`` column) is ``code``, e.g. today's
    (``provenance.code_digest()``), and so is its measurement's where it holds one; a row made before the digest
    was recorded is not."""
    return lambda table, row: row.get("code") == code and (not measured(row) or row.get(f"{MEASURED}code") == code)


class TableError(ValueError):
    """A table or spec that cannot give the tutorial table; the message names the file or key."""


def load_spec(path: Path = SPEC_PATH) -> dict:
    """The rows of the table (``conf/tutorial_table.yaml``), checked for the keys every row needs."""
    spec = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    for section in ("reported", "ours_only"):
        for i, row in enumerate(spec.get(section) or []):
            missing = {"model", "metric", "table", "column"} - set(row)
            if section == "reported" and "tolerance" not in row:
                missing.add("tolerance")
            if missing:
                raise TableError(f"{path}: {section}[{i}] lacks {sorted(missing)}")
    return spec


def selected_rows(table: pd.DataFrame, row: dict) -> pd.DataFrame:
    """The rows of a model table a spec row reads: its `where` filter, then each run's last epoch if asked."""
    for column, value in (row.get("where") or {}).items():
        if column not in table.columns:
            raise TableError(f"table {row['table']}: no column {column!r} to select {row['metric']} by")
        table = table[table[column].astype(str) == str(value)]
    if row.get("last_epoch"):
        table = table[table["epoch"] == table.groupby(["model", "seed"])["epoch"].transform("max")]
    return table


def run_seconds(runs: pd.DataFrame) -> float:
    """Mean over seeds of a run's wall time: its time columns summed, else its epochs' seconds summed.

    ``runs`` holds every row of the runs (all epochs, all layers), so the
    pretraining-only tables (a row per layer and epoch) add up their epochs.
    """
    columns = [c for c in runs.columns if c.startswith(TIME_COLUMNS)]
    if columns:
        per_row = runs[columns].sum(axis=1, min_count=1)
    elif "epoch_seconds" in runs.columns:
        per_row = runs["epoch_seconds"]
    else:
        return math.nan
    return float(per_row.groupby(runs["seed"]).sum(min_count=1).mean())


def summarise(values: pd.Series) -> tuple[float, float, int]:
    """(mean, standard deviation over seeds (NaN for one seed), number of values)."""
    values = values.dropna().astype(float)
    if values.empty:
        return math.nan, math.nan, 0
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else math.nan, len(values)


def reference_time(model: str, reference: pd.Series | None) -> tuple[str, str]:
    """The tutorial's reported time and hardware for a number: its own row's, else the model's first row's
    (the tutorial gives them once per model, e.g. on the test error and not on the validation error)."""
    rows = tutorial_results().query("model == @model")

    def first(column: str) -> str:
        if reference is not None and isinstance(reference[column], str):
            return reference[column]
        values = rows[column].dropna()
        return values.iloc[0] if len(values) else ""

    return first("reported_time"), first("hardware")


def verdict(preset: str, ours: float, tutorial: float, tolerance: float) -> str:
    if math.isnan(ours):
        return NOT_RUN
    if preset != "paper":
        return f"{NOT_PAPER} (preset {preset})"
    return "within" if abs(ours - tutorial) <= tolerance + 1e-9 else "outside"


def with_current(tables: dict[str, pd.DataFrame], current: Current) -> dict[str, pd.DataFrame]:
    """Each table with a ``CURRENT`` column: ``current(table name, row)`` of each of its rows."""
    out = {}
    for name, table in tables.items():
        table = table.copy()
        table[CURRENT] = [bool(current(name, row)) for _, row in table.iterrows()]
        out[name] = table
    return out


def table_rows(spec_row: dict, section: str, tables: dict[str, pd.DataFrame], preset: str,
               judged: bool = False) -> list[dict]:
    """The rows one spec entry gives: one, or one per reported epoch for a per-epoch trace. ``judged``: the tables
    say which of their rows are current (a ``CURRENT`` column)."""
    model, dataset = spec_row["model"], spec_row.get("dataset", "mnist")
    table = tables.get(spec_row["table"])
    if table is not None and spec_row["column"] not in table.columns:
        raise TableError(f"table {spec_row['table']}: no column {spec_row['column']!r} for {model} "
                         f"{spec_row['metric']}")
    selected = None if table is None else selected_rows(table, spec_row)
    seconds = math.nan
    if selected is not None and not selected.empty:
        # the whole runs the number comes from: the `where` filter without the row and epoch it picks
        run_filter = {k: v for k, v in (spec_row.get("where") or {}).items() if k not in ("row", "epoch")}
        seconds = run_seconds(selected_rows(table, {"table": spec_row["table"], "metric": spec_row["metric"],
                                                    "where": run_filter}))
    own = tutorial_row(model, dataset, spec_row["metric"])
    time, hardware = reference_time(model, own) if section == "reported" else ("", "")
    base = {"section": section, "model": model, "dataset": dataset, "unit": spec_row.get("unit", ""),
            "tolerance": spec_row.get("tolerance", math.nan), "our_seconds": seconds,
            "tutorial_time": time, "tutorial_hardware": hardware}

    if spec_row.get("per_epoch"):
        trace = tutorial_monitor_trace(model, dataset)
        if not trace:
            raise TableError(f"{SPEC_PATH}: {model} {spec_row['metric']}: the tutorial reports no per-epoch trace")
        reference = tutorial_row(model, dataset, f"{spec_row['metric']}_epoch_{len(trace) - 1}")
        unit = reference["unit"] if reference is not None else base["unit"]
        rows = []
        for epoch, tutorial in enumerate(trace):  # the tutorial counts epochs from 0, our tables from 1
            epoch_rows = None if selected is None else selected[selected["epoch"] == epoch + 1]
            rows.append(_row(base, f"{spec_row['metric']}_epoch_{epoch}", unit, tutorial, epoch_rows,
                             spec_row["column"], preset, judged))
        return rows

    tutorial = math.nan
    if section == "reported":
        if spec_row.get("setting"):
            tutorial = tutorial_setting_value(model, dataset, spec_row["setting"])
        else:
            if own is None:
                raise TableError(f"{SPEC_PATH}: the tutorial reports no {model} {dataset} {spec_row['metric']}")
            tutorial, base["unit"] = float(own["value"]), base["unit"] or own["unit"]
        if tutorial is None:
            raise TableError(f"{SPEC_PATH}: no {spec_row['setting']!r} in the tutorial's {model} settings")
    row = _row(base, spec_row["metric"], base["unit"], tutorial, selected, spec_row["column"], preset, judged)
    if section == "ours_only" and row["n_seeds"] == 0:
        return []  # a number the tutorial does not report and this build did not make: no row
    return [row]


def _row(base: dict, metric: str, unit: str, tutorial: float, rows: pd.DataFrame | None, column: str,
         preset: str, judged: bool) -> dict:
    """One row of the table from the rows of a model table that hold ours (one per seed) in ``column``; with
    ``judged``, how many of them are current (their ``CURRENT`` column) and whether any is not, else None."""
    values = pd.Series(dtype=float) if rows is None else rows[column]
    mean, std, n = summarise(values)
    n_current = stale = None
    if judged:
        n_current = 0 if rows is None else int(rows.loc[values.notna(), CURRENT].sum())
        stale = n_current < n
    reported = base["section"] == "reported"
    return {**base, "metric": metric, "unit": unit, "tutorial": tutorial if reported else math.nan,
            "ours_mean": mean, "ours_std": std, "n_seeds": n, "n_current": n_current,
            "difference": mean - tutorial if reported else math.nan,
            "verdict": verdict(preset, mean, tutorial, base["tolerance"]) if reported else "ours only",
            "stale": stale}


def build(tables: dict[str, pd.DataFrame], preset: str, spec: dict | None = None,
          current: Current | None = None) -> pd.DataFrame:
    """The tutorial table from model tables by name (missing tables give "not run" rows). With ``current`` (a
    function of a table's name and one of its rows), each row says how many of its seeds are current
    (``n_current``) and whether any is not (``stale``); without, both are empty."""
    spec = load_spec() if spec is None else spec
    if current is not None:
        tables = with_current(tables, current)
    rows = [row for section in ("reported", "ours_only") for spec_row in spec.get(section) or []
            for row in table_rows(spec_row, section, tables, preset, current is not None)]
    return pd.DataFrame(rows, columns=COLUMNS)


def check_covers_the_tutorial(table: pd.DataFrame) -> None:
    """Every number of tutorial_results.csv must have its row (a per-epoch trace counts by its last epoch)."""
    have = set(zip(table["model"], table["dataset"], table["metric"]))
    missing = [f"{r.model} {r.dataset} {r.metric}" for r in tutorial_results().itertuples()
               if (r.model, r.dataset, r.metric) not in have]
    if missing:
        raise TableError(f"{SPEC_PATH} has no row for the tutorial's {', '.join(missing)}")


# -- Markdown ---------------------------------------------------------------
def number(value: float, digits: int = 4) -> str:
    """At most ``digits`` decimals, no trailing zeros; an en dash for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def is_judged(table: pd.DataFrame) -> bool:
    """Whether the table says which seeds are current (``build`` with ``current``)."""
    return bool(table["n_current"].notna().any())


def current_text(row: pd.Series) -> str:
    """How many of a row's seeds are current, e.g. "2 of 3"; an en dash where not judged or not run."""
    if pd.isna(row["n_current"]) or row["n_seeds"] == 0:
        return "–"
    return f"{int(row['n_current'])} of {row['n_seeds']}"


def verdict_text(row: pd.Series) -> str:
    """The verdict, and ", stale" where a seed of the row is not current."""
    return f"{row['verdict']}, stale" if pd.notna(row["stale"]) and bool(row["stale"]) else row["verdict"]


def ours_text(row: pd.Series) -> str:
    if row["n_seeds"] == 0:
        return NOT_RUN
    spread = f" ± {number(row['ours_std'])}" if row["n_seeds"] > 1 else ""
    return f"{number(row['ours_mean'])}{spread} (n={row['n_seeds']})"


REPORTED_HEADER = ["model", "dataset", "metric", "unit", "tutorial", "ours", "current", "difference", "tolerance",
                   "verdict", "our time", "tutorial's time", "tutorial's hardware"]
OURS_ONLY_HEADER = ["model", "dataset", "metric", "unit", "ours", "current", "our time"]


def display_frames(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two sections as text cells (the Markdown and HTML tables): numbers the tutorial reports, ours only."""
    reported, previous = [], None
    for _, row in table[table["section"] == "reported"].iterrows():
        # times and hardware once per model and setting, not on each of its rows
        times = (duration(row["our_seconds"]), row["tutorial_time"] or "–", row["tutorial_hardware"] or "–")
        shown = times if (row["model"], times) != previous else ("″", "″", "″")
        previous = (row["model"], times)
        reported.append([row["model"], row["dataset"], row["metric"], row["unit"], number(row["tutorial"]),
                         ours_text(row), current_text(row), number(row["difference"]),
                         f"±{number(row['tolerance'])}", verdict_text(row), *shown])
    ours_only = [[row["model"], row["dataset"], row["metric"], row["unit"], ours_text(row), current_text(row),
                  duration(row["our_seconds"])] for _, row in table[table["section"] == "ours_only"].iterrows()]
    return pd.DataFrame(reported, columns=REPORTED_HEADER), pd.DataFrame(ours_only, columns=OURS_ONLY_HEADER)


def summary_line(table: pd.DataFrame) -> str:
    """How many reported numbers are within their tolerance; where the table says which seeds are current, only
    rows whose every seed is current count, and the stale ones are counted apart."""
    reported = table[table["section"] == "reported"]
    if not is_judged(table):
        return (f"{(reported['verdict'] == 'within').sum()} of {len(reported)} reported numbers within the "
                f"promised tolerance (conf/tutorial_table.yaml); ours is the mean over seeds ± their standard "
                f"deviation.")
    stale = reported["stale"].eq(True)
    within = (reported["verdict"].eq("within") & ~stale).sum()
    if stale.any():
        rows = "row" if stale.sum() == 1 else "rows"
        changed = (f"{stale.sum()} {rows} from code or settings that have changed since (marked \"stale\": "
                   f"not every seed current; not counted)")
    else:
        changed = "every seed current"
    return (f"{within} of {len(reported)} reported numbers within the promised tolerance "
            f"(conf/tutorial_table.yaml); {changed}. Ours is the mean over seeds ± their standard deviation; "
            f"\"current\": how many of those seeds today's code and settings made.")


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    return ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns),
            *("| " + " | ".join(map(str, cells)) + " |" for cells in frame.itertuples(index=False))]


def to_markdown(table: pd.DataFrame, preset: str, provenance: str = "") -> str:
    reported, ours_only = display_frames(table)
    lines = [f"# The tutorial's numbers and ours (preset {preset})", ""]
    if provenance:
        lines += [provenance, ""]
    lines += [summary_line(table), "", "## Numbers the tutorial reports", "", *_markdown_table(reported)]
    if len(ours_only):
        lines += ["", "## Numbers the tutorial does not report (ours only)", "", *_markdown_table(ours_only)]
    return "\n".join(lines) + "\n"


def to_html(table: pd.DataFrame, preset: str, provenance: str = "") -> str:
    """A self-contained page of the same tables, for the Snakemake report (which shows HTML, not Markdown)."""
    reported, ours_only = display_frames(table)
    parts = [f"<h1>The tutorial's numbers and ours (preset {escape(preset)})</h1>",
             f"<p>{escape(provenance)}</p>" if provenance else "", f"<p>{escape(summary_line(table))}</p>",
             "<h2>Numbers the tutorial reports</h2>", reported.to_html(index=False, border=0, classes="reported")]
    if len(ours_only):
        parts += ["<h2>Numbers the tutorial does not report (ours only)</h2>",
                  ours_only.to_html(index=False, border=0, classes="ours-only")]
    style = ("body{font-family:sans-serif;font-size:14px} table{border-collapse:collapse} "
             "th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Tutorial table</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(p for p in parts if p) + "\n</body></html>\n")


def provenance(tables: dict[str, pd.DataFrame], built: str | None = None) -> str:
    """When and where the runs were made: hosts, devices and library versions found in the tables. ``built``:
    what the line starts with (default: the time of this build, "from the runs' tables")."""
    frame = pd.concat(tables.values(), ignore_index=True) if tables else pd.DataFrame()

    def found(column: str) -> str:
        return ", ".join(sorted({str(v) for v in frame[column].dropna()})) if column in frame else "–"

    versions = ", ".join(f"{column.split('.', 1)[1]} {found(column)}" for column in sorted(frame.columns)
                         if column.startswith("versions."))
    built = built or f"Built {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from the runs' tables"
    return f"{built}; host {found('host')}, device {found('device')}; {versions}."


def write(tables: dict[str, pd.DataFrame], csv_path: Path, md_path: Path, html_path: Path | None, preset: str,
          current: Current | None = None, built: str | None = None) -> pd.DataFrame:
    """The table as CSV, Markdown and (unless ``html_path`` is None) HTML; ``current`` and ``built`` as in
    ``build`` and ``provenance``."""
    table = build(tables, preset, current=current)
    check_covers_the_tutorial(table)
    line = provenance(tables, built)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_text(md_path, to_markdown(table, preset, line))
    if html_path is not None:
        write_text(html_path, to_html(table, preset, line))
    return table


def read_tables(paths: list[Path]) -> dict[str, pd.DataFrame]:
    """Model tables by name (the file's stem: results/dbn.csv -> dbn)."""
    tables = {}
    for path in paths:
        try:
            tables[Path(path).stem] = pd.read_csv(path, dtype=TEXT_COLUMNS)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise TableError(f"{path}: cannot read the table ({error})") from None
    return tables


def the_tables_preset(tables: dict[str, pd.DataFrame]) -> str:
    """The preset every row of the tables was made under (their ``preset`` column)."""
    presets = {str(preset) for table in tables.values() if "preset" in table for preset in table["preset"].dropna()}
    if len(presets) != 1:
        raise TableError(f"the tables must hold the runs of one preset, not {sorted(presets) or 'none'}")
    return presets.pop()


def draw_table(output: Path, tables: list[str]) -> None:
    """``output`` (the CSV) and, beside it, the Markdown and HTML of the same name, from the model tables; rows
    made by other numerics code than today's (their ``code``) are marked stale."""
    read = read_tables([Path(path) for path in tables])
    write(read, output, output.with_suffix(".md"), output.with_suffix(".html"), the_tables_preset(read),
          made_by_code(code_digest()))


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {"table": draw_table}, "the model tables, e.g. results/logreg.csv results/dbn.csv "
                 "(the .md and .html are written beside the output .csv)", argv)


if __name__ == "__main__":
    main()
