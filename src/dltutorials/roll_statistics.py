"""What a set of piano rolls looks like, in numbers: how many notes sound per frame, how often a frame is
silent or repeats the one before it, and which pitch classes sound, so generated tunes can be set beside real
ones without listening to them.

A set of rolls is one binary (n_frames, n_notes) roll, a (n_rolls, n_frames, n_notes) array of rolls of one
length (``samples.npz``), or a list of rolls of any lengths (the tunes of ``load_tunes``); column k is MIDI
note ``note_range[0] + k``, as in ``dltutorials.data.midi``.
"""

from __future__ import annotations

import numpy as np

from dltutorials.data.midi import NOTE_RANGE


def checked_rolls(rolls, note_range: tuple[int, int] = NOTE_RANGE) -> list[np.ndarray]:
    """The rolls of a set, one 2-D array each; ValueError for anything that is not binary rolls of the range's
    notes, or for a set without a frame."""
    if isinstance(rolls, np.ndarray):
        if rolls.ndim not in (2, 3):
            raise ValueError(f"piano rolls must be a 2-D roll or a 3-D array of rolls, not {rolls.ndim}-D")
        rolls = [rolls] if rolls.ndim == 2 else list(rolls)
    rolls = [np.asarray(roll) for roll in rolls]
    n_notes = note_range[1] - note_range[0]
    for i, roll in enumerate(rolls):
        if roll.ndim != 2:
            raise ValueError(f"piano roll {i} is {roll.ndim}-D, not (n_frames, n_notes)")
        if roll.shape[1] != n_notes:
            raise ValueError(f"piano roll {i} has {roll.shape[1]} notes per frame, not {n_notes} "
                             f"(MIDI notes {note_range[0]}..{note_range[1] - 1})")
        if not np.isin(roll, (0, 1)).all():
            raise ValueError(f"piano roll {i} is not binary (values other than 0 and 1)")
    if sum(len(roll) for roll in rolls) == 0:
        raise ValueError("no frame in the piano rolls")
    return rolls


def notes_per_frame(rolls, note_range: tuple[int, int] = NOTE_RANGE) -> np.ndarray:
    """Share of frames with 0, 1, 2, ... notes sounding, up to the most any frame has."""
    counts = np.concatenate([roll.sum(axis=1) for roll in checked_rolls(rolls, note_range)]).astype(int)
    return np.bincount(counts) / len(counts)


def empty_frame_share(rolls, note_range: tuple[int, int] = NOTE_RANGE) -> float:
    """Share of frames in which no note sounds."""
    return float(notes_per_frame(rolls, note_range)[0])


def repeated_frame_share(rolls, note_range: tuple[int, int] = NOTE_RANGE) -> float:
    """Share of frames equal to the frame before them in the same roll (silent ones too), among the frames that
    have one: a held chord repeats, a change of note does not. NaN when no roll has two frames."""
    rolls = checked_rolls(rolls, note_range)
    repeats = sum(int((roll[1:] == roll[:-1]).all(axis=1).sum()) for roll in rolls)
    followers = sum(max(len(roll) - 1, 0) for roll in rolls)
    return repeats / followers if followers else float("nan")


def pitch_class_histogram(rolls, note_range: tuple[int, int] = NOTE_RANGE) -> np.ndarray:
    """Share of the sounding notes (one per note and frame) in each pitch class, C = 0 to B = 11; NaN in all 12
    when no note sounds (there is no distribution to compare)."""
    per_note = sum(roll.sum(axis=0) for roll in checked_rolls(rolls, note_range)).astype(float)
    pitch_classes = np.arange(note_range[0], note_range[1]) % 12
    histogram = np.bincount(pitch_classes, weights=per_note, minlength=12)
    total = histogram.sum()
    return histogram / total if total else np.full(12, np.nan)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance between two distributions over the same bins: half the sum of absolute
    differences, the largest difference in probability the two give one set of bins (0: equal, 1: disjoint)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.ndim != 1 or p.shape != q.shape:
        raise ValueError(f"two distributions over the same bins are needed, not shapes {p.shape} and {q.shape}")
    return float(0.5 * np.abs(p - q).sum())
