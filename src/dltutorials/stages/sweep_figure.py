"""The heat map of a sweep (conf/sweep/), drawn from its table: nothing is trained here.

    python -m dltutorials.stages.sweep_figure results/sweeps/dbn_lr.csv results/sweeps/dbn_lr.png \\
        pretrain_learning_rate finetune_learning_rate

Each cell is a grid point's validation error (%), the mean over its seeds (the
table's ``mean_valid_error``); the point the table selected (lowest of them,
the tutorial's choice in section 10.5) is framed, its test error in the title.
A missing or malformed table ends the process with one line naming the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from dltutorials.plots import save_sweep_heatmap
from dltutorials.stages.curves import read_csv


def heatmap(table: pd.DataFrame, rows: str, columns: str) -> dict:
    """The arguments of ``plots.save_sweep_heatmap`` from a sweep's table, axes in the grid's order."""
    axis = {name: list(pd.unique(table[name])) for name in (rows, columns)}  # the grid's order, as tabulated
    errors = (table.groupby([rows, columns])["mean_valid_error"].first().unstack()
              .reindex(index=axis[rows], columns=axis[columns]))
    chosen = table[table["selected"]]
    point = chosen.iloc[0]
    seeds = table["seed"].nunique()
    label = {name: name.replace("_", " ") for name in (rows, columns)}
    title = (f"{point['sweep']} ({point['model']}, preset {point['preset']}): validation error (%)"
             f"{f', mean of {seeds} seeds' if seeds > 1 else ''}\nframed, the lowest: {label[rows]} {point[rows]:g}, "
             f"{label[columns]} {point[columns]:g} (test error {chosen['test_error'].mean():.2f} %)")
    return {"errors": errors.to_numpy(dtype=float),
            "rows": {"label": label[rows], "values": axis[rows]},
            "columns": {"label": label[columns], "values": axis[columns]},
            "selected": (axis[rows].index(point[rows]), axis[columns].index(point[columns])), "title": title}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path, help="a sweep's table, results/[<preset>/]sweeps/<sweep>.csv")
    parser.add_argument("output", type=Path)
    parser.add_argument("rows", help="the table's column of the pretraining values (the heat map's rows)")
    parser.add_argument("columns", help="the table's column of the fine-tuning values")
    args = parser.parse_args(argv)
    needed = ["sweep", "model", "preset", "seed", args.rows, args.columns, "mean_valid_error", "selected",
              "test_error"]
    try:
        table = read_csv(args.table, needed)
        if not table["selected"].any():
            raise ValueError(f"{args.table}: no row is marked selected")
        save_sweep_heatmap(args.output, **heatmap(table, args.rows, args.columns))
    except (OSError, ValueError) as error:
        sys.exit(f"error: {error}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
