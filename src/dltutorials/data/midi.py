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

Beat-synchronous frames (``frames_per_quarter_note``, as Boulanger-Lewandowski
et al. 2012 preprocess: 2, one frame per eighth note) follow the file's own
beat instead of the clock: frame t covers quarter notes ``[t / f, (t + 1) / f)``
counted in MIDI ticks (``resolution`` ticks per quarter note, whatever the
tempo), with the same rule: a note from tick a to tick b sounds in frames
``ceil(a f / resolution)`` to ``ceil(b f / resolution) - 1``.
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
# Where a transposed tune's minor key goes: A minor (C major's relative, the default) or C minor (as
# Boulanger-Lewandowski et al. 2012); its tonic's pitch class.
MINOR_KEY_TONICS = {"A": 9, "C": 0}


def _frame(position: float) -> int:
    """The first frame that starts at or after ``position`` (in frames)."""
    return math.ceil(position - _BOUNDARY_TOLERANCE)


def check_frames(dt: float, frames_per_quarter_note: int | None, minor_key: str = "A") -> None:
    """The frame settings ``read_tune`` takes; a ValueError naming the bad one."""
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
        raise ValueError(f"dt must be a frame length in seconds > 0, got {dt!r}")
    if frames_per_quarter_note is not None and (isinstance(frames_per_quarter_note, bool) or not isinstance(
            frames_per_quarter_note, int) or frames_per_quarter_note < 1):
        raise ValueError("frames_per_quarter_note must be null (frames of dt seconds) or a whole number of frames "
                         f"per quarter note >= 1 (2: eighth notes), got {frames_per_quarter_note!r}")
    if minor_key not in MINOR_KEY_TONICS:
        raise ValueError(f"minor_key must be one of {sorted(MINOR_KEY_TONICS)} (where a minor tune is moved), "
                         f"got {minor_key!r}")


def _frame_clock(midi: pretty_midi.PrettyMIDI, dt: float, frames_per_quarter_note: int | None):
    """A time in seconds as a position in frames: of dt seconds, or of 1 / frames_per_quarter_note quarter notes
    of the file's beat (its ticks, so a change of tempo moves the frames with the music)."""
    if frames_per_quarter_note is None:
        return lambda seconds: seconds / dt
    return lambda seconds: midi.time_to_tick(seconds) * frames_per_quarter_note / midi.resolution


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


def shift_to_c(tonic: int, mode: str, minor_key: str = "A") -> int:
    """Semitones that move a key to C major (major) or to ``minor_key`` minor (minor: A, C major's relative, or
    C), the smaller way: -6..5."""
    return (((0 if mode == "major" else MINOR_KEY_TONICS[minor_key]) - tonic + 6) % 12) - 6


def read_piano_roll(path: str | Path, dt: float = FRAME_SECONDS, note_range: tuple[int, int] = NOTE_RANGE,
                    transpose: int = 0, frames_per_quarter_note: int | None = None) -> np.ndarray:
    """The piano roll of a MIDI file, uint8 of shape (n_frames, note_range[1] - note_range[0]).

    ``transpose`` moves every note by that many semitones first (notes then
    outside ``note_range`` are dropped); ``frames_per_quarter_note`` gives
    frames that follow the beat instead of ``dt``. Raises DataError, naming the file,
    for an empty file, a file that is not MIDI, a file whose notes are all on
    drum tracks, or a file with no pitched note inside ``note_range``.
    """
    check_frames(dt, frames_per_quarter_note)
    path = Path(path)
    midi = _load(path)
    return _roll(path, midi, _frame_clock(midi, dt, frames_per_quarter_note), note_range, transpose)


def read_tune(path: str | Path, dt: float = FRAME_SECONDS, note_range: tuple[int, int] = NOTE_RANGE,
              frames_per_quarter_note: int | None = None,
              minor_key: str = "A") -> tuple[np.ndarray, np.ndarray, int]:
    """(piano roll, the same transposed to C major / ``minor_key`` minor, that transposition in semitones)."""
    check_frames(dt, frames_per_quarter_note, minor_key)
    path = Path(path)
    midi = _load(path)
    clock = _frame_clock(midi, dt, frames_per_quarter_note)
    shift = shift_to_c(*tune_key(midi), minor_key)
    return _roll(path, midi, clock, note_range), _roll(path, midi, clock, note_range, shift), shift


def _roll(path: Path, midi: pretty_midi.PrettyMIDI, clock, note_range: tuple[int, int],
          transpose: int = 0) -> np.ndarray:
    low, high = note_range
    notes = [(note.pitch + transpose, _frame(clock(note.start)), _frame(clock(note.end)))
             for note in _pitched_notes(midi) if low <= note.pitch + transpose < high]
    if not notes:
        raise DataError(f"{path}: no note inside MIDI notes {low}..{high - 1}")
    roll = np.zeros((max(end for _, _, end in notes), high - low), dtype=np.uint8)
    for pitch, start, end in notes:
        roll[start:end, pitch - low] = 1
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
                  note_range: tuple[int, int] = NOTE_RANGE, skip_bad_files: bool = False,
                  frames_per_quarter_note: int | None = None, minor_key: str = "A") -> dict:
    """Every ``*.mid`` tune of a split folder as one ``.npz`` (written atomically): ``frames`` (all tunes'
    piano rolls, one after the other), ``offsets`` (tune i is ``frames[offsets[i]:offsets[i + 1]]``),
    ``transposed`` (the same tunes moved to C major / ``minor_key`` minor, same offsets), ``shifts`` (that
    move in semitones per tune), ``names``, and the files ``skipped``; the frames' settings beside them
    (``frames_per_quarter_note`` 0: frames of ``dt`` seconds).

    A bad file stops with its one-line DataError; with ``skip_bad_files`` it is
    logged, left out and listed in ``skipped``. Returns the counts.
    """
    check_frames(dt, frames_per_quarter_note, minor_key)
    folder = Path(folder)
    # case-blind, as the archive's extraction: a tune saved as NAME.MID is a tune
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() == ".mid" and not path.name.startswith("."))
    if not files:
        raise DataError(f"{folder}: no .mid file in this split folder")
    rolls, transposed, shifts, names, skipped = [], [], [], [], []
    for file in files:
        try:
            roll, moved, shift = read_tune(file, dt, note_range, frames_per_quarter_note, minor_key)
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
                            dt=dt, note_range=np.array(note_range),
                            frames_per_quarter_note=frames_per_quarter_note or 0, minor_key=minor_key)
    return {"tunes": len(rolls), "frames": int(offsets[-1]), "skipped": len(skipped)}


def load_tunes(path: str | Path, transposed: bool = False) -> list[np.ndarray]:
    """The piano rolls of a prepared split, one (n_frames, n_notes) array per tune; moved to C major /
    A minor if ``transposed``."""
    with np.load(path) as split:
        frames, offsets = split["transposed" if transposed else "frames"], split["offsets"]
    return [frames[start:end] for start, end in zip(offsets[:-1], offsets[1:])]
