"""RNN-RBM figures from finished runs (``samples.npz``, ``epochs.csv``, ``config.yaml`` of each run folder).

    python -m dltutorials.drawing.music_figures samples OUT.png results/runs/paper/rnnrbm/nottingham/seed1234
    python -m dltutorials.drawing.music_figures monitor OUT.png results/runs/paper/rnnrbm/nottingham/seed*
    python -m dltutorials.drawing.music_figures statistics OUT.png results/runs/paper/rnnrbm/nottingham/*/seed1234

``samples``: the first run's generated piano rolls and, for comparison, the
start of the first test tune, drawn like the tutorial's figure 12.1;
``monitor``: the training monitor per epoch of every run, with the values
the tutorial printed (section 12.3) for Nottingham; ``statistics``: each run's
generated rolls beside the test tunes in numbers (``roll_statistics``): notes
per frame, the shares of empty and repeated frames, and the pitch classes with
the total variation distance between the samples' and the test tunes', the
test tunes in the key the run trained in (``data.transposed``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from dltutorials import drawing, roll_statistics
from dltutorials.data.midi import load_tunes
from dltutorials.drawing.plots import save_grouped_bars, save_monitor_curves, save_piano_rolls
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


PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TEST_COLOR = "0.35"


def bar_set(roll_set: dict, values, label: str | None = None) -> dict:
    """A set's bars in one panel (plots.save_grouped_bars), in the set's colour."""
    return {"label": label or roll_set["label"], "color": roll_set["color"], "values": values}


def frame_panels(sets: list[dict], note_range: tuple[int, int]) -> list[dict]:
    """Notes per frame, and the shares of empty and repeated frames, of every set."""
    notes = [roll_statistics.notes_per_frame(roll_set["rolls"], note_range) for roll_set in sets]
    most = max(len(shares) for shares in notes)
    return [
        {"title": "Notes sounding per frame", "xlabel": "notes in the frame", "ylabel": "share of frames",
         "categories": [str(n) for n in range(most)],
         "bars": [bar_set(roll_set, np.pad(shares, (0, most - len(shares)))) for roll_set, shares in zip(sets, notes)]},
        {"title": "Silent frames, and frames equal to the one before (within a tune or sample)", "xlabel": "",
         "ylabel": "share of frames", "categories": ["empty frames", "frames equal to the previous one"],
         "bars": [bar_set(roll_set, [roll_statistics.empty_frame_share(roll_set["rolls"], note_range),
                                     roll_statistics.repeated_frame_share(roll_set["rolls"], note_range)])
                  for roll_set in sets]}]


def pitch_class_panel(test: dict, runs: list[dict], key: str, note_range: tuple[int, int]) -> dict:
    """The pitch classes of the test tunes in one key and of the runs trained in it, each run's total variation
    distance to the test tunes' in its label."""
    reference = roll_statistics.pitch_class_histogram(test["rolls"], note_range)
    panel_bars = [bar_set(test, reference)]
    for run in runs:
        histogram = roll_statistics.pitch_class_histogram(run["rolls"], note_range)
        distance = roll_statistics.total_variation(histogram, reference)  # NaN where a run's samples are silent
        panel_bars.append(bar_set(run, histogram, f"{run['label']}; total variation to the test tunes "
                                                  + (f"{distance:.3f}" if np.isfinite(distance) else "undefined")))
    return {"title": f"Pitch classes (share of sounding notes), test tunes {key}", "xlabel": "pitch class",
            "ylabel": "share of notes", "categories": PITCH_CLASSES, "bars": panel_bars}


def statistics_figure(output: Path, run_dirs: list[Path]) -> None:
    runs, tests = [], {}  # tests: data.transposed -> the test tunes in that key
    for position, run_dir in enumerate(run_dirs):
        cfg = load_config(run_dir)
        data, transposed = cfg["data"], bool(cfg["data"].get("transposed", False))
        with np.load(run_dir / "samples.npz") as arrays:
            samples = arrays["samples"]
        if transposed not in tests:
            tests[transposed] = load_tunes(Path(data["prepared_dir"]) / "test.npz", transposed)
        runs.append({"label": f"{cfg['variant']} (seed {cfg['seed']}), samples: {len(samples)} x "
                              f"{samples.shape[1]} frames", "color": f"C{position}", "rolls": samples,
                     "transposed": transposed})
    note_range = tuple(data["note_range"])
    keys = {False: "in their own keys", True: "moved to C major / A minor"}
    tunes = next(iter(tests.values()))
    test = {"label": f"{data['name']} test tunes: {len(tunes)} tunes, {sum(map(len, tunes))} frames",
            "color": TEST_COLOR, "rolls": tunes}
    # moving a tune to another key changes no frame's note count (no note leaves the range): one test set will do
    panels = frame_panels([test, *runs], note_range)
    panels += [pitch_class_panel({**test, "label": f"{test['label']}, {keys[transposed]}", "rolls": in_key},
                                 [run for run in runs if run["transposed"] == transposed], keys[transposed],
                                 note_range)
               for transposed, in_key in tests.items()]
    save_grouped_bars(output, panels, f"Generated tunes against the {data['name']} test tunes, in numbers "
                                      f"({cfg['preset_name']} preset)")


def main(argv: list[str] | None = None) -> None:
    drawing.main(__doc__, {
        "samples": lambda output, runs: samples_figure(output, Path(runs[0])),
        "monitor": lambda output, runs: monitor_figure(output, [Path(run) for run in runs]),
        "statistics": lambda output, runs: statistics_figure(output, [Path(run) for run in runs]),
    }, "run folders (samples: the first one is drawn; statistics: one per variant)", argv)


if __name__ == "__main__":
    main()
