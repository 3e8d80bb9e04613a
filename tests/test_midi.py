"""MIDI <-> piano rolls (tutorial chapter 12's midiread / midiwrite), on files the tests write themselves."""

from __future__ import annotations

import re

import mido
import numpy as np
import pretty_midi
import pytest

from dltutorials.data.download import DataError
from dltutorials.data.midi import (
    check_frames,
    load_tunes,
    prepare_split,
    read_piano_roll,
    read_tune,
    shift_to_c,
    tune_key,
    write_midi,
)


def write_notes(path, notes, drum_notes=()):
    """A MIDI file with the given (pitch, start, end) notes, written with pretty_midi itself."""
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes]
    midi.instruments.append(piano)
    if drum_notes:
        drums = pretty_midi.Instrument(program=0, is_drum=True)
        drums.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in drum_notes]
        midi.instruments.append(drums)
    midi.write(str(path))
    return path


def test_the_tutorials_frame_rule(tmp_path):
    """A note sounds in frames ceil(start / dt) .. ceil(end / dt) - 1; notes outside 21..108 are dropped."""
    path = write_notes(tmp_path / "hand.mid", [
        (21, 0.0, 0.3),     # frame 0, first column
        (60, 0.45, 1.0),    # ceil(1.5) = 2 .. ceil(3.33) = 4: frames 2, 3
        (62, 0.1, 0.25),    # ceil(0.33) = 1 .. ceil(0.83) = 1: crosses no boundary, leaves no trace
        (64, 0.6, 0.9),     # on the boundaries: frame 2 only
        (108, 1.2, 1.5),    # frame 4, last column
        (20, 0.0, 3.0),     # below A0: dropped, and does not lengthen the roll
        (109, 0.0, 3.0),    # above C8: dropped
    ], drum_notes=[(40, 0.0, 3.0)])  # unpitched: dropped
    roll = read_piano_roll(path)
    expected = np.zeros((5, 88), dtype=np.uint8)
    expected[0, 0] = 1
    expected[2:4, 60 - 21] = 1
    expected[2, 64 - 21] = 1
    expected[4, 108 - 21] = 1
    assert roll.dtype == np.uint8
    np.testing.assert_array_equal(roll, expected)


def test_round_trip(tmp_path):
    """A roll written as MIDI reads back unchanged; held notes become one MIDI note each."""
    rng = np.random.default_rng(0)
    roll = (rng.random((60, 88)) < 0.1).astype(np.uint8)
    roll[-1, 5] = 1  # the roll ends where its last note does
    write_midi(roll, tmp_path / "roll.mid")
    np.testing.assert_array_equal(read_piano_roll(tmp_path / "roll.mid"), roll)
    held = np.zeros((10, 88), dtype=np.uint8)
    held[2:7, 40] = 1
    held[8:10, 40] = 1
    write_midi(held, tmp_path / "held.mid")
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "held.mid")).instruments[0].notes
    assert [(n.pitch, round(n.start, 6), round(n.end, 6)) for n in notes] == [(61, 0.6, 2.1), (61, 2.4, 3.0)]
    assert not list(tmp_path.glob("*.part"))


