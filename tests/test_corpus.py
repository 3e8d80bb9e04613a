"""data=jsb_chorales: the Bach chorales of the music21 corpus exported to MIDI split folders, then prepared."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from music21 import corpus
from music21.midi import translate

from dltutorials.config import compose
from dltutorials.data.corpus import chorale_midi, export_corpus
from dltutorials.data.download import DataError
from dltutorials.data.midi import read_piano_roll
from dltutorials.stages.music_data import download_piano_rolls, prepare_piano_rolls

LIMIT = 12
# The seeded 70/15/15 rule on 12 chorales: round(0.15 * 12) = 2 valid, 2 test, the other 8 train.
SIZES = {"train": 8, "valid": 2, "test": 2}
SPLIT = {"train": 0.70, "valid": 0.15, "test": 0.15, "seed": 1234}


def jsb_config(data_dir: Path, *extra: str):
    return compose(["data=jsb_chorales", f"paths.data_dir={data_dir}", f"data.corpus.limit={LIMIT}", *extra])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The first 12 chorales through the download and prepare stages; returns paths.data_dir."""
    data_dir = tmp_path_factory.mktemp("jsb")
    cfg = jsb_config(data_dir)
    download_piano_rolls(cfg.data)
    prepare_piano_rolls(cfg.data)
    return data_dir


def listing(raw_dir: Path) -> dict[str, list[str]]:
    return {split: sorted(path.name for path in (raw_dir / split).iterdir()) for split in SIZES}


def test_the_seeded_split_of_the_first_chorales(exported):
    raw_dir = exported / "jsb_chorales" / "midi"
    files = listing(raw_dir)
    assert {split: len(names) for split, names in files.items()} == SIZES
    # the 12 first distinct chorales of the Riemenschneider numbering, each in one split only
    first = list(dict.fromkeys(corpus.chorales.Iterator(1, 20, returnType="filename")))[:LIMIT]
    assert sorted(name for names in files.values() for name in names) == sorted(
        path.removeprefix("bach/") + ".mid" for path in first)
    source = json.loads((raw_dir / "source.json").read_text())
    assert source["counts"] == SIZES and source["selection"]["limit"] == LIMIT
    assert source["chorales"]["train" if "bwv269.mid" in files["train"] else "valid" if "bwv269.mid" in
                              files["valid"] else "test"]["bwv269"] == [1]
    manifest = (raw_dir / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split("  ./")[1] for line in manifest) == sorted(
        f"{split}/{name}" for split, names in files.items() for name in names)


def test_a_second_export_is_byte_identical(exported, tmp_path):
    download_piano_rolls(jsb_config(tmp_path).data)
    first, second = exported / "jsb_chorales" / "midi", tmp_path / "jsb_chorales" / "midi"
    assert (second / "SHA256SUMS").read_bytes() == (first / "SHA256SUMS").read_bytes()
    assert listing(second) == listing(first)
    for split, names in listing(first).items():
        for name in names:
            assert (second / split / name).read_bytes() == (first / split / name).read_bytes()


def test_another_seed_gives_another_split(exported, tmp_path):
    download_piano_rolls(jsb_config(tmp_path, "data.split.seed=1").data)
    assert listing(tmp_path / "jsb_chorales" / "midi") != listing(exported / "jsb_chorales" / "midi")


def test_prepare_gives_one_npz_per_split(exported):
    for split, n in SIZES.items():
        with np.load(exported / "jsb_chorales" / f"{split}.npz") as prepared:
            assert len(prepared["offsets"]) - 1 == n and len(prepared["names"]) == n
            assert float(prepared["dt"]) == 0.5 and prepared["frames"].shape[1] == 88


def expected_roll(path: str, play_repeats: bool = True) -> np.ndarray:
    """A chorale's piano roll straight from music21, one frame per quarter note: a note from beat a to
    beat b (repeats played out) sounds in frames ceil(a) .. ceil(b) - 1, MIDI notes 21..108; only the
    parts named Soprano, Alto, Tenor or Bass (all parts if none has a name)."""
    score = corpus.parse(path)
    for part in list(score.parts):
        if part.partName and part.partName.split()[0] not in ("Soprano", "Alto", "Tenor", "Bass"):
            score.remove(part)
    score = score.expandRepeats() if play_repeats else score
    notes = [(pitch.midi, note.offset, note.offset + note.quarterLength)
             for note in score.flatten().notes for pitch in note.pitches]
    roll = np.zeros((math.ceil(max(end for _, _, end in notes)), 88), dtype=np.uint8)
    for midi_note, start, end in notes:
        roll[math.ceil(start):math.ceil(end), midi_note - 21] = 1
    return roll


