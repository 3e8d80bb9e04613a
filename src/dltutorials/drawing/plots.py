"""Figures in the tutorial's style: filters and samples tiled into one grey image (tutorial appendix,
``tile_raster_images``), saved as PNG with matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.colors  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from dltutorials.atomic import atomic_path  # noqa: E402


def scale_to_unit_interval(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Map each row to [0, 1] independently (filters are shown up to a multiplicative constant)."""
    x = x - x.min(axis=1, keepdims=True)
    return x / (x.max(axis=1, keepdims=True) + eps)


def tile_images(rows: np.ndarray, image_shape: tuple[int, int], tile_shape: tuple[int, int],
                spacing: int = 1, scale_rows: bool = True) -> np.ndarray:
    """Lay out the first tile_rows x tile_cols rows of ``rows`` (each an image) in a grid, 1-pixel black gaps."""
    height, width = image_shape
    tile_rows, tile_cols = tile_shape
    if rows.shape[1] != height * width:
        raise ValueError(f"rows have {rows.shape[1]} values, image_shape {image_shape} needs {height * width}")
    rows = scale_to_unit_interval(rows) if scale_rows else rows
    out = np.zeros((tile_rows * (height + spacing) - spacing, tile_cols * (width + spacing) - spacing))
    for i, row in enumerate(rows[: tile_rows * tile_cols]):
        r, c = divmod(i, tile_cols)
        out[r * (height + spacing):r * (height + spacing) + height,
            c * (width + spacing):c * (width + spacing) + width] = row.reshape(height, width)
    return out


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write a [0, 1] grey image as PNG, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        plt.imsave(f, image, cmap="gray", vmin=0.0, vmax=1.0, format="png")


def save_filters(path: str | Path, weight: np.ndarray, image_shape: tuple[int, int] = (28, 28),
                 tile_shape: tuple[int, int] = (10, 10)) -> None:
    """The first 100 hidden units' weight vectors (rows of W) as images."""
    save_image(path, tile_images(weight, image_shape, tile_shape))


def save_samples(path: str | Path, samples: np.ndarray, image_shape: tuple[int, int] = (28, 28)) -> None:
    """``samples`` (n_rows, n_chains, n_visible) in [0, 1]: one row per sampling round, one column per chain."""
    n_rows, n_chains, n_visible = samples.shape
    save_image(path, tile_images(samples.reshape(n_rows * n_chains, n_visible), image_shape, (n_rows, n_chains),
                                 scale_rows=False))


def _save_figure(path: str | Path, figure) -> None:
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            figure.savefig(f, format="png", dpi=110)
    finally:
        plt.close(figure)  # also on failure: pyplot keeps every open figure


