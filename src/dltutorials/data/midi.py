"""MIDI files <-> piano rolls, as the tutorial's ``midiread`` / ``midiwrite`` (chapter 12).

A piano roll is a binary (n_frames, n_notes) array: frame t covers
``[t dt, (t + 1) dt)`` seconds (``dt = 0.3`` in the tutorial) and column k is
MIDI note ``note_range[0] + k`` (21..108, the 88 piano keys). As in the
tutorial, a note from ``start`` to ``end`` seconds sounds in frames
``ceil(start / dt)`` up to, not including, ``ceil(end / dt)``, so a note that
crosses no frame boundary leaves no trace, and the roll ends with the last
frame in which a note ends. Times within 1e-6 of a frame boundary count as on
it: MIDI ticks give times like 0.8999999 for 0.9 s, whose ``ceil`` would
otherwise move a note by a frame. Drum tracks (unpitched) are left out.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pretty_midi

from dltutorials.atomic import atomic_path
from dltutorials.data.download import DataError

FRAME_SECONDS = 0.3
NOTE_RANGE = (21, 109)  # MIDI notes 21..108
_BOUNDARY_TOLERANCE = 1e-6  # in frames


def _frame(seconds: float, dt: float) -> int:
    return math.ceil(seconds / dt - _BOUNDARY_TOLERANCE)


def read_piano_roll(path: str | Path, dt: float = FRAME_SECONDS,
                    note_range: tuple[int, int] = NOTE_RANGE) -> np.ndarray:
    """The piano roll of a MIDI file, uint8 of shape (n_frames, note_range[1] - note_range[0]).

    Raises DataError, naming the file, for an empty file, a file that is not
    MIDI, or a file with no note inside ``note_range``.
    """
    path = Path(path)
    low, high = note_range
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file, not a MIDI file")
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as error:  # mido and pretty_midi raise many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable MIDI file ({reason})") from None
    notes = [(note.pitch, note.start, note.end) for instrument in midi.instruments if not instrument.is_drum
             for note in instrument.notes if low <= note.pitch < high]
    if not notes:
        raise DataError(f"{path}: no note inside MIDI notes {low}..{high - 1}")
    roll = np.zeros((_frame(max(end for _, _, end in notes), dt), high - low), dtype=np.uint8)
    for pitch, start, end in notes:
        roll[_frame(start, dt):_frame(end, dt), pitch - low] = 1
    return roll


def write_midi(roll: np.ndarray, path: str | Path, dt: float = FRAME_SECONDS,
               note_range: tuple[int, int] = NOTE_RANGE, velocity: int = 100, program: int = 0) -> None:
    """Write a piano roll as a playable MIDI file (atomically): a note held over consecutive frames is one note."""
    roll = np.asarray(roll)
    low, high = note_range
    if roll.ndim != 2 or roll.shape[1] != high - low:
        raise ValueError(f"piano roll must be (n_frames, {high - low}), got shape {roll.shape}")
    active = np.pad(roll > 0, ((1, 1), (0, 0))).astype(np.int8)
    instrument = pretty_midi.Instrument(program=program)
    for column in range(roll.shape[1]):
        changes = np.diff(active[:, column])
        for start, end in zip(np.flatnonzero(changes == 1), np.flatnonzero(changes == -1)):
            instrument.notes.append(pretty_midi.Note(velocity=velocity, pitch=low + column, start=start * dt,
                                                     end=end * dt))
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(instrument)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))


def prepare_split(folder: str | Path, output: str | Path, dt: float = FRAME_SECONDS,
                  note_range: tuple[int, int] = NOTE_RANGE, skip_bad_files: bool = False) -> dict:
    """Every ``*.mid`` tune of a split folder as one ``.npz`` (written atomically): ``frames`` (all tunes'
    piano rolls, one after the other), ``offsets`` (tune i is ``frames[offsets[i]:offsets[i + 1]]``),
    ``names``, and the files ``skipped``.

    A bad file stops with its one-line DataError; with ``skip_bad_files`` it is
    logged, left out and listed in ``skipped``. Returns the counts.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.mid"))
    if not files:
        raise DataError(f"{folder}: no .mid file in this split folder")
    rolls, names, skipped = [], [], []
    for file in files:
        try:
            rolls.append(read_piano_roll(file, dt, note_range))
            names.append(file.name)
        except DataError as error:
            if not skip_bad_files:
                raise
            logging.getLogger(__name__).warning("skipped %s", error)
            skipped.append(str(error))
    if not rolls:
        raise DataError(f"{folder}: every .mid file was skipped as bad ({len(skipped)} files)")
    offsets = np.cumsum([0, *(len(roll) for roll in rolls)])
    with atomic_path(output) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, frames=np.concatenate(rolls), offsets=offsets, names=np.array(names),
                            skipped=np.array(skipped, dtype=str), dt=dt, note_range=np.array(note_range))
    return {"tunes": len(rolls), "frames": int(offsets[-1]), "skipped": len(skipped)}


def load_tunes(path: str | Path) -> list[np.ndarray]:
    """The piano rolls of a prepared split, one (n_frames, n_notes) array per tune."""
    with np.load(path) as split:
        frames, offsets = split["frames"], split["offsets"]
    return [frames[start:end] for start, end in zip(offsets[:-1], offsets[1:])]