def test_one_frame_per_quarter_note(exported):
    """Chorale 1 (bwv269: four voices, an eighth-note passing tone, a repeat) against its score."""
    for split in SIZES:
        with np.load(exported / "jsb_chorales" / f"{split}.npz") as prepared:
            names = list(prepared["names"])
            if "bwv269.mid" in names:
                i = names.index("bwv269.mid")
                roll = prepared["frames"][prepared["offsets"][i]:prepared["offsets"][i + 1]]
    expected = expected_roll("bach/bwv269")
    assert len(expected) == 84  # 63 quarter notes, the first 21 repeated
    np.testing.assert_array_equal(roll, expected)


@pytest.mark.parametrize(("path", "n_parts"), [("bach/bwv279", 4),  # a metronome mark of 88 bpm, removed
                                               ("bach/bwv41.6", 9)])  # voices doubled by trumpets, timpani...
def test_tempo_marks_and_instrument_parts_are_left_out(tmp_path, path, n_parts):
    assert len(corpus.parse(path).parts) == n_parts
    midi, _ = chorale_midi(path)
    (tmp_path / "chorale.mid").write_bytes(midi)
    np.testing.assert_array_equal(read_piano_roll(tmp_path / "chorale.mid", 0.5, (21, 109)), expected_roll(path))


def test_a_chorale_whose_repeats_music21_cannot_play_is_taken_as_written(tmp_path):
    """bwv277 (four unnamed voices) has a start repeat with no end: its score once through."""
    midi, played_out = chorale_midi("bach/bwv277")
    (tmp_path / "bwv277.mid").write_bytes(midi)
    expected = expected_roll("bach/bwv277", play_repeats=False)
    assert not played_out and len(expected) == 49
    np.testing.assert_array_equal(read_piano_roll(tmp_path / "bwv277.mid", 0.5, (21, 109)), expected)


def break_one(monkeypatch, target: str, how: str) -> None:
    """Make music21 fail on one chorale: its parse raises, its parse is empty, or its MIDI export raises."""
    parse, to_midi = corpus.parse, translate.music21ObjectToMidiFile

    def bad_parse(path, *args, **kwargs):
        if path == target and how == "parse":
            raise ValueError("broken file\nsecond line")
        if path == target and how == "empty":
            from music21 import stream
            return stream.Score([stream.Part()])
        return parse(path, *args, **kwargs)

    def bad_export(score, *args, **kwargs):
        if how == "export" and score.metadata is not None and score.metadata.corpusFilePath.startswith(target):
            raise RuntimeError("cannot write")
        return to_midi(score, *args, **kwargs)

    monkeypatch.setattr(corpus, "parse", bad_parse)
    monkeypatch.setattr(translate, "music21ObjectToMidiFile", bad_export)


@pytest.mark.parametrize(("how", "message"), [("parse", r"music21 cannot parse it \(broken file\)$"),
                                               ("empty", "no note in its parts named Soprano"),
                                               ("export", r"music21 cannot export it to MIDI \(cannot write\)")])
def test_a_bad_chorale_is_named_and_nothing_is_written(tmp_path, monkeypatch, how, message):
    break_one(monkeypatch, "bach/bwv347", how)  # chorale 2
    with pytest.raises(DataError, match=f"^chorale bach/bwv347: {message}") as error:
        export_corpus(tmp_path / "midi", limit=4, split=SPLIT)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "midi").exists()


def test_skip_bad_files_leaves_a_bad_chorale_out(tmp_path, monkeypatch):
    break_one(monkeypatch, "bach/bwv347", "parse")
    source = export_corpus(tmp_path / "midi", limit=5, split=SPLIT, skip_bad_files=True)
    assert source["counts"] == {"train": 2, "valid": 1, "test": 1}  # the seeded rule on the 4 good ones
    assert len(source["skipped"]) == 1 and source["skipped"][0].startswith("chorale bach/bwv347:")
    assert not any((tmp_path / "midi").glob("*/bwv347.mid"))


def test_a_selection_of_bad_chorales_only_is_refused_even_when_skipping(tmp_path, monkeypatch):
    """skip_bad_files leaves bad chorales out, but none left is said as such, not as a split left empty."""
    def broken(path, *args, **kwargs):
        raise ValueError("broken file")

    monkeypatch.setattr(corpus, "parse", broken)
    message = "Riemenschneider chorales 1..371: every chorale was skipped as bad (3 chorales)"
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        export_corpus(tmp_path / "midi", limit=3, split=SPLIT, skip_bad_files=True)
    assert list(tmp_path.iterdir()) == [], "nothing written"
