"""The trivial baselines of polyphonic music (chapter 12): fitted on hand-made rolls whose counts are written
out below, and checked against the values computed by hand (never by the code under test)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from dltutorials.models.music_baselines import BASELINES, baseline_rows, evaluate, fit

# Two training tunes of 3 notes; a silent frame [0 0 0] precedes each.
TUNE_A = np.array([[1, 1, 0],
                   [0, 1, 0],
                   [1, 1, 0],
                   [0, 1, 1]], dtype=np.uint8)
TUNE_B = np.array([[0, 1, 1],
                   [0, 0, 1],
                   [1, 1, 1],
                   [0, 1, 0],
                   [0, 1, 0]], dtype=np.uint8)
TRAIN = [TUNE_A, TUNE_B]
# The test tune; a silent frame precedes it too, so the previous frames are [0 0 0], [1 1 0], [1 0 0].
TEST = np.array([[1, 1, 0],
                 [1, 0, 0],
                 [0, 0, 1]], dtype=np.uint8)


def test_previous_frame_is_fitted_on_every_transition_with_add_one_smoothing():
    # 9 frames x 3 notes = 27 (frame, note) pairs. Notes that change, frame by frame:
    #   A: [000]->[110] 2, [110]->[010] 1, [010]->[110] 1, [110]->[011] 2              = 6
    #   B: [000]->[011] 2, [011]->[001] 1, [001]->[111] 2, [111]->[010] 2, [010]->[010] 0 = 7
    # so 13 changed and 27 - 13 = 14 kept.
    assert fit("previous_frame", TRAIN).keep == pytest.approx((14 + 1) / (27 + 2))


def test_the_markov_chain_counts_each_notes_transitions_with_add_one_smoothing():
    # Each note's states, the silent frame first, and its transitions:
    #   note 0: A 0,1,0,1,0    -> 0>1 1>0 0>1 1>0;   B 0,0,0,1,0,0 -> 0>0 0>0 0>1 1>0 0>0
    #           after on: 3 (on 0);  after off: 6 (on 3)
    #   note 1: A 0,1,1,1,1    -> 0>1 1>1 1>1 1>1;   B 0,1,0,1,1,1 -> 0>1 1>0 0>1 1>1 1>1
    #           after on: 6 (on 5);  after off: 3 (on 3)
    #   note 2: A 0,0,0,0,1    -> 0>0 0>0 0>0 0>1;   B 0,1,1,1,0,0 -> 0>1 1>1 1>1 1>0 0>0
    #           after on: 3 (on 2);  after off: 6 (on 2)
    markov = fit("markov", TRAIN)
    np.testing.assert_allclose(markov.on_after_on, [(0 + 1) / (3 + 2), (5 + 1) / (6 + 2), (2 + 1) / (3 + 2)])
    np.testing.assert_allclose(markov.on_after_off, [(3 + 1) / (6 + 2), (3 + 1) / (3 + 2), (2 + 1) / (6 + 2)])


def test_the_frequencies_count_the_training_frames_with_add_one_smoothing():
    # 9 frames; note 0 on in 2 (A) + 1 (B) = 3, note 1 in 4 + 4 = 8, note 2 in 1 + 3 = 4.
    np.testing.assert_allclose(fit("frequency", TRAIN).on, [(3 + 1) / (9 + 2), (8 + 1) / (9 + 2), (4 + 1) / (9 + 2)])


def test_previous_frame_on_the_test_tune():
    # q = 15/29. Changed notes: frame 0 ([000]->[110]) 2, frame 1 ([110]->[100]) 1, frame 2 ([100]->[001]) 2,
    # so 5 changed and 4 kept over 3 frames.
    result = evaluate(fit("previous_frame", TRAIN), [TEST])
    assert result["log_likelihood"] == pytest.approx((4 * math.log(15 / 29) + 5 * math.log(14 / 29)) / 3)
    # The prediction is the previous frame: [000], [110], [100] against [110], [100], [001]:
    #   frame 0: FN notes 0, 1;  frame 1: TP note 0, FP note 1;  frame 2: FP note 0, FN note 2.
    assert (result["frames"], result["tp"], result["fp"], result["fn"]) == (3, 1, 2, 3)
    assert result["accuracy"] == pytest.approx(1 / (1 + 2 + 3))
    # p(on) is 15/29 where the previous note was on (frame 1 notes 0, 1; frame 2 note 0), 14/29 elsewhere (6).
    # The notes on: frame 0 notes 0, 1 (p 14/29 each), frame 1 note 0 (15/29), frame 2 note 2 (14/29).
    sum_pv, sum_p, sum_v = (14 + 14 + 15 + 14) / 29, (3 * 15 + 6 * 14) / 29, 4
    assert result["expected_accuracy"] == pytest.approx(sum_pv / (sum_p + sum_v - sum_pv))


def test_the_markov_chain_on_the_test_tune():
    # p(on) = (1/5, 3/4, 3/5) after on, (1/2, 4/5, 3/8) after off:
    #   frame 0, after [000]: p = 1/2, 4/5, 3/8; v = 1 1 0; predicted 1 1 0 (1/2 >= 0.5: on)
    #   frame 1, after [110]: p = 1/5, 3/4, 3/8; v = 1 0 0; predicted 0 1 0
    #   frame 2, after [100]: p = 1/5, 4/5, 3/8; v = 0 0 1; predicted 0 1 0
    result = evaluate(fit("markov", TRAIN), [TEST])
    expected = (math.log(1 / 2) + math.log(4 / 5) + math.log(5 / 8)
                + math.log(1 / 5) + math.log(1 / 4) + math.log(5 / 8)
                + math.log(4 / 5) + math.log(1 / 5) + math.log(3 / 8)) / 3
    assert result["log_likelihood"] == pytest.approx(expected)
    # TP: frame 0 notes 0, 1. FP: note 1 in frames 1, 2. FN: frame 1 note 0, frame 2 note 2.
    assert (result["frames"], result["tp"], result["fp"], result["fn"]) == (3, 2, 2, 2)
    assert result["accuracy"] == pytest.approx(2 / (2 + 2 + 2))
    sum_pv = 1 / 2 + 4 / 5 + 1 / 5 + 3 / 8
    sum_p = (1 / 2 + 4 / 5 + 3 / 8) + (1 / 5 + 3 / 4 + 3 / 8) + (1 / 5 + 4 / 5 + 3 / 8)
    assert result["expected_accuracy"] == pytest.approx(sum_pv / (sum_p + 4 - sum_pv))
    assert result["expected_accuracy"] == pytest.approx(15 / 52)  # the same, reduced by hand


def test_the_frequencies_on_the_test_tune():
    # p(on) = 4/11, 9/11, 5/11 in every frame; predicted 0 1 0 in every frame.
    result = evaluate(fit("frequency", TRAIN), [TEST])
    expected = (math.log(4 / 11) + math.log(9 / 11) + math.log(6 / 11)    # v = 1 1 0
                + math.log(4 / 11) + math.log(2 / 11) + math.log(6 / 11)  # v = 1 0 0
                + math.log(7 / 11) + math.log(2 / 11) + math.log(5 / 11)) / 3  # v = 0 0 1
    assert result["log_likelihood"] == pytest.approx(expected)
    # TP: frame 0 note 1. FP: note 1 in frames 1, 2. FN: frame 0 note 0, frame 1 note 0, frame 2 note 2.
    assert (result["frames"], result["tp"], result["fp"], result["fn"]) == (3, 1, 2, 3)
    assert result["accuracy"] == pytest.approx(1 / 6)
    sum_pv, sum_p = 4 / 11 + 9 / 11 + 4 / 11 + 5 / 11, 3 * (4 + 9 + 5) / 11
    assert result["expected_accuracy"] == pytest.approx(sum_pv / (sum_p + 4 - sum_pv))
    assert result["expected_accuracy"] == pytest.approx(11 / 38)


def test_a_silent_frame_precedes_every_tune():
    previous = fit("previous_frame", TRAIN)
    np.testing.assert_array_equal(previous.prediction(TEST), [[0, 0, 0], [1, 1, 0], [1, 0, 0]])
    q = 15 / 29
    np.testing.assert_allclose(previous.probabilities(TEST), [[1 - q] * 3, [q, q, 1 - q], [q, 1 - q, 1 - q]])
    # the first frame of a tune that starts with every note on is still predicted from silence
    np.testing.assert_array_equal(previous.prediction(np.ones((2, 3)))[0], [0, 0, 0])
    markov = fit("markov", TRAIN)
    np.testing.assert_allclose(markov.probabilities(np.ones((1, 3))), [[1 / 2, 4 / 5, 3 / 8]])


def test_previous_frame_predicts_the_copy_even_when_notes_mostly_change():
    # One note, 0 (silent), then 1 0 1 0: all 4 transitions change, so q = (0 + 1) / (4 + 2) = 1/6 < 0.5;
    # its prediction stays the previous frame, not the more likely complement.
    previous = fit("previous_frame", [np.array([[1], [0], [1], [0]])])
    assert previous.keep == pytest.approx(1 / 6)
    np.testing.assert_allclose(previous.probabilities(np.array([[1], [1]])), [[5 / 6], [1 / 6]])
    np.testing.assert_array_equal(previous.prediction(np.array([[1], [1]])), [[0], [1]])
    # predicted 0 1 against 1 1: TP 1 (frame 1), FN 1 (frame 0), FP 0
    result = evaluate(previous, [np.array([[1], [1]])])
    assert (result["tp"], result["fp"], result["fn"], result["accuracy"]) == (1, 0, 1, 1 / 2)


def test_frames_of_every_tune_weigh_equally():
    # Two tunes of 3 and 1 frames: the mean is over the 4 frames, not the mean of the tunes' means.
    # Frequency: [1 1 0] scores log(4/11) + log(9/11) + log(6/11); [0 0 1] log(7/11) + log(2/11) + log(5/11).
    result = evaluate(fit("frequency", TRAIN), [TEST, np.array([[0, 0, 1]])])
    first = 2 * (math.log(4 / 11) + math.log(6 / 11)) + math.log(9 / 11) + math.log(2 / 11)
    first += math.log(7 / 11) + math.log(2 / 11) + math.log(5 / 11)
    last = math.log(7 / 11) + math.log(2 / 11) + math.log(5 / 11)
    assert result["log_likelihood"] == pytest.approx((first + last) / 4)
    assert result["frames"] == 4


def reference(name: str, train: list[np.ndarray], tunes: list[np.ndarray]) -> tuple[float, int, int, int, float]:
    """Log-likelihood per frame, TP, FP, FN and expected accuracy, with plain loops over frames and notes."""
    n = train[0].shape[1]
    counts = {}  # (note, previous state, state) -> number of training transitions
    for tune in train:
        before = [0] * n
        for frame in tune:
            for i in range(n):
                key = (i, int(before[i]), int(frame[i]))
                counts[key] = counts.get(key, 0) + 1
            before = frame
    frames = sum(len(tune) for tune in train)

    def p_on(i: int, before: int) -> float:
        if name == "previous_frame":
            kept = sum(c for (_, b, s), c in counts.items() if b == s)
            q = (kept + 1) / (frames * n + 2)
            return q if before else 1 - q
        if name == "markov":
            on, off = counts.get((i, before, 1), 0), counts.get((i, before, 0), 0)
            return (on + 1) / (on + off + 2)
        on = sum(c for (j, _, s), c in counts.items() if j == i and s == 1)
        return (on + 1) / (frames + 2)

    total, tp, fp, fn, pv, ps, vs, count = 0.0, 0, 0, 0, 0.0, 0.0, 0.0, 0
    for tune in tunes:
        before = [0] * n
        for frame in tune:
            count += 1
            for i in range(n):
                p, v = p_on(i, int(before[i])), int(frame[i])
                total += math.log(p if v else 1 - p)
                guess = int(before[i]) if name == "previous_frame" else int(p >= 0.5)
                tp, fp, fn = tp + guess * v, fp + guess * (1 - v), fn + (1 - guess) * v
                pv, ps, vs = pv + p * v, ps + p, vs + v
            before = frame
    return total / count, tp, fp, fn, pv / (ps + vs - pv)


@pytest.mark.parametrize("name", BASELINES)
def test_random_rolls_agree_with_a_loop_over_frames_and_notes(name):
    rng = np.random.default_rng(0)
    train = [(rng.random((length, 4)) < 0.3).astype(np.uint8) for length in (7, 1, 12)]
    tunes = [(rng.random((length, 4)) < 0.4).astype(np.float32) for length in (5, 9, 0)]
    result = evaluate(fit(name, train), tunes)
    log_likelihood, tp, fp, fn, expected_accuracy = reference(name, train, tunes)
    assert result["log_likelihood"] == pytest.approx(log_likelihood)
    assert (result["frames"], result["tp"], result["fp"], result["fn"]) == (14, tp, fp, fn)
    assert result["accuracy"] == pytest.approx(tp / max(tp + fp + fn, 1))
    assert result["expected_accuracy"] == pytest.approx(expected_accuracy)


@pytest.mark.parametrize("convert", [lambda roll: roll.astype(bool), lambda roll: roll.astype(np.float32),
                                     torch.from_numpy, lambda roll: roll.tolist()],
                         ids=["bool", "float32", "torch", "list"])
def test_any_binary_dtype_gives_the_same_numbers(convert):
    for name in BASELINES:
        assert evaluate(fit(name, [convert(t) for t in TRAIN]), [convert(TEST)]) == evaluate(fit(name, TRAIN), [TEST])


def test_one_row_per_baseline_and_split():
    rows = baseline_rows(TRAIN, {"valid": [TEST], "test": [TUNE_A]})
    assert [(row["baseline"], row["split"]) for row in rows] == list(itertools.product(BASELINES, ("valid", "test")))
    assert rows[0] == {"baseline": "previous_frame", "split": "valid", **evaluate(fit("previous_frame", TRAIN), [TEST])}
    assert rows[5]["frames"] == 4 and rows[5]["tp"] == evaluate(fit("frequency", TRAIN), [TUNE_A])["tp"]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: fit("copy", TRAIN), r"unknown baseline 'copy': choose one of previous_frame, markov, frequency"),
    (lambda: fit("markov", []), r"no tunes"),
    (lambda: fit("markov", [TUNE_A, np.array([1, 0, 1])]), r"tune 1 has shape \(3,\): a piano roll is 2-D"),
    (lambda: fit("markov", [np.array([[0, 0.5, 1]])]), r"tune 0 is not binary: it holds 0\.5"),
    (lambda: fit("markov", [TUNE_A, np.ones((2, 4))]), r"tune 1 has 4 notes, not 3"),
    (lambda: fit("markov", [np.zeros((2, 0))]), r"tune 0 has no notes"),
    (lambda: evaluate(fit("markov", TRAIN), [np.ones((2, 5))]), r"tune 0 has 5 notes, not 3"),
    (lambda: evaluate(fit("markov", TRAIN), [TEST, np.full((1, 3), 2)]), r"tune 1 is not binary: it holds 2"),
    (lambda: evaluate(fit("markov", TRAIN), []), r"no tunes"),
    (lambda: evaluate(fit("markov", TRAIN), [np.zeros((0, 3))]), r"no frames"),
    (lambda: fit("frequency", TRAIN).prediction(np.ones(3)), r"tune 0 has shape \(3,\)"),
], ids=["name", "empty", "1-D", "non-binary", "note counts", "no notes", "evaluated notes", "evaluated non-binary",
        "evaluated empty", "no frames", "prediction 1-D"])
def test_refusals(call, match):
    with pytest.raises(ValueError, match=match):
        call()
