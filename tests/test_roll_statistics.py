"""What a set of piano rolls looks like in numbers (dltutorials/roll_statistics.py), against counts done by hand on
small rolls, and the music figure that draws them (music_figures statistics)."""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pytest
from omegaconf import OmegaConf

from dltutorials.drawing import music_figures
from dltutorials.roll_statistics import (
    empty_frame_share,
    notes_per_frame,
    pitch_class_histogram,
    repeated_frame_share,
    total_variation,
)


def roll(*frames: tuple[int, ...]) -> np.ndarray:
    """An 88-note roll whose frames sound the MIDI notes given (column = note - 21)."""
    out = np.zeros((len(frames), 88), dtype=np.int8)
    for t, notes in enumerate(frames):
        out[t, [note - 21 for note in notes]] = 1
    return out


C4, E4, G4, A0, C8 = 60, 64, 67, 21, 108
# A tune of 5 frames: a C major chord held for two frames, silence, C4 alone, silence again.
TUNE = roll((C4, E4, G4), (C4, E4, G4), (), (C4,), ())
# Another of 3 frames: the lowest and the highest key together, then the same again, then A0 alone.
OTHER = roll((A0, C8), (A0, C8), (A0,))


def test_notes_per_frame_counts_the_frames_with_each_number_of_notes():
    # TUNE's frames have 3, 3, 0, 1, 0 notes
    np.testing.assert_allclose(notes_per_frame(TUNE), [2 / 5, 1 / 5, 0, 2 / 5])
    # with OTHER (2, 2, 1): 8 frames, of which two with 0 notes, two with 1, two with 2, two with 3
    np.testing.assert_allclose(notes_per_frame([TUNE, OTHER]), [2 / 8, 2 / 8, 2 / 8, 2 / 8])


def test_the_empty_frames_share():
    assert empty_frame_share(TUNE) == pytest.approx(2 / 5)
    assert empty_frame_share([TUNE, OTHER]) == pytest.approx(2 / 8)
    assert empty_frame_share(OTHER) == 0


def test_a_repeated_frame_equals_the_one_before_it_in_the_same_roll():
    # TUNE: frame 2 repeats frame 1; 3 (silence), 4 (C4), 5 (silence) do not: 1 of 4 frames that have a previous one
    assert repeated_frame_share(TUNE) == pytest.approx(1 / 4)
    # OTHER: frame 2 repeats frame 1; with TUNE, 2 of 4 + 2 frames. TUNE's last frame (silence) is not compared
    # with OTHER's first, nor the rolls' frames across a 3-D array's rolls
    assert repeated_frame_share([TUNE, OTHER]) == pytest.approx(2 / 6)
    silent_then_held = np.stack([roll((), (), (C4,)), roll((C4,), (C4,), (C4,))])
    # roll 1: frame 2 repeats (silence counts); roll 2: frames 2 and 3; its first frame equals roll 1's last, but
    # in another roll
    assert repeated_frame_share(silent_then_held) == pytest.approx(3 / 4)
    assert np.isnan(repeated_frame_share(roll((C4,)))), "one frame: nothing to repeat"


def test_the_pitch_class_histogram_shares_the_sounding_notes_out_by_pitch_class():
    # TUNE sounds C4 three times, E4 twice, G4 twice: 7 notes
    expected = np.zeros(12)
    expected[[0, 4, 7]] = [3 / 7, 2 / 7, 2 / 7]
    np.testing.assert_allclose(pitch_class_histogram(TUNE), expected)
    # OTHER: A0 (MIDI 21, pitch class 9) three times, C8 (MIDI 108, pitch class 0) twice; with TUNE: 12 notes
    expected = np.zeros(12)
    expected[[0, 4, 7, 9]] = [5 / 12, 2 / 12, 2 / 12, 3 / 12]
    np.testing.assert_allclose(pitch_class_histogram([TUNE, OTHER]), expected)
    assert np.isnan(pitch_class_histogram(roll((), ()))).all(), "no note: no distribution"


def test_total_variation_is_half_the_summed_absolute_difference():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert total_variation(p, q) == pytest.approx(0.5)  # (0.25 + 0.25 + 0.5) / 2
    assert total_variation(q, p) == pytest.approx(0.5)
    assert total_variation(p, p) == 0
    assert total_variation([1, 0], [0, 1]) == pytest.approx(1.0), "disjoint"
    # TUNE's pitch classes (C 3/7, E 2/7, G 2/7) against C4 alone (C 1): (4/7 + 2/7 + 2/7) / 2
    assert total_variation(pitch_class_histogram(TUNE), pitch_class_histogram(roll((C4,)))) == pytest.approx(4 / 7)


