"""MIDI files <-> piano rolls, as the tutorial's ``midiread`` / ``midiwrite`` (chapter 12).

A piano roll is a binary (n_frames, n_notes) array: frame t covers
``[t dt, (t + 1) dt)`` seconds (``dt = 0.3`` in the tutorial) and column k is
MIDI note ``note_range[0] + k`` (21..108, the 88 piano keys). As in the
tutorial, a note from ``start`` to ``end`` seconds sounds in frames
``ceil(start / dt)`` up to, not including, ``ceil(end / dt)``, so a note that
crosses no frame boundary leaves no trace, and the roll ends with the last
frame in which a note ends. Times within 1e-6 of a frame boundary count as on
it: MIDI ticks give times like 0.8999999 for 0.9 s, whose ``ceil`` would
otherwise move a note by a frame. Drum tracks (unpitched) are left out, and
a file of drums only is refused.
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


# Krumhansl-Kessler key profiles (major, minor), from C: the weight of each pitch class in a key.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _load(path: Path) -> pretty_midi.PrettyMIDI:
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file, not a MIDI file")
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as error:  # mido and pretty_midi raise many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable MIDI file ({reason})") from None
    # refused before any key is estimated (no pitched note, no key), and not as "no note inside the range":
    # a drum note's number is an instrument, not a pitch, so the range is not what the user should look at
    drum_notes = sum(len(instrument.notes) for instrument in midi.instruments if instrument.is_drum)
    if drum_notes and not _pitched_notes(midi):
        raise DataError(f"{path}: only drum tracks ({drum_notes} notes, none pitched): "
                        "a piano roll is made of pitched notes")
    return midi


def _pitched_notes(midi: pretty_midi.PrettyMIDI) -> list[pretty_midi.Note]:
    return [note for instrument in midi.instruments if not instrument.is_drum for note in instrument.notes]


def tune_key(midi: pretty_midi.PrettyMIDI) -> tuple[int, str]:
    """(tonic pitch class 0-11, "major" or "minor") of a tune: its first key signature, else estimated.

    The estimate is Krumhansl-Schmuckler's: the key whose profile correlates
    best with the tune's duration-weighted pitch-class histogram.
    """
    if midi.key_signature_changes:
        key_number = min(midi.key_signature_changes, key=lambda k: k.time).key_number
        return key_number % 12, "major" if key_number < 12 else "minor"
    histogram = np.zeros(12)
    for note in _pitched_notes(midi):
        histogram[note.pitch % 12] += note.end - note.start
    scores = {(tonic, mode): np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
              for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)) for tonic in range(12)}
    return max(scores, key=lambda key: np.nan_to_num(scores[key], nan=-1.0))


def shift_to_c(tonic: int, mode: str) -> int:
    """Semitones that move a key to C major (major) or A minor (minor), the smaller way: -6..5."""
    return (((0 if mode == "major" else 9) - tonic + 6) % 12) - 6


def read_piano_roll(path: str | Path, dt: float = FRAME_SECONDS, note_range: tuple[int, int] = NOTE_RANGE,
                    transpose: int = 0) -> np.ndarray:
    """The piano roll of a MIDI file, uint8 of shape (n_frames, note_range[1] - note_range[0]).

    ``transpose`` moves every note by that many semitones first (notes then
    outside ``note_range`` are dropped). Raises DataError, naming the file,
    for an empty file, a file that is not MIDI, a file whose notes are all on
    drum tracks, or a file with no pitched note inside ``note_range``.
    """
    path = Path(path)
    return _roll(path, _load(path), dt, note_range, transpose)


def read_tune(path: str | Path, dt: float = FRAME_SECONDS,
              note_range: tuple[int, int] = NOTE_RANGE) -> tuple[np.ndarray, np.ndarray, int]:
    """(piano roll, the same transposed to C major / A minor, that transposition in semitones)."""
    path = Path(path)
    midi = _load(path)
    shift = shift_to_c(*tune_key(midi))
    return _roll(path, midi, dt, note_range), _roll(path, midi, dt, note_range, shift), shift


def _roll(path: Path, midi: pretty_midi.PrettyMIDI, dt: float, note_range: tuple[int, int],
          transpose: int = 0) -> np.ndarray:
    low, high = note_range
    notes = [(note.pitch + transpose, note.start, note.end) for note in _pitched_notes(midi)
             if low <= note.pitch + transpose < high]
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
    ``transposed`` (the same tunes moved to C major / A minor, same offsets), ``shifts`` (that move in
    semitones per tune), ``names``, and the files ``skipped``.

    A bad file stops with its one-line DataError; with ``skip_bad_files`` it is
    logged, left out and listed in ``skipped``. Returns the counts.
    """
    folder = Path(folder)
    # case-blind, as the archive's extraction: a tune saved as NAME.MID is a tune
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() == ".mid" and not path.name.startswith("."))
    if not files:
        raise DataError(f"{folder}: no .mid file in this split folder")
    rolls, transposed, shifts, names, skipped = [], [], [], [], []
    for file in files:
        try:
            roll, moved, shift = read_tune(file, dt, note_range)
        except DataError as error:
            if not skip_bad_files:
                raise
            logging.getLogger(__name__).warning("skipped %s", error)
            skipped.append(str(error))
            continue
        rolls.append(roll)
        # a note moved out of the range is dropped, so the moved roll may end earlier: pad to share offsets
        transposed.append(np.pad(moved, ((0, len(roll) - len(moved)), (0, 0))))
        shifts.append(shift)
        names.append(file.name)
    if not rolls:
        raise DataError(f"{folder}: every .mid file was skipped as bad ({len(skipped)} files)")
    offsets = np.cumsum([0, *(len(roll) for roll in rolls)])
    with atomic_path(output) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, frames=np.concatenate(rolls), offsets=offsets, transposed=np.concatenate(transposed),
                            shifts=np.array(shifts), names=np.array(names), skipped=np.array(skipped, dtype=str),
                            dt=dt, note_range=np.array(note_range))
    return {"tunes": len(rolls), "frames": int(offsets[-1]), "skipped": len(skipped)}


def load_tunes(path: str | Path, transposed: bool = False) -> list[np.ndarray]:
    """The piano rolls of a prepared split, one (n_frames, n_notes) array per tune; moved to C major /
    A minor if ``transposed``."""
    with np.load(path) as split:
        frames, offsets = split["transposed" if transposed else "frames"], split["offsets"]
    return [frames[start:end] for start, end in zip(offsets[:-1], offsets[1:])]
