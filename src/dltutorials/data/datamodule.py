"""In-memory minibatches for the tutorial's models.

Each split lives in memory as one tensor (the tutorial's "shared variable"
advice, section 3.2): a minibatch is a slice, never a collation of examples.
Training batches are *chunks* of consecutive minibatches, stacked as
(k, batch_size, ...) views, that a model's ``training_step`` consumes in k
updates. As in the tutorial, the training set is visited in the same order
every epoch and an incomplete last minibatch is dropped.

The tutorial's validation and test errors are means over whole minibatches
(``n_valid_batches = N // batch_size`` in its Python 2 code), so with batch
600 they cover the first 9,600 of 10,000 examples. ``tutorial_evaluation``
keeps that protocol; set it false to evaluate every example.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from dltutorials.data.prepare import load_split
from dltutorials.fields import PositiveInt, check_arguments


def chunk_bounds(n_batches: int, align: int, max_chunk: int) -> list[tuple[int, int]]:
    """Split minibatch indices [0, n_batches) into chunks of at most ``max_chunk``.

    Every multiple of ``align`` (counted over all epochs) ends a chunk: with
    boundaries at the multiples of gcd(align, n_batches) inside each epoch the
    layout is identical every epoch, so validation happens between chunks.
    """
    period = math.gcd(align, n_batches)
    bounds: list[tuple[int, int]] = []
    for start in range(0, n_batches, period):
        pieces = math.ceil(period / max_chunk)
        edges = [start + round(i * period / pieces) for i in range(pieces + 1)]
        bounds.extend(zip(edges[:-1], edges[1:]))
    return bounds


class MinibatchChunks(Dataset):
    """Chunk i is minibatches bounds[i] of each tensor (inputs, labels, ...), as (k, batch_size, ...) views."""

    def __init__(self, tensors: tuple[Tensor, ...], batch_size: int, bounds: list[tuple[int, int]]) -> None:
        self.tensors, self.batch_size, self.bounds = tensors, batch_size, bounds

    def __len__(self) -> int:
        return len(self.bounds)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        start, stop = self.bounds[index]
        rows = slice(start * self.batch_size, stop * self.batch_size)
        k = stop - start
        return tuple(t[rows].view(k, self.batch_size, *t.shape[1:]) for t in self.tensors)


class SplitSlices(Dataset):
    """Consecutive slices of at most ``size`` examples, the last one possibly shorter."""

    def __init__(self, x: Tensor, y: Tensor, size: int) -> None:
        self.x, self.y, self.size = x, y, size

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.size)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]


class MinibatchDataModule(L.LightningDataModule):
    """train/valid/test splits from ``<data_dir>/{train,valid,test}.npz`` (arrays x, y).

    ``chunk_alignment`` must be set to the early-stopping validation frequency
    so that every validation point ends a chunk.
    """

    def __init__(self, data_dir: str | Path, batch_size: PositiveInt, updates_per_step: PositiveInt = 250,
                 eval_batch_size: PositiveInt = 2000, train_subset: PositiveInt | None = None,
                 tutorial_evaluation: bool = True) -> None:
        check_arguments(MinibatchDataModule, locals())
        super().__init__()
        self.data_dir = Path(data_dir)
        self.batch_size = batch_size
        self.updates_per_step = updates_per_step
        self.eval_batch_size = eval_batch_size
        self.train_subset = train_subset
        self.tutorial_evaluation = tutorial_evaluation
        self.chunk_alignment: int | None = None
        self.splits: dict[str, tuple[Tensor, Tensor]] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        for split in ("train", "valid", "test"):
            x, y = load_split(self.data_dir / f"{split}.npz")
            self.splits[split] = (torch.from_numpy(x), torch.from_numpy(y))
        if self.train_subset is not None:
            x, y = self.splits["train"]
            self.splits["train"] = (x[: self.train_subset], y[: self.train_subset])
        if self.tutorial_evaluation:  # whole minibatches only, like the tutorial's error means
            for split in ("valid", "test"):
                x, y = self.splits[split]
                n = len(y) // self.batch_size * self.batch_size
                self.splits[split] = (x[:n], y[:n])
        if self.n_train_batches < 1:
            n_train = len(self.splits["train"][1])
            raise ValueError(f"batch_size {self.batch_size} exceeds the {n_train} training examples")

    @property
    def n_train_batches(self) -> int:
        return len(self.splits["train"][1]) // self.batch_size

    @property
    def valid_tensors(self) -> tuple[Tensor, Tensor]:
        return self.splits["valid"]

    @property
    def n_test_examples(self) -> int:
        return len(self.splits["test"][1])

    def train_dataloader(self) -> DataLoader:
        align = self.chunk_alignment or self.n_train_batches
        bounds = chunk_bounds(self.n_train_batches, align, self.updates_per_step)
        x, y = self.splits["train"]
        return DataLoader(MinibatchChunks((x, y), self.batch_size, bounds), batch_size=None, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(SplitSlices(*self.splits["test"], self.eval_batch_size), batch_size=None)


def load_inputs(path: str | Path) -> Tensor:
    """A layer's training inputs: a ``.npy`` matrix (codes of the layer below) or a split's ``.npz``."""
    path = Path(path)
    if path.suffix == ".npy":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: layer input not found; make it with: snakemake --cores all {path}")
        return torch.from_numpy(np.load(path))
    return torch.from_numpy(load_split(path)[0])


class UnlabelledDataModule(L.LightningDataModule):
    """The training inputs of one pretrained layer, as chunks of minibatches (no labels, no evaluation)."""

    def __init__(self, inputs: str | Path | Tensor, batch_size: int, updates_per_step: int = 250,
                 train_subset: int | None = None) -> None:
        super().__init__()
        # a file (load_inputs) or the inputs themselves, e.g. the RNN-RBM's shuffled frames
        self.inputs = inputs if isinstance(inputs, Tensor) else Path(inputs)
        self.batch_size, self.updates_per_step = batch_size, updates_per_step
        self.train_subset = train_subset
        self.x: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.x is None:
            inputs = self.inputs if isinstance(self.inputs, Tensor) else load_inputs(self.inputs)
            self.x = inputs[: self.train_subset]
            if len(self.x) < self.batch_size:
                raise ValueError(f"batch_size {self.batch_size} exceeds the {len(self.x)} inputs"
                                 + ("" if isinstance(self.inputs, Tensor) else f" in {self.inputs}"))

    @property
    def n_train_batches(self) -> int:
        return len(self.x) // self.batch_size

    def train_dataloader(self) -> DataLoader:
        bounds = chunk_bounds(self.n_train_batches, self.n_train_batches, self.updates_per_step)
        return DataLoader(MinibatchChunks((self.x,), self.batch_size, bounds), batch_size=None, shuffle=False)