def test_a_roll_of_the_wrong_width_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"must be \(n_frames, 88\), got shape \(4, 80\)"):
        write_midi(np.zeros((4, 80)), tmp_path / "x.mid")
    assert not list(tmp_path.iterdir()), "nothing half-written"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file, not a MIDI file"),
    (np.random.default_rng(1).bytes(500), "not a readable MIDI file"),
    ("only_outside", "no note inside MIDI notes 21..108"),
])
def test_bad_files_are_named_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.mid"
    if content == "only_outside":
        write_notes(path, [(10, 0.0, 1.0), (120, 0.0, 1.0)])
    else:
        path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_piano_roll(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "\n" not in str(error.value)


def test_a_drums_only_file_is_refused_as_such(tmp_path):
    """Drum notes 36..42 lie inside 21..108 but are no pitches: the message names the drums, not the note range."""
    (tmp_path / "train").mkdir()
    path = write_notes(tmp_path / "train" / "drums.mid", [],
                       drum_notes=[(36, 0.0, 0.6), (38, 0.6, 1.2), (42, 0.0, 1.2)])
    message = f"{path}: only drum tracks (3 notes, none pitched): a piano roll is made of pitched notes"
    for read in (read_piano_roll, read_tune, lambda path: prepare_split(path.parent, tmp_path / "train.npz")):
        with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
            read(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"], "nothing written"


def test_drums_beside_pitched_notes_outside_the_range_keep_the_range_message(tmp_path):
    """Some pitched notes, none in 21..108: the range is the cause, whatever drums there are."""
    path = write_notes(tmp_path / "low.mid", [(10, 0.0, 1.0), (120, 0.0, 1.0)], drum_notes=[(36, 0.0, 0.6)])
    for read in (read_piano_roll, read_tune):
        with pytest.raises(DataError, match=f"^{re.escape(f'{path}: no note inside MIDI notes 21..108')}$"):
            read(path)


def test_a_nottingham_tune(shared_data):
    tunes = sorted((shared_data / "nottingham" / "train").glob("*.mid"))
    assert len(tunes) == 694
    roll = read_piano_roll(tunes[0])
    assert roll.ndim == 2 and roll.shape[1] == 88 and roll.shape[0] > 20
    assert set(np.unique(roll)) == {0, 1}
    assert 1 <= roll.sum(axis=1).max() <= 10, "melody and chords: a few notes at a time"


def make_split(folder, bad=None):
    folder.mkdir()
    write_notes(folder / "a.mid", [(60, 0.0, 0.9)])  # 3 frames
    write_notes(folder / "b.mid", [(62, 0.0, 0.6), (64, 0.3, 1.5)])  # 5 frames
    if bad is not None:
        (folder / "c.mid").write_bytes(bad)
    return folder


def test_a_split_becomes_one_file_with_offsets(tmp_path):
    counts = prepare_split(make_split(tmp_path / "train"), tmp_path / "train.npz")
    assert counts == {"tunes": 2, "frames": 8, "skipped": 0}
    tunes = load_tunes(tmp_path / "train.npz")
    np.testing.assert_array_equal(tunes[0], read_piano_roll(tmp_path / "train" / "a.mid"))
    np.testing.assert_array_equal(tunes[1], read_piano_roll(tmp_path / "train" / "b.mid"))
    with np.load(tmp_path / "train.npz") as split:
        assert list(split["offsets"]) == [0, 3, 8] and list(split["names"]) == ["a.mid", "b.mid"]


def test_a_tune_saved_with_an_upper_case_suffix_is_read(tmp_path):
    """The archive's extraction keeps ``*.MID`` files (its match is case-blind): the split reads them too."""
    folder = make_split(tmp_path / "train")
    (folder / "b.mid").rename(folder / "B.MID")
    assert prepare_split(folder, tmp_path / "train.npz") == {"tunes": 2, "frames": 8, "skipped": 0}
    with np.load(tmp_path / "train.npz") as split:
        assert list(split["names"]) == ["B.MID", "a.mid"]


def test_a_bad_file_stops_the_split_or_is_skipped_when_asked(tmp_path):
    folder = make_split(tmp_path / "valid", bad=b"")
    with pytest.raises(DataError, match=r"c\.mid: empty file"):
        prepare_split(folder, tmp_path / "valid.npz")
    assert not list(tmp_path.glob("valid.npz*")) and not list(tmp_path.glob(".valid.npz*")), "nothing written"
    counts = prepare_split(folder, tmp_path / "valid.npz", skip_bad_files=True)
    assert counts == {"tunes": 2, "frames": 8, "skipped": 1}
    with np.load(tmp_path / "valid.npz") as split:
        assert len(split["skipped"]) == 1 and "c.mid: empty file" in split["skipped"][0]


def test_a_split_without_midi_files_is_refused(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "notes.txt").write_text("not midi")
    with pytest.raises(DataError, match=r"test: no \.mid file in this split folder"):
        prepare_split(tmp_path / "test", tmp_path / "test.npz")


def test_a_split_of_bad_files_only_is_refused_even_when_skipping(tmp_path):
    """skip_bad_files leaves bad tunes out, but a split with none left is an error, not an empty .npz."""
    folder = tmp_path / "valid"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"")
    write_notes(folder / "b.mid", [], drum_notes=[(36, 0.0, 0.6)])
    with pytest.raises(DataError, match=f"^{re.escape(f'{folder}: every .mid file was skipped as bad (2 files)')}$"):
        prepare_split(folder, tmp_path / "valid.npz", skip_bad_files=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid"], "nothing written"


def test_the_shared_valid_split(shared_data, tmp_path):
    counts = prepare_split(shared_data / "nottingham" / "valid", tmp_path / "valid.npz")
    assert counts["tunes"] == 170 and counts["skipped"] == 0 and counts["frames"] > 170 * 20


@pytest.mark.parametrize(("tonic", "mode", "shift"), [
    (0, "major", 0), (7, "major", 5), (5, "major", -5), (6, "major", -6), (9, "minor", 0), (2, "minor", -5),
    (4, "minor", 5), (0, "minor", -3),
])
def test_the_transposition_to_c_major_or_a_minor_is_the_smaller_move(tonic, mode, shift):
    assert shift_to_c(tonic, mode) == shift
    target = 0 if mode == "major" else 9
    assert (tonic + shift) % 12 == target and -6 <= shift <= 5


def test_a_tune_is_transposed_by_its_key_signature(tmp_path):
    """E minor (key number 16) moves up 5 semitones to A minor; the roll is the same roll 5 columns up.

    The notes (a C major triad) would suggest C major: the key signature decides."""
    notes = [(60, 0.0, 0.6), (64, 0.6, 1.2), (67, 1.2, 1.8), (105, 0.0, 0.3)]  # 105 + 5 leaves the piano
    path = write_notes(tmp_path / "e_minor.mid", notes)
    midi = pretty_midi.PrettyMIDI(str(path))
    midi.key_signature_changes = [pretty_midi.KeySignature(16, 0.0)]
    midi.write(str(path))
    roll, moved, shift = read_tune(path)
    assert shift == 5
    expected = np.zeros_like(roll)
    expected[:, 5:] = roll[:, :-5]
    np.testing.assert_array_equal(moved, expected)
    assert roll[0, 105 - 21] == 1 and not moved[:, -5:].any(), "a note moved off the keyboard is dropped"


def test_a_tune_without_key_signature_gets_the_estimated_key(tmp_path):
    """D major scale and triads, no key signature: Krumhansl-Schmuckler finds D major and moves it down 2."""
    scale = [62, 64, 66, 67, 69, 71, 73, 74]
    notes = [(p, 0.3 * i, 0.3 * (i + 1)) for i, p in enumerate(scale)]
    for start, chord in ((3.0, (62, 66, 69)), (4.5, (67, 71, 74)), (6.0, (69, 73, 76)), (7.5, (62, 66, 69))):
        notes += [(p, start, start + 1.5) for p in chord]  # I IV V I
    path = write_notes(tmp_path / "d_major.mid", notes)
    assert tune_key(pretty_midi.PrettyMIDI(str(path))) == (2, "major")
    assert read_tune(path)[2] == -2


def test_a_prepared_split_keeps_both_rolls_with_shared_offsets(tmp_path):
    for name, tonic_notes in (("a.mid", [(62, 0.0, 0.9)]), ("b.mid", [(60, 0.0, 0.6), (64, 0.6, 1.5)])):
        write_notes(tmp_path / name, tonic_notes)
    prepare_split(tmp_path, tmp_path / "split.npz")
    plain, moved = load_tunes(tmp_path / "split.npz"), load_tunes(tmp_path / "split.npz", transposed=True)
    assert [len(t) for t in plain] == [len(t) for t in moved] == [3, 5]
    shifts = np.load(tmp_path / "split.npz")["shifts"]
    for tune, tune_moved, shift in zip(plain, moved, shifts):
        np.testing.assert_array_equal(np.roll(tune, shift, axis=1), tune_moved)


@pytest.mark.parametrize(("tonic", "mode", "shift"), [
    (0, "major", 0), (7, "major", 5), (0, "minor", 0), (9, "minor", 3), (4, "minor", -4), (7, "minor", 5),
    (6, "minor", -6),
])
def test_a_minor_tune_can_go_to_c_minor_instead(tonic, mode, shift):
    """minor_key="C" (Boulanger-Lewandowski et al.'s preprocessing): majors to C major, minors to C minor."""
    assert shift_to_c(tonic, mode, minor_key="C") == shift
    assert (tonic + shift) % 12 == 0 and -6 <= shift <= 5


def write_ticks(path, notes, tempos, resolution=480):
    """A MIDI file written with mido from (pitch, start tick, end tick) notes and (tick, bpm) tempo changes."""
    events = [(tick, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for tick, bpm in tempos]
    for pitch, start, end in notes:
        events += [(start, 2, mido.Message("note_on", note=pitch, velocity=90)),
                   (end, 1, mido.Message("note_off", note=pitch, velocity=0))]
    track, now = mido.MidiTrack(), 0
    for tick, _, message in sorted(events, key=lambda event: event[:2]):
        track.append(message.copy(time=tick - now))
        now = tick
    mido.MidiFile(ticks_per_beat=resolution, tracks=[track]).save(str(path))
    return path


# 480 ticks per quarter note; 120 bpm, then 60 bpm from beat 4 (2 s): the second half runs at half speed
BEAT_NOTES = [
    (60, 0, 480),       # beats 0-1
    (62, 720, 960),     # beats 1.5-2
    (64, 1920, 2400),   # beats 4-5, after the tempo change: 2 s to 3 s
    (65, 2000, 2100),   # beats 4.17-4.38: inside one eighth note, no trace
    (67, 2160, 2880),   # beats 4.5-6: 2.5 s to 4 s
]


@pytest.mark.parametrize(("per_quarter", "frames"), [
    # one frame per eighth note: a note from beat a to beat b sounds in frames ceil(2a) .. ceil(2b) - 1
    (2, {60: [0, 1], 62: [3], 64: [8, 9], 67: [9, 10, 11]}),
    # one per quarter note: the eighth note from beat 1.5 leaves no trace either
    (1, {60: [0], 64: [4], 67: [5]}),
])
def test_beat_synchronous_frames_follow_the_beat_not_the_clock(tmp_path, per_quarter, frames):
    path = write_ticks(tmp_path / "beats.mid", BEAT_NOTES, tempos=[(0, 120), (1920, 60)])
    expected = np.zeros((6 * per_quarter, 88), dtype=np.uint8)
    for pitch, sounding in frames.items():
        expected[sounding, pitch - 21] = 1
    np.testing.assert_array_equal(read_piano_roll(path, frames_per_quarter_note=per_quarter), expected)
    # the same file in frames of the clock (a quarter note at 120 bpm): the notes after the change move
    assert read_piano_roll(path, dt=0.5 / per_quarter).shape[0] == 8 * per_quarter


def test_a_prepared_split_records_its_frames_and_moves_minor_tunes_to_c_minor(tmp_path):
    path = write_ticks(tmp_path / "e_minor.mid", [(64, 0, 960), (67, 960, 1440)], tempos=[(0, 90)])
    midi = pretty_midi.PrettyMIDI(str(path))
    midi.key_signature_changes = [pretty_midi.KeySignature(16, 0.0)]  # E minor
    midi.write(str(path))
    counts = prepare_split(tmp_path, tmp_path / "split.npz", dt=0.25, frames_per_quarter_note=2, minor_key="C")
    assert counts == {"tunes": 1, "frames": 6, "skipped": 0}
    with np.load(tmp_path / "split.npz") as split:
        assert int(split["frames_per_quarter_note"]) == 2 and str(split["minor_key"]) == "C"
        assert list(split["shifts"]) == [-4]  # E minor down to C minor (A minor would be up 5)
        expected = np.zeros((6, 88), dtype=np.uint8)
        expected[0:4, 64 - 21 - 4] = 1
        expected[4:6, 67 - 21 - 4] = 1
        np.testing.assert_array_equal(split["transposed"], expected)


@pytest.mark.parametrize(("dt", "per_quarter", "minor_key", "message"), [
    (0, None, "A", "dt must be a frame length in seconds > 0, got 0"),
    (0.3, 0, "A", "frames_per_quarter_note must be null (frames of dt seconds) or a whole number"),
    (0.3, 1.5, "A", "frames_per_quarter_note must be null"),
    (0.3, None, "E", "minor_key must be one of ['A', 'C']"),
])
def test_bad_frame_settings_are_refused_naming_the_setting(tmp_path, dt, per_quarter, minor_key, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        check_frames(dt, per_quarter, minor_key)
    write_notes(tmp_path / "a.mid", [(60, 0.0, 1.0)])
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        prepare_split(tmp_path, tmp_path / "split.npz", dt, frames_per_quarter_note=per_quarter, minor_key=minor_key)
    assert not (tmp_path / "split.npz").exists()
