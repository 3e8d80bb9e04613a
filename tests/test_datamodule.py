"""In-memory minibatches: chunks are the right slices, evaluation follows the tutorial's protocol."""

from __future__ import annotations

import pytest
import torch

from dltutorials.data.datamodule import MinibatchDataModule


@pytest.fixture(scope="module")
def mnist_dir(results_dir):
    return results_dir / "data" / "mnist"


def test_chunks_are_consecutive_minibatches_in_the_tutorials_order(mnist_dir):
    datamodule = MinibatchDataModule(mnist_dir, batch_size=20, updates_per_step=50)
    datamodule.setup()
    assert datamodule.n_train_batches == 2500
    loader = datamodule.train_dataloader()
    assert len(loader) == 50
    x, y = datamodule.splits["train"]
    seen = 0
    for xs, ys in loader:
        assert xs.shape == (50, 20, 784) and ys.shape == (50, 20)
        assert torch.equal(xs[3], x[(seen + 3) * 20:(seen + 4) * 20])  # minibatch index = position
        assert xs.untyped_storage().data_ptr() == x.untyped_storage().data_ptr(), "a view, not a copy"
        seen += len(xs)
    assert seen == 2500


def test_incomplete_last_training_minibatch_is_dropped(mnist_dir):
    datamodule = MinibatchDataModule(mnist_dir, batch_size=600)
    datamodule.setup()
    assert datamodule.n_train_batches == 83  # 49,800 of 50,000 examples, as in the tutorial
    assert sum(len(xs) for xs, _ in datamodule.train_dataloader()) == 83


@pytest.mark.parametrize("tutorial_evaluation, n_examples", [(True, 9600), (False, 10000)])
def test_tutorial_evaluation_averages_whole_minibatches_only(mnist_dir, tutorial_evaluation, n_examples):
    datamodule = MinibatchDataModule(mnist_dir, batch_size=600, tutorial_evaluation=tutorial_evaluation)
    datamodule.setup()
    assert len(datamodule.valid_tensors[1]) == n_examples
    assert datamodule.n_test_examples == n_examples
    assert sum(len(y) for _, y in datamodule.test_dataloader()) == n_examples


def test_batch_larger_than_the_training_set_is_an_error(mnist_dir):
    datamodule = MinibatchDataModule(mnist_dir, batch_size=600, train_subset=100)
    with pytest.raises(ValueError, match="batch_size 600 exceeds the 100 training examples"):
        datamodule.setup()