@pytest.mark.parametrize("rolls, message", [
    (np.zeros(88), "must be a 2-D roll or a 3-D array of rolls, not 1-D"),
    (np.zeros((2, 3, 4, 88)), "not 4-D"),
    ([np.zeros((3, 88)), np.zeros(88)], "piano roll 1 is 1-D"),
    (np.zeros((3, 12)), "piano roll 0 has 12 notes per frame, not 88 \\(MIDI notes 21..108\\)"),
    (np.full((3, 88), 0.5), "piano roll 0 is not binary"),
    ([TUNE, 2 * TUNE], "piano roll 1 is not binary"),
    (np.zeros((0, 88)), "no frame"),
    ([], "no frame"),
])
def test_bad_rolls_are_refused_naming_what_is_wrong(rolls, message):
    for statistic in (notes_per_frame, empty_frame_share, repeated_frame_share, pitch_class_histogram):
        with pytest.raises(ValueError, match=message):
            statistic(rolls)


def test_total_variation_needs_two_distributions_over_the_same_bins():
    with pytest.raises(ValueError, match="same bins"):
        total_variation(np.ones(12) / 12, np.ones(11) / 11)
    with pytest.raises(ValueError, match="same bins"):
        total_variation(np.ones((2, 6)) / 12, np.ones((2, 6)) / 12)


def fake_run(run_dir, variant: str, transposed: bool, samples: np.ndarray, prepared_dir) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({}))
    OmegaConf.save({"variant": variant, "seed": 1, "preset_name": "tiny",
                    "data": {"name": "nottingham", "prepared_dir": str(prepared_dir), "transposed": transposed,
                             "dt": 0.3, "note_range": [21, 109]}}, run_dir / "config.yaml")
    np.savez(run_dir / "samples.npz", samples=samples)


def test_the_statistics_figure_sets_every_variant_beside_the_test_tunes_in_its_key(tmp_path, monkeypatch):
    # the test tunes TUNE and OTHER; "moved to C major" here: TUNE and TUNE's first 3 frames (C 5, E 4, G 4 of 13)
    np.savez(tmp_path / "test.npz", frames=np.concatenate([TUNE, OTHER]), transposed=np.concatenate([TUNE, TUNE[:3]]),
             offsets=np.array([0, 5, 8]))
    fake_run(tmp_path / "tutorial", "tutorial", False, TUNE[None], tmp_path)
    fake_run(tmp_path / "improved", "improved", True, TUNE[None], tmp_path)
    fake_run(tmp_path / "clipped", "clipped", False, np.zeros((2, 6, 88), dtype=int), tmp_path)  # silent
    drawn = {}
    monkeypatch.setattr(music_figures, "save_grouped_bars", lambda output, panels, title: drawn.update(panels=panels))
    music_figures.statistics_figure(tmp_path / "unused.png", [tmp_path / name for name in ("tutorial", "improved",
                                                                                           "clipped")])
    notes, shares, own_keys, in_c = drawn["panels"]
    assert [bars["label"] for bars in notes["bars"]] == [
        "nottingham test tunes: 2 tunes, 8 frames", "tutorial (seed 1), samples: 1 x 5 frames",
        "improved (seed 1), samples: 1 x 5 frames", "clipped (seed 1), samples: 2 x 6 frames"]
    np.testing.assert_allclose(notes["bars"][0]["values"], [2 / 8, 2 / 8, 2 / 8, 2 / 8])
    np.testing.assert_allclose(notes["bars"][3]["values"], [1, 0, 0, 0], err_msg="padded to the most notes")
    np.testing.assert_allclose(shares["bars"][0]["values"], [2 / 8, 2 / 6])
    # TUNE (C 3/7, E 2/7, G 2/7) against the test tunes (C 5/12, E 2/12, G 2/12, A 3/12):
    # (1/84 + 10/84 + 10/84 + 21/84) / 2 = 0.25; against the moved ones (C 5/13, E 4/13, G 4/13): 4/91 = 0.044
    assert [bars["label"] for bars in own_keys["bars"]] == [
        "nottingham test tunes: 2 tunes, 8 frames, in their own keys",
        "tutorial (seed 1), samples: 1 x 5 frames; total variation to the test tunes 0.250",
        "clipped (seed 1), samples: 2 x 6 frames; total variation to the test tunes undefined"]
    assert [bars["label"] for bars in in_c["bars"]] == [
        "nottingham test tunes: 2 tunes, 8 frames, moved to C major / A minor",
        "improved (seed 1), samples: 1 x 5 frames; total variation to the test tunes 0.044"]
    assert [bars["color"] for bars in in_c["bars"]] == [music_figures.TEST_COLOR, "C1"], "a variant keeps its colour"


def test_the_statistics_figure_is_drawn_from_the_command_line(tmp_path):
    frames = np.concatenate([TUNE, OTHER])
    np.savez(tmp_path / "test.npz", frames=frames, transposed=frames, offsets=np.array([0, 5, 8]))
    fake_run(tmp_path / "tutorial", "tutorial", False, np.random.default_rng(0).integers(0, 2, (2, 6, 88)), tmp_path)
    fake_run(tmp_path / "improved", "improved", True, np.zeros((2, 6, 88), dtype=int), tmp_path)
    output = tmp_path / "statistics.png"
    music_figures.main(["statistics", str(output), str(tmp_path / "tutorial"), str(tmp_path / "improved")])
    image = matplotlib.image.imread(output)
    assert image[..., :3].std() > 0.05, "not blank"
    assert image.shape[0] == 4 * 3 * 110, "4 panels: notes per frame, shares, pitch classes in each key"
