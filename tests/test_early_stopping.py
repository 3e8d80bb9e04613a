"""The tutorial's early-stopping rule (section 3.4.3), checked by hand and against a direct loop."""

from __future__ import annotations

import math
import random

import pytest
import torch

from dltutorials.data.datamodule import chunk_bounds
from dltutorials.training.early_stopping import PatienceRule, TutorialEarlyStopping


def test_rule_against_a_hand_computed_sequence():
    # 10 minibatches per epoch, patience 8 -> validation every min(10, 4) = 4 updates:
    # after iterations 3, 7, 11, 15, ...
    rule = PatienceRule(n_train_batches=10, patience=8)
    assert rule.validation_frequency == 4
    assert [it for it in range(16) if rule.validates_after(it)] == [3, 7, 11, 15]

    assert rule.record(3, 50.0)  # first result: new best; 50 < inf -> patience = max(8, 3*2) = 8
    assert rule.patience == 8 and rule.best_iteration == 3
    assert rule.record(7, 40.0)  # 40 < 50*0.995: significant -> patience = max(8, 14) = 14
    assert rule.patience == 14
    assert rule.record(11, 39.9)  # better, but 39.9 >= 40*0.995 = 39.8: best moves, patience stays
    assert rule.patience == 14 and rule.best_iteration == 11 and rule.best_error == 39.9
    assert not rule.record(15, 39.9)  # equal is not better
    assert not rule.exhausted_after(13)
    assert rule.exhausted_after(14)  # patience <= iter: stop after update 14


def test_rule_rejects_patience_too_small_to_validate():
    with pytest.raises(ValueError, match="patience"):
        PatienceRule(n_train_batches=10, patience=1)


def tutorial_loop(errors, n_train_batches, patience, n_epochs, patience_increase=2, improvement_threshold=0.995):
    """Section 4.4's loop, transcribed (nothing from the package): (best_iter, best_validation_loss, last iter).

    ``errors(iter)`` stands for the validation loss after update ``iter``.
    """
    validation_frequency = min(n_train_batches, patience // 2)
    best_validation_loss = math.inf
    best_iter = None
    done_looping = False
    epoch = 0
    it = -1
    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        for minibatch_index in range(n_train_batches):
            it = (epoch - 1) * n_train_batches + minibatch_index
            if (it + 1) % validation_frequency == 0:
                this_validation_loss = errors(it)
                if this_validation_loss < best_validation_loss:
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, it * patience_increase)
                    best_validation_loss = this_validation_loss
                    best_iter = it
            if patience <= it:
                done_looping = True
                break
    return best_iter, best_validation_loss, it


class FakeModule:
    """Stands in for a LightningModule: a parameter that records the iteration it was kept at."""

    def __init__(self, errors):
        self.iteration = 0
        self.errors = errors
        self.weight = torch.zeros(1)
        self.logged = []

    def error_rate(self, x, y):
        return self.errors(self.iteration - 1)

    def state_dict(self):
        return {"weight": torch.tensor([float(self.iteration - 1)])}

    def load_state_dict(self, state):
        self.weight = state["weight"]

    def log_dict(self, metrics, **kwargs):
        self.logged.append(metrics)


class FakeTrainer:
    should_stop = False

    class datamodule:  # noqa: N801 - mimics trainer.datamodule
        valid_tensors = (None, None)


def chunked_run(errors, n_train_batches, patience, n_epochs, max_chunk, patience_increase=2):
    """The project's way: updates in chunks, the callback applied at chunk ends only."""
    callback = TutorialEarlyStopping(n_train_batches, patience, patience_increase)
    bounds = chunk_bounds(n_train_batches, callback.validation_frequency, max_chunk)
    module, trainer = FakeModule(errors), FakeTrainer()
    for _epoch in range(n_epochs):
        for batch_idx, (start, stop) in enumerate(bounds):
            module.iteration += stop - start
            callback.on_train_batch_end(trainer, module, None, None, batch_idx)
            if trainer.should_stop:
                break
        if trainer.should_stop:
            break
    callback.on_train_end(trainer, module)
    return callback, module


