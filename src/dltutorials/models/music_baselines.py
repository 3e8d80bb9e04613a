"""Trivial baselines for polyphonic music (tutorial chapter 12), the numbers the RNN-RBM's are read against.

A tune is a binary piano roll v of shape (T, N): v_t[i] = 1 when note i sounds in frame t. Every tune is
preceded by a silent frame v_{-1} = 0, so every frame has a previous one and every frame is predicted
(as the RNN-RBM starts each tune from its initial state u_0). Each baseline gives, for every frame t and
note i, the probability p_t[i] = P(v_t[i] = 1 | v_{t-1}) of the note being on, the notes independent:

    previous frame:   p_t[i] = q if v_{t-1}[i] = 1 else 1 - q     (each note keeps its state w.p. q)
    per-note Markov:  p_t[i] = a_i if v_{t-1}[i] = 1 else b_i     (a_i = P(on | on), b_i = P(on | off))
    frequency:        p_t[i] = f_i                                (no dependence on the past)

All are fitted by maximum likelihood on the training tunes' transitions (the one from the silent frame
into frame 0 included), with add-one smoothing so that no probability is 0 or 1:

    q   = (kept + 1) / (pairs + 2)           kept: the (t, i) with v_t[i] = v_{t-1}[i], of all pairs (t, i)
    a_i = (n_i(1 -> 1) + 1) / (n_i(1) + 2)   n_i(1): the frames t with v_{t-1}[i] = 1; n_i(1 -> 1): v_t[i] = 1 too
    b_i = (n_i(0 -> 1) + 1) / (n_i(0) + 2)   n_i(0): the frames t with v_{t-1}[i] = 0; n_i(0 -> 1): v_t[i] = 1
    f_i = (on_i + 1) / (frames + 2)          on_i: the frames t with v_t[i] = 1

On a split, ``evaluate`` reports

- ``log_likelihood``: the mean over all frames (every frame of every tune weighted equally) of
  log p(v_t | v_{t-1}) = sum_i v_t[i] log p_t[i] + (1 - v_t[i]) log(1 - p_t[i]), in nats per frame;
- ``accuracy``: the frame-level accuracy of Bay et al. (2009), as Boulanger-Lewandowski et al. (2012) use
  it, ACC = TP / (TP + FP + FN), the counts summed over all frames and notes of the split, of the
  deterministic prediction: a note is on iff p_t[i] >= 0.5 (for "previous frame": the previous frame
  itself); 0 when TP + FP + FN = 0, as ``dltutorials.stages.music`` computes it;
- ``expected_accuracy``: the accuracy of predictions sampled from p, in the large-sample limit (a ratio
  of expectations over the split): E[TP] = sum p v, E[FP] = sum p (1 - v), E[FN] = sum (1 - p) v, so
  sum p v / (sum p + sum v - sum p v);
- ``frames``, ``tp``, ``fp``, ``fn``: the number of frames and the counts of the deterministic prediction.

Tunes are numpy arrays (or anything ``np.asarray`` reads, CPU torch tensors included) of 0/1 values, of
any dtype (uint8, bool, float32, ...); they are checked and converted to bool before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

BASELINES = ("previous_frame", "markov", "frequency")


def piano_rolls(tunes, n_notes: int | None = None) -> list[np.ndarray]:
    """``tunes`` as bool arrays of shape (n_frames, n_notes), refused with a one-line ValueError when there is
    none, when one is not 2-D or not binary, or when their numbers of notes differ (from ``n_notes`` if given)."""
    if len(tunes) == 0:
        raise ValueError("no tunes: a baseline needs at least one tune (a list of (n_frames, n_notes) arrays)")
    rolls = []
    for k, tune in enumerate(tunes):
        roll = np.asarray(tune)
        if roll.ndim != 2:
            raise ValueError(f"tune {k} has shape {roll.shape}: a piano roll is 2-D, (n_frames, n_notes)")
        binary = np.isin(roll, (0, 1))
        if not binary.all():
            raise ValueError(f"tune {k} is not binary: it holds {roll[~binary].flat[0]}, a piano roll only 0 and 1")
        if n_notes is None:
            n_notes = roll.shape[1]
        if roll.shape[1] != n_notes:
            raise ValueError(f"tune {k} has {roll.shape[1]} notes, not {n_notes}: all tunes must have the same notes")
        if n_notes == 0:
            raise ValueError(f"tune {k} has no notes: a piano roll needs at least one column")
        rolls.append(roll.astype(bool))
    return rolls


def previous_frames(roll: np.ndarray) -> np.ndarray:
    """v_{t-1} for every frame t of ``roll``: the roll shifted down by one, a silent frame first."""
    # the silent frame is prepended before the last frame is dropped, so a tune of no frames gives none
    return np.concatenate([np.zeros((1, roll.shape[1]), dtype=bool), roll])[:-1]


@dataclass(frozen=True, eq=False)
class Baseline:
    """A fitted baseline over ``n_notes`` notes; each kind defines ``on_probabilities``."""

    name: ClassVar[str]
    n_notes: int

    def on_probabilities(self, previous: np.ndarray) -> np.ndarray:
        """p_t[i] (float64, the shape of ``previous``) given the previous frames v_{t-1}."""
        raise NotImplementedError

    def probabilities(self, tune) -> np.ndarray:
        """(n_frames, n_notes) float64: P(note i on in frame t | frame t - 1), a silent frame before the first."""
        (roll,) = piano_rolls([tune], self.n_notes)
        return self.on_probabilities(previous_frames(roll))

    def predicted(self, previous: np.ndarray) -> np.ndarray:
        """The deterministic prediction given the previous frames: each note on iff p >= 0.5."""
        return self.on_probabilities(previous) >= 0.5

    def prediction(self, tune) -> np.ndarray:
        """(n_frames, n_notes) bool: the deterministic prediction of every frame of ``tune``."""
        (roll,) = piano_rolls([tune], self.n_notes)
        return self.predicted(previous_frames(roll))


@dataclass(frozen=True, eq=False)
class PreviousFrame(Baseline):
    """Each note keeps its previous state with probability ``keep`` (q, shared by all notes)."""

    name: ClassVar[str] = "previous_frame"
    keep: float

    @classmethod
    def fit(cls, rolls: list[np.ndarray]) -> PreviousFrame:
        kept = sum(int((roll == previous_frames(roll)).sum()) for roll in rolls)
        total = sum(roll.size for roll in rolls)
        return cls(n_notes=rolls[0].shape[1], keep=(kept + 1) / (total + 2))

    def on_probabilities(self, previous: np.ndarray) -> np.ndarray:
        return np.where(previous, self.keep, 1.0 - self.keep)

    def predicted(self, previous: np.ndarray) -> np.ndarray:
        # the copy of the previous frame, whatever q (were q < 0.5, p >= 0.5 would predict its complement)
        return previous.copy()


@dataclass(frozen=True, eq=False)
class MarkovChain(Baseline):
    """One two-state chain per note: ``on_after_on`` (a_i = P(on | on)), ``on_after_off`` (b_i = P(on | off))."""

    name: ClassVar[str] = "markov"
    on_after_on: np.ndarray
    on_after_off: np.ndarray

    @classmethod
    def fit(cls, rolls: list[np.ndarray]) -> MarkovChain:
        pairs = [(previous_frames(roll), roll) for roll in rolls]
        after_on = sum(previous.sum(axis=0) for previous, _ in pairs)
        on_after_on = sum((previous & roll).sum(axis=0) for previous, roll in pairs)
        after_off = sum((~previous).sum(axis=0) for previous, _ in pairs)
        on_after_off = sum((~previous & roll).sum(axis=0) for previous, roll in pairs)
        return cls(n_notes=rolls[0].shape[1], on_after_on=(on_after_on + 1) / (after_on + 2),
                   on_after_off=(on_after_off + 1) / (after_off + 2))

    def on_probabilities(self, previous: np.ndarray) -> np.ndarray:
        return np.where(previous, self.on_after_on, self.on_after_off)


@dataclass(frozen=True, eq=False)
class Frequency(Baseline):
    """Each note on with probability ``on`` (f_i, its smoothed frequency in the training frames), independently."""

    name: ClassVar[str] = "frequency"
    on: np.ndarray

    @classmethod
    def fit(cls, rolls: list[np.ndarray]) -> Frequency:
        on = sum(roll.sum(axis=0) for roll in rolls)
        frames = sum(len(roll) for roll in rolls)
        return cls(n_notes=rolls[0].shape[1], on=(on + 1) / (frames + 2))

    def on_probabilities(self, previous: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.on, previous.shape).astype(np.float64)


KINDS: dict[str, type[Baseline]] = {kind.name: kind for kind in (PreviousFrame, MarkovChain, Frequency)}


def fit(name: str, tunes) -> Baseline:
    """The baseline ``name`` (one of ``BASELINES``) fitted on the training ``tunes``."""
    if name not in KINDS:
        raise ValueError(f"unknown baseline {name!r}: choose one of {', '.join(BASELINES)}")
    return KINDS[name].fit(piano_rolls(tunes))


def evaluate(baseline: Baseline, tunes) -> dict:
    """log_likelihood (nats per frame), accuracy, expected_accuracy, frames, tp, fp, fn of ``baseline`` on
    ``tunes`` (see the module's docstring)."""
    rolls = piano_rolls(tunes, baseline.n_notes)
    frames = sum(len(roll) for roll in rolls)
    if frames == 0:
        raise ValueError("the tunes have no frames: there is nothing to evaluate")
    log_likelihood = tp = fp = fn = 0
    p_v = p_sum = v_sum = 0.0
    for roll in rolls:
        previous = previous_frames(roll)
        p = baseline.on_probabilities(previous)
        log_likelihood += float(np.where(roll, np.log(p), np.log1p(-p)).sum())
        predicted = baseline.predicted(previous)
        tp += int((predicted & roll).sum())
        fp += int((predicted & ~roll).sum())
        fn += int((~predicted & roll).sum())
        p_v, p_sum, v_sum = p_v + float(p[roll].sum()), p_sum + float(p.sum()), v_sum + float(roll.sum())
    return {"log_likelihood": log_likelihood / frames, "accuracy": tp / max(tp + fp + fn, 1),
            "expected_accuracy": p_v / (p_sum + v_sum - p_v), "frames": frames, "tp": tp, "fp": fp, "fn": fn}


def baseline_rows(train, splits: dict[str, list]) -> list[dict]:
    """One row per baseline (fitted on ``train``) and split: {"baseline", "split", **evaluate(...)}."""
    rows = []
    for name in BASELINES:
        baseline = fit(name, train)
        rows += [{"baseline": name, "split": split, **evaluate(baseline, tunes)} for split, tunes in splits.items()]
    return rows