def save_hmc_samples(path: str | Path, panels: list[dict], max_points: int = 3000) -> None:
    """One panel per target: draws of two dimensions over the contours of their marginal density.

    Each panel: ``title``, ``draws`` (n, 2), ``dims`` (the two indices) and ``log_density`` (points (..., 2) ->
    unnormalised log-density of the two dimensions' marginal).
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        draws = panel["draws"]
        low, high = np.percentile(draws, 0.5, axis=0), np.percentile(draws, 99.5, axis=0)
        pad = 0.15 * (high - low)
        x = np.linspace(low[0] - pad[0], high[0] + pad[0], 200)
        y = np.linspace(low[1] - pad[1], high[1] + pad[1], 200)
        grid = np.stack(np.meshgrid(x, y), axis=-1)
        log_density = panel["log_density"](grid)
        ax.contour(x, y, np.exp(log_density - log_density.max()), levels=[0.01, 0.05, 0.2, 0.5, 0.8], colors="k",
                   linewidths=0.8)
        shown = draws[np.random.default_rng(0).permutation(len(draws))[:max_points]]
        ax.scatter(shown[:, 0], shown[:, 1], s=3, alpha=0.3, color="tab:blue", linewidths=0)
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(f"x[{panel['dims'][0]}]")
        ax.set_ylabel(f"x[{panel['dims'][1]}]")
    figure.tight_layout()
    _save_figure(path, figure)


def save_hmc_adaptation(path: str | Path, traces: list[dict]) -> None:
    """Step size and moving-average acceptance against the move number, one line per target.

    Each trace: ``label``, ``stepsize`` and ``acceptance`` (per move), ``target_acceptance_rate``, ``burnin``.
    """
    figure, (ax_step, ax_accept) = plt.subplots(2, 1, figsize=(7.0, 6.0), sharex=True)
    for trace in traces:
        line, = ax_step.plot(trace["stepsize"], label=trace["label"], linewidth=1)
        ax_accept.plot(trace["acceptance"], color=line.get_color(), linewidth=1)
        ax_accept.axhline(trace["target_acceptance_rate"], color="k", linestyle=":", linewidth=0.8)
        ax_step.axvline(trace["burnin"], color=line.get_color(), linestyle="--", linewidth=0.6)
    ax_step.set_yscale("log")
    ax_step.set_ylabel("step size")
    ax_step.legend(fontsize=8)
    ax_accept.set_ylabel("moving-average acceptance")
    ax_accept.set_xlabel("HMC move (dashed: end of burn-in)")
    figure.tight_layout()
    _save_figure(path, figure)


def save_piano_rolls(path: str | Path, panels: list[dict], dt: float, note_range: tuple[int, int]) -> None:
    """Piano rolls drawn like the tutorial's figure 12.1: time in seconds on x, MIDI note on y.

    Each panel: ``title`` and ``roll``, a binary (n_frames, n_notes) array.
    """
    figure, axes = plt.subplots(len(panels), 1, figsize=(8.0, 2.6 * len(panels)), squeeze=False, sharex=True)
    for ax, panel in zip(axes[:, 0], panels):
        roll = np.asarray(panel["roll"])
        ax.imshow(roll.T, origin="lower", aspect="auto", interpolation="nearest", cmap="gray_r",
                  extent=(0, dt * len(roll), note_range[0], note_range[1]))
        ax.set_title(panel["title"], fontsize=10)
        ax.set_ylabel("MIDI note number")
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0, dt * max(len(panel["roll"]) for panel in panels))  # the shared axis fits the longest
    figure.tight_layout()
    _save_figure(path, figure)


def save_monitor_curves(path: str | Path, curves: list[dict], reference: dict[int, float] | None = None,
                        reference_label: str = "tutorial") -> None:
    """A per-epoch training monitor, one line per curve (``label``, ``epoch``, ``monitor``), and the
    reference points (epoch -> value; non-finite values are left out) as markers."""
    figure, ax = plt.subplots(figsize=(7.0, 4.0))
    for curve in curves:
        ax.plot(curve["epoch"], curve["monitor"], label=curve["label"], linewidth=1.2)
    if reference:
        epochs = [epoch for epoch, value in sorted(reference.items()) if np.isfinite(value)]
        ax.plot(epochs, [reference[epoch] for epoch in epochs], "k.", label=reference_label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training monitor (nats per frame)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    _save_figure(path, figure)


def save_likelihood_curves(path: str | Path, curves: list[dict]) -> None:
    """Average test log p(v) against epoch, one line per curve (``label``, ``epoch``, ``log_prob``), shaded over
    the band ``low``..``high`` that AIS's uncertainty on log Z gives where both ends are finite; a hollow marker
    where it is open above (three standard errors exceed the mean weight: log Z is then likely underestimated)."""
    figure, ax = plt.subplots(figsize=(7.0, 4.5))
    for curve in curves:
        epoch, log_prob = np.asarray(curve["epoch"]), np.asarray(curve["log_prob"])
        closed = np.isfinite(curve["low"]) & np.isfinite(curve["high"])
        line, = ax.plot(epoch, log_prob, linewidth=1.2, label=curve["label"])
        ax.plot(epoch[closed], log_prob[closed], ".", color=line.get_color(), markersize=7)
        ax.plot(epoch[~closed], log_prob[~closed], "o", color=line.get_color(), markerfacecolor="none",
                markersize=5)
        ax.fill_between(epoch, curve["low"], curve["high"], where=closed, color=line.get_color(), alpha=0.2,
                        linewidth=0)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("average test log p(v) (nats)")
    ax.set_title("Test log-probability per epoch, by AIS (band: log Z's mean -/+ 3 standard errors;\n"
                 "hollow: the band is open above, log Z likely underestimated)", fontsize=9)
    ax.grid(True, linewidth=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    _save_figure(path, figure)


def save_learning_curves(path: str | Path, curves: list[dict]) -> None:
    """Validation error (%) against epoch, one line per run, its best validation marked with a star.

    Each curve: ``label``, ``epoch`` and ``valid_error`` (the logged validations), ``best_epoch``,
    ``best_valid_error`` and ``test_error`` (the best-validation model's).
    """
    figure, ax = plt.subplots(figsize=(7.5, 4.5))
    for curve in curves:
        line, = ax.plot(curve["epoch"], curve["valid_error"], linewidth=1.2,
                        marker="." if len(curve["epoch"]) <= 60 else None, markersize=4)
        ax.plot([curve["best_epoch"]], [curve["best_valid_error"]], "*", color=line.get_color(), markersize=12,
                markeredgecolor="k", markeredgewidth=0.5,
                label=f"{curve['label']}: best epoch {curve['best_epoch']:g}, valid {curve['best_valid_error']:.2f} %, "
                      f"test {curve['test_error']:.2f} %")
        ax.axvline(curve["best_epoch"], color=line.get_color(), linestyle=":", linewidth=0.8)
    ax.set_yscale("log")  # early errors are several times the final ones; the end of training stays readable
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation error (%)")
    ax.set_title("Validation error per epoch (star: best validation, whose model is tested)", fontsize=10)
    ax.grid(True, which="major", linewidth=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    _save_figure(path, figure)


def save_pretraining_costs(path: str | Path, panels: list[dict], title: str) -> None:
    """One panel per layer: the per-epoch training cost, one line per run, and optional reference markers.

    Each panel: ``title``, ``ylabel``, ``lines`` (each ``label``, ``epoch``, ``cost``) and ``references``
    (each ``label``, ``epoch``, ``cost``; drawn as black dots).
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(max(4.5 * len(panels), 6.5), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for line in panel["lines"]:
            ax.plot(line["epoch"], line["cost"], label=line["label"], linewidth=1.2,
                    marker="." if len(line["epoch"]) <= 30 else None)
        for reference in panel["references"]:
            ax.plot(reference["epoch"], reference["cost"], "k.", label=reference["label"])
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(panel["ylabel"])
        ax.grid(True, linewidth=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    _save_figure(path, figure)


def save_headline(path: str | Path, rows: list[dict]) -> None:
    """Test error of each model, ours (mean over seeds, std error bar) beside the tutorial's reported one.

    Each row: ``label``, ``mean``, ``std`` (0 for one seed), ``n_seeds``, ``tutorial`` (None when it reports none).
    """
    figure, ax = plt.subplots(figsize=(7.5, 0.6 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]  # first row on top
    legend = {"ours": "ours (mean ± std over seeds)", "tutorial": "tutorial (2014)"}  # each named once
    for i, row in zip(y, rows):
        ax.errorbar(row["mean"], i + 0.12, xerr=row["std"] or None, fmt="o", color="tab:blue", capsize=3,
                    label=legend.pop("ours", None))
        seeds = f" ({row['n_seeds']} seeds)" if row["n_seeds"] > 1 else ""
        ax.annotate(f"{row['mean']:.2f}{seeds}", (row["mean"], i + 0.12), xytext=(7, 3),
                    textcoords="offset points", fontsize=8, color="tab:blue")
        if row["tutorial"] is not None:
            ax.plot(row["tutorial"], i - 0.12, "D", color="tab:orange", markerfacecolor="none",
                    label=legend.pop("tutorial", None))
            ax.annotate(f"{row['tutorial']:.2f}", (row["tutorial"], i - 0.12), xytext=(7, -10),
                        textcoords="offset points", fontsize=8, color="tab:orange")
        else:
            ax.annotate("no tutorial number", (row["mean"], i - 0.12), xytext=(7, -10),
                        textcoords="offset points", fontsize=8, color="grey")
    ax.set_yticks(y, [row["label"] for row in rows])
    ax.set_xscale("log")  # logistic regression's 7.5 % and the deep nets' ~1 % on one readable axis
    values = [v for row in rows for v in (row["mean"] - row["std"], row["mean"] + row["std"], row["tutorial"])
              if v is not None and v > 0]
    ax.set_xlim(min(values) / 1.15, max(values) * 1.3)  # room for the value labels
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30, 50]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("MNIST test error (%), log scale")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(True, axis="x", which="both", linewidth=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Test error: this reproduction against the tutorial's reported numbers", fontsize=10)
    figure.tight_layout()
    _save_figure(path, figure)


def save_sweep_heatmap(path: str | Path, errors: np.ndarray, rows: dict, columns: dict, selected: tuple[int, int],
                       title: str) -> None:
    """A sweep's validation error (%) over its grid, each cell's value written in it, the selected cell framed.

    ``errors``: (len(rows["values"]), len(columns["values"])), NaN where a point has no run; ``rows`` and
    ``columns``: the axis ``label`` and its ``values`` in the grid's order; ``selected``: (row, column).
    """
    figure, ax = plt.subplots(figsize=(max(1.3 * len(columns["values"]) + 3.2, 7.0), 0.75 * len(rows["values"]) + 2.4))
    finite = errors[np.isfinite(errors)]
    # A bad learning rate leaves ~90 % error, a good one ~1 %: a log scale keeps the good ones apart.
    norm = matplotlib.colors.LogNorm() if finite.size and finite.min() > 0 else None
    image = ax.imshow(errors, cmap="viridis", norm=norm, aspect="auto")
    for (i, j), value in np.ndenumerate(errors):
        if np.isfinite(value):
            dark = image.norm(value) < 0.5  # light text on the dark (low) end of viridis
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if dark else "black", fontweight="bold" if (i, j) == selected else "normal")
    i, j = selected
    ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=3))
    ax.set_xticks(range(len(columns["values"])), [f"{v:g}" for v in columns["values"]])
    ax.set_yticks(range(len(rows["values"])), [f"{v:g}" for v in rows["values"]])
    ax.set_xlabel(columns["label"])
    ax.set_ylabel(rows["label"])
    colorbar = figure.colorbar(image, ax=ax, label="validation error (%)")
    for axis in (colorbar.ax.yaxis.set_major_formatter, colorbar.ax.yaxis.set_minor_formatter):
        axis(matplotlib.ticker.FormatStrFormatter("%g"))  # 20, not 2 x 10^1
    ax.set_title(title, fontsize=10)
    figure.tight_layout()
    _save_figure(path, figure)


def save_grouped_bars(path: str | Path, panels: list[dict], title: str) -> None:
    """Panels of bars side by side, one group per category, one bar per set in each group, stacked vertically.

    Each panel: ``title``, ``xlabel``, ``ylabel``, ``categories`` (the groups' tick labels) and ``bars``, each
    ``label``, ``color`` (the same set keeps its colour from panel to panel) and ``values`` (one per category).
    """
    figure, axes = plt.subplots(len(panels), 1, figsize=(13.0, 3.0 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        width = 0.8 / len(panel["bars"])
        for i, bars in enumerate(panel["bars"]):
            ax.bar(np.arange(len(panel["categories"])) + (i - (len(panel["bars"]) - 1) / 2) * width, bars["values"],
                   width, label=bars["label"], color=bars["color"])
        ax.set_xticks(range(len(panel["categories"])), panel["categories"])
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(panel["ylabel"])
        ax.grid(True, axis="y", linewidth=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, never over them
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    _save_figure(path, figure)