@pytest.mark.parametrize("n_train_batches, patience, max_chunk", [
    (83, 5000, 50),   # logistic regression's protocol: validate every epoch
    (20, 16, 3),      # validate every 8 updates, epochs of 20: boundaries at multiples of gcd = 4
    (10, 14, 4),      # validation every 7 updates; gcd(7, 10) = 1
    (12, 30, 50),     # chunks longer than the validation period are split at it
])
@pytest.mark.parametrize("curve", ["improving", "plateau", "noisy"])
def test_chunked_training_applies_the_rule_exactly(n_train_batches, patience, max_chunk, curve):
    def errors(it):
        if curve == "improving":
            return 50.0 * math.exp(-it / 300) + 5
        if curve == "plateau":
            return max(10.0, 50.0 - it)
        return 20.0 + 5 * math.sin(it * 1.3) - it / 200

    n_epochs = 30
    best_iteration, best_error, last = tutorial_loop(errors, n_train_batches, patience, n_epochs)
    callback, module = chunked_run(errors, n_train_batches, patience, n_epochs, max_chunk)
    summary = callback.summary()
    assert summary["best_iteration"] == best_iteration
    assert summary["best_valid_error"] == best_error
    assert summary["epochs_run"] == last // n_train_batches + 1
    assert summary["iterations_run"] == last + 1
    # the weights kept are those of the best validation
    assert module.weight.item() == best_iteration
    assert summary["best_epoch"] == best_iteration // n_train_batches + 1


def test_chunk_bounds_cover_each_epoch_and_end_at_validation_points():
    for n, align, max_chunk in [(2500, 2500, 50), (83, 83, 50), (20, 8, 3), (10, 7, 4), (100, 100, 1000)]:
        bounds = chunk_bounds(n, align, max_chunk)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a < b for a, b in bounds)
        assert all(prev[1] == nxt[0] for prev, nxt in zip(bounds, bounds[1:]))
        assert all(b - a <= max_chunk for a, b in bounds)
        ends = {b for _, b in bounds}
        period = math.gcd(align, n)
        assert set(range(period, n + 1, period)) <= ends
    assert chunk_bounds(2500, 2500, 50) == [(i, i + 50) for i in range(0, 2500, 50)]
    assert chunk_bounds(83, 83, 50) == [(0, 42), (42, 83)]


def random_validation_curve(rng: random.Random):
    """Validation errors after each update: a noisy descent with plateaus, ties and tiny improvements."""
    values = {}
    level = rng.uniform(10, 60)

    def errors(it):
        nonlocal level
        if it not in values:
            move = rng.choice([-1.0, -0.3, -0.01, 0.0, 0.0, 0.2, 1.0]) * rng.random()
            level = max(0.5, level + move)
            values[it] = round(level, rng.choice([1, 2, 4]))  # rounding makes exact ties
        return values[it]

    return errors


@pytest.mark.parametrize("seed", range(300))
def test_the_callback_stops_where_the_tutorials_loop_stops(seed):
    """Random protocols and validation curves: same best iteration, best error, last update and epochs."""
    rng = random.Random(seed)
    n_train_batches = rng.randint(1, 40)
    patience = rng.randint(2, 120)
    patience_increase = rng.choice([2, 2, 1.5, 1.7, 2.5, 3])
    max_chunk = rng.randint(1, 60)
    n_epochs = rng.randint(1, 30)
    errors = random_validation_curve(rng)

    best_iteration, best_error, last = tutorial_loop(errors, n_train_batches, patience, n_epochs, patience_increase)
    callback, module = chunked_run(errors, n_train_batches, patience, n_epochs, max_chunk, patience_increase)
    summary = callback.summary()
    assert summary["best_iteration"] == best_iteration
    assert summary["best_valid_error"] == best_error
    assert summary["iterations_run"] == last + 1
    assert summary["epochs_run"] == last // n_train_batches + 1
    if best_iteration is not None:
        assert module.weight.item() == best_iteration


def test_a_non_integer_patience_increase_is_not_truncated():
    """patience = max(patience, iter * 1.5) stays a float: after iteration 7 it is 10.5, so the run stops at 11."""
    rule = PatienceRule(n_train_batches=100, patience=4, patience_increase=1.5)
    assert rule.validation_frequency == 2
    rule.record(7, 10.0)
    assert rule.patience == 10.5
    assert not rule.exhausted_after(10)  # int(10.5) = 10 would have stopped here
    assert rule.exhausted_after(11)
