"""RNN-RBM figures from finished runs (``samples.npz``, ``epochs.csv``, ``config.yaml`` of each run folder).

    python -m dltutorials.drawing.music_figures samples OUT.png results/runs/paper/rnnrbm/nottingham/seed1234
    python -m dltutorials.drawing.music_figures monitor OUT.png results/runs/paper/rnnrbm/nottingham/seed*

``samples``: the first run's generated piano rolls and, for comparison, the
start of the first test tune, drawn like the tutorial's figure 12.1;
``monitor``: the training monitor per epoch of every run, with the values
the tutorial printed (section 12.3) for Nottingham.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from dltutorials import drawing
from dltutorials.data.midi import load_tunes
from dltutorials.drawing.plots import save_monitor_curves, save_piano_rolls
from dltutorials.results import rnnrbm_tutorial_trace


def load_config(run_dir: Path) -> dict:
    config_file = run_dir / "config.yaml"
    if not (run_dir / "metrics.json").is_file() or not config_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not a finished RNN-RBM run (needs metrics.json and config.yaml)")
    return OmegaConf.to_container(OmegaConf.load(config_file))


def samples_figure(output: Path, run_dir: Path) -> None:
    cfg = load_config(run_dir)
    with np.load(run_dir / "samples.npz") as arrays:
        samples = arrays["samples"]
    data = cfg["data"]
    panels = [{"title": f"generated piano-roll {i} ({cfg['variant']}, {cfg['preset_name']} preset, seed {cfg['seed']})",
               "roll": roll}
              for i, roll in enumerate(samples, start=1)]
    test = load_tunes(Path(data["prepared_dir"]) / "test.npz", data.get("transposed", False))[0]
    panels.append({"title": f"a {data['name']} test tune (first {min(len(test), samples.shape[1])} frames)",
                   "roll": test[: samples.shape[1]]})
    save_piano_rolls(output, panels, data["dt"], tuple(data["note_range"]))


def monitor_figure(output: Path, run_dirs: list[Path]) -> None:
    curves, dataset = [], None
    for run_dir in run_dirs:
        cfg = load_config(run_dir)
        epochs = pd.read_csv(run_dir / "epochs.csv")
        curves.append({"label": f"{cfg['variant']} ({cfg['preset_name']} preset, seed {cfg['seed']})",
                       "epoch": epochs["epoch"],
                       "monitor": epochs["monitor"]})
        dataset = cfg["data"]["name"]
    reference = rnnrbm_tutorial_trace() if dataset == "nottingham" else None
    save_monitor_curves(output, curves, reference, "tutorial (section 12.3)")


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {
        "samples": lambda output, runs: samples_figure(output, Path(runs[0])),
        "monitor": lambda output, runs: monitor_figure(output, [Path(run) for run in runs]),
    }, "run folders (samples: the first one is drawn)", argv)


if __name__ == "__main__":
    main()
