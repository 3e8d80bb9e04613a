"""The heat map of a sweep (conf/sweep/), drawn from its table: nothing is trained here.

    python -m dltutorials.drawing.sweep_figure heatmap results/sweeps/dbn_lr.png results/sweeps/dbn_lr.csv \\
        pretrain_learning_rate finetune_learning_rate

Each cell is a grid point's validation error (%), the mean over its seeds (the
table's ``mean_valid_error``); the point the table selected (lowest of them,
the tutorial's choice in section 10.5) is framed, its test error in the title.
A missing or malformed table ends the process with one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dltutorials import drawing
from dltutorials.drawing.curves import read_csv
from dltutorials.drawing.plots import save_sweep_heatmap


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


def heatmap_figure(output: Path, inputs: list[str]) -> None:
    """``inputs``: the sweep's table, then its columns of the pretraining and the fine-tuning values."""
    if len(inputs) != 3:
        raise ValueError(f"heatmap needs a sweep's table and its two swept columns, got {inputs}")
    path, rows, columns = Path(inputs[0]), inputs[1], inputs[2]
    table = read_csv(path, ["sweep", "model", "preset", "seed", rows, columns, "mean_valid_error", "selected",
                            "test_error"])
    if not table["selected"].any():
        raise ValueError(f"{path}: no row is marked selected")
    save_sweep_heatmap(output, **heatmap(table, rows, columns))


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {"heatmap": heatmap_figure},
                 "a sweep's table results/[<preset>/]sweeps/<sweep>.csv, then its columns of the pretraining "
                 "values (the heat map's rows) and of the fine-tuning values", argv)


if __name__ == "__main__":
    main()
