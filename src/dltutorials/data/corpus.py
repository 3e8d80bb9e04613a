"""The Bach chorales of the music21 corpus as ``train/``, ``valid/``, ``test/`` folders of MIDI files.

``data=jsb_chorales``: instead of downloading an archive, the chorales that
ship with the music21 package are exported, each to ``<split>/<name>.mid``
(``bwv269.mid`` for music21's ``bach/bwv269``), so the prepare stage reads
them like the Nottingham tunes. The selection is music21's
``corpus.chorales.Iterator`` in Riemenschneider numbering (1..371); numbers
that music21 maps to the same file (21 of them) give one chorale, so 371
numbers are 350 chorales. Of each chorale only the voices are kept (parts
named Soprano, Alto, Tenor, Bass), not the instruments of the cantata
settings; a chorale whose parts carry no names (three Humdrum files of four
voices) is taken whole.

Every tempo and metronome mark is removed before the export, so all chorales
play at music21's default 120 bpm: a quarter note is 0.5 s, one frame of the
piano rolls when ``dt = 0.5``. Repeats are played out, as music21's MIDI
export does; a chorale whose repeats music21 cannot play out (bwv277: a start
repeat with no end) is taken as written, once through, and listed in
``source.json``.

The split: the chorales sorted by name, shuffled by ``numpy.random.default_rng(seed)``,
then ``round(valid * n)`` valid and ``round(test * n)`` test chorales, the rest train.
The same config and music21 version give byte-identical files.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from dltutorials.atomic import atomic_directory
from dltutorials.data.download import DataError
from dltutorials.data.split_folders import SPLITS, write_manifest, write_source

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
TEMPO_BPM = 120  # music21's default, once the chorales' own marks are removed


def select_chorales(first: int = 1, last: int = 371, limit: int | None = None) -> dict[str, list[int]]:
    """Riemenschneider numbers ``first..last`` as {corpus path: its numbers}, in that order, at most
    ``limit`` distinct chorales."""
    from music21 import corpus

    try:
        iterator = corpus.chorales.Iterator(first, last, numberingSystem="riemenschneider", returnType="filename")
    except corpus.chorales.BachException as error:
        raise DataError(f"Riemenschneider chorales {first}..{last}: {error}") from None
    numbers = [number for number in iterator.numberList if first <= number <= last]  # the iteration's order
    chorales: dict[str, list[int]] = {}
    for number, path in zip(numbers, iterator, strict=True):
        if path not in chorales and limit is not None and len(chorales) >= limit:
            break
        chorales.setdefault(path, []).append(number)
    return chorales


def split_sizes(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Chorales per split: ``round(fraction * n)`` (halves up) for valid and test, the rest for train."""
    if abs(sum(float(fractions[split]) for split in SPLITS) - 1) > 1e-9:
        raise DataError(f"split fractions {dict(fractions)} do not sum to 1")
    valid, test = (math.floor(float(fractions[split]) * n + 0.5 + 1e-9) for split in ("valid", "test"))
    sizes = {"train": n - valid - test, "valid": valid, "test": test}
    if min(sizes.values()) <= 0:
        raise DataError(f"{n} chorales split {dict(fractions)} leave an empty split ({sizes}): select more")
    return sizes


def split_names(names: list[str], fractions: dict[str, float], seed: int) -> dict[str, list[str]]:
    """The seeded split of ``names``: sorted, shuffled by ``default_rng(seed)``, cut by :func:`split_sizes`."""
    ordered = sorted(names)
    shuffled = [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]
    sizes = split_sizes(len(ordered), fractions)
    cuts = np.cumsum([0, *(sizes[split] for split in SPLITS)])
    return {split: sorted(shuffled[cuts[i]:cuts[i + 1]]) for i, split in enumerate(SPLITS)}


