"""The prepared tunes of a piano-roll dataset (``data/midi.py``'s splits) for the RNN-RBM (chapter 12).

Apart from ``datamodule.py``'s image minibatches, so that a change to the piano rolls leaves the image
models' results current (``provenance.numerics_files_of`` follows imports file by file).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from dltutorials.data.midi import load_tunes


class TuneDataModule(L.LightningDataModule):
    """Piano-roll tunes of a prepared split (``data/midi.py``), one tune per training step; with
    ``transposed``, every tune moved to C major / A minor (section 12.4's preprocessing).

    The tutorial's ``train`` shuffles the list of tunes every epoch and walks
    each tune in order; here the DataLoader's shuffle does the first (from the
    seeded global generator) and the model's ``training_step`` the second.
    """

    def __init__(self, data_dir: str | Path, train_subset: int | None = None, transposed: bool = False) -> None:
        super().__init__()
        self.data_dir, self.train_subset, self.transposed = Path(data_dir), train_subset, transposed
        self.tunes: dict[str, list[Tensor]] = {}

    def split(self, name: str, subset: int | None = None) -> list[Tensor]:
        """The tunes of a split as float32 (n_frames, n_notes) tensors; the first ``subset`` only if given."""
        if name not in self.tunes:
            path = self.data_dir / f"{name}.npz"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: prepared split not found; make it with: snakemake --cores 1 {path}")
            self.tunes[name] = [torch.from_numpy(tune.astype(np.float32)) for tune in load_tunes(path, self.transposed)]
        return self.tunes[name][:subset]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.training_tunes, batch_size=None, shuffle=True)

    @property
    def training_tunes(self) -> list[Tensor]:
        """The tunes training sees (the first ``train_subset`` when set)."""
        return self.split("train", self.train_subset)