def chorale_midi(path: str, voices: list[str] | None = VOICES) -> tuple[bytes, bool]:
    """One chorale of the music21 corpus as MIDI bytes: its voices, at 120 bpm, repeats played out;
    and whether they were: a chorale whose repeats music21 cannot play out is taken as written.

    ``voices``: keep the parts whose name starts with one of these words (None: every part).
    Raises DataError naming the chorale when music21 cannot parse or export it or it has no note.
    """
    from music21 import corpus, repeat, tempo
    from music21.midi import translate

    try:
        score = corpus.parse(path, forceSource=True)  # not music21's pickle cache: same input every time
    except Exception as error:  # music21 raises many types for a broken file
        raise DataError(f"chorale {path}: music21 cannot parse it ({_reason(error)})") from None
    if voices is not None and any(part.partName for part in score.parts):
        for part in [part for part in score.parts if (part.partName or "").split(" ")[0] not in voices]:
            score.remove(part)
    for mark in list(score.recurse().getElementsByClass(tempo.TempoIndication)):
        mark.activeSite.remove(mark)
    if not score.recurse().notes:
        raise DataError(f"chorale {path}: no note in its parts" + (f" named {', '.join(voices)}" if voices else ""))
    try:
        try:
            score, played_out = score.expandRepeats(), True
        except repeat.ExpanderException:  # bwv277: a start repeat with no end; the chorale is taken as written
            score, played_out = _without_repeats(score), False
        return translate.music21ObjectToMidiFile(score).writestr(), played_out
    except Exception as error:
        raise DataError(f"chorale {path}: music21 cannot export it to MIDI ({_reason(error)})") from None


def _without_repeats(score):
    """The score as written, once through: its repeat barlines made plain and its repeat signs removed."""
    from music21 import bar, repeat, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline("regular")
    for sign in list(score.recurse().getElementsByClass(repeat.RepeatExpression)):
        sign.activeSite.remove(sign)
    return score


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def export_corpus(destination: str | Path, *, first: int = 1, last: int = 371, limit: int | None = None,
                  voices: list[str] | None = VOICES, split: dict, skip_bad_files: bool = False) -> dict:
    """Write the selected chorales into ``destination/<split>/<name>.mid`` (atomically), with
    ``SHA256SUMS`` and ``source.json``; returns what ``source.json`` records.

    ``split``: the fractions ``train``, ``valid``, ``test`` and the ``seed``. A bad chorale stops
    the export with a one-line DataError naming it; with ``skip_bad_files`` it is logged, left out
    (before the split) and listed in ``skipped``.
    """
    import music21

    chorales = select_chorales(first, last, limit)
    voices = list(voices) if voices is not None else None
    paths = {path.rpartition("/")[2]: path for path in chorales}  # bwv269: bach/bwv269
    midi, skipped, as_written = {}, [], []
    for name, path in paths.items():
        try:
            midi[name], played_out = chorale_midi(path, voices)
            if not played_out:
                logging.getLogger(__name__).warning("chorale %s: repeats badly formed, taken as written", path)
                as_written.append(name)
        except DataError as error:
            if not skip_bad_files:
                raise
            logging.getLogger(__name__).warning("skipped %s", error)
            skipped.append(str(error))
    if not midi:  # else the split blames the selection's size ("select more"), not the chorales that failed
        raise DataError(f"Riemenschneider chorales {first}..{last}: every chorale was skipped as bad "
                        f"({len(skipped)} chorales)")
    splits = split_names(list(midi), {name: split[name] for name in SPLITS}, int(split["seed"]))
    source = {
        "source": f"music21 {music21.__version__} corpus: Bach chorales, Riemenschneider {first}..{last}"
                  + (f", the first {limit}" if limit is not None else ""),
        "music21": music21.__version__,
        "selection": {"numbering": "riemenschneider", "first": first, "last": last, "limit": limit,
                      "voices": voices, "tempo_bpm": TEMPO_BPM},
        "split": {**{name: float(split[name]) for name in SPLITS}, "seed": int(split["seed"])},
        "counts": {name: len(splits[name]) for name in SPLITS},
        "skipped": skipped,
        "repeats_as_written": as_written,  # chorales whose repeats music21 could not play out
        # the Riemenschneider numbers of each chorale
        "chorales": {name: {chorale: chorales[paths[chorale]] for chorale in splits[name]} for name in SPLITS},
    }
    with atomic_directory(destination) as tmp:
        for name in SPLITS:
            (tmp / name).mkdir()
            for chorale in splits[name]:
                (tmp / name / f"{chorale}.mid").write_bytes(midi[chorale])
        write_manifest(tmp)
        write_source(tmp, source)
    return source
