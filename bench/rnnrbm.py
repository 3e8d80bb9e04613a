"""One RNN-RBM training epoch (tutorial chapter 12) through the project's Lightning path, against a raw loop.

Both train the paper model (88-150-100 units, CD-15, lr 0.001, subsequences of
100 frames) from the same initial weights for one epoch over the same
Nottingham training tunes in the same shuffled order: the project through its
real training path (Trainer, TuneDataModule, the module's training_step), the
raw loop as a PyTorch user would write the tutorial's algorithm, with autograd
and ``torch.optim.SGD``. The ratio is project / raw, medians over interleaved
repeats. The line also gives the epoch's seconds and multiply-adds per second.
"""

from __future__ import annotations

import copy
import sys
import time
import warnings

import lightning as L
import torch
import torch.nn.functional as F
from common import exit_status, interleaved, report
from hydra.utils import instantiate

from dltutorials.config import compose
from dltutorials.data.datamodule import TuneDataModule

warnings.filterwarnings("ignore")


class EpochTimer(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def project_epoch(cfg, initial, tunes, order) -> float:
    model = copy.deepcopy(initial)
    timer = EpochTimer()
    trainer = instantiate(cfg.trainer, max_epochs=1, callbacks=[timer], logger=False, enable_progress_bar=False)
    trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader([tunes[i] for i in order], batch_size=None))
    return timer.seconds


def raw_epoch(cfg, initial, tunes, order) -> float:
    """The tutorial's train(): per subsequence, the RNN over its frames, CD-k in every frame's RBM at once,
    SGD on the free-energy difference with the chain's end constant."""
    m = {name: p.detach().clone().requires_grad_() for name, p in initial.named_parameters()}
    u0, k, length = initial.initial_state.clone(), cfg.model.module.cd_k, cfg.model.module.sequence_length
    optimizer = torch.optim.SGD(m.values(), lr=cfg.model.module.learning_rate)

    def free_energy(v, bv, bh):
        return -(v * bv).sum(1) - F.softplus(bh + v @ m["weight"].T).sum(1)

    start = time.perf_counter()
    for i in order:
        for v in tunes[i].split(length):
            inputs = m["recurrent_bias"] + v @ m["W_vu"]
            states, u = [], u0
            for t in range(len(v)):
                u = torch.tanh(inputs[t] + u @ m["W_uu"])
                states.append(u)
            before = torch.stack([u0, *states[:-1]])
            bv, bh = m["visible_bias"] + before @ m["W_uv"], m["hidden_bias"] + before @ m["W_uh"]
            with torch.no_grad():
                sample = v
                for _ in range(k):
                    h = torch.bernoulli(torch.sigmoid(bh + sample @ m["weight"].T))
                    sample = torch.bernoulli(torch.sigmoid(bv + h @ m["weight"]))
                h = torch.bernoulli(torch.sigmoid(bh + sample @ m["weight"].T))
                pre = bv + h @ m["weight"]
                (v * F.logsigmoid(pre) + (1 - v) * F.logsigmoid(-pre)).sum(1).mean()  # the monitor
            optimizer.zero_grad(set_to_none=True)
            ((free_energy(v, bv, bh).sum() - free_energy(sample, bv, bh).sum()) / len(v)).backward()
            optimizer.step()
    return time.perf_counter() - start


def multiply_adds(tunes, n_visible, n_hidden, n_recurrent, cd_k) -> float:
    """Multiply-adds of one epoch, per frame: the Gibbs chain (2k VH), the monitor's half step, h at the data
    and at the chain's end and the weight gradient (6 VH), the RNN forward, its bias matmuls and their
    backward (3 R(V+H) + 3 R^2 + 2 VR)."""
    per_frame = ((2 * cd_k + 6) * n_visible * n_hidden + 3 * n_recurrent * (n_visible + n_hidden)
                 + 3 * n_recurrent**2 + 2 * n_visible * n_recurrent)
    return per_frame * sum(len(tune) for tune in tunes)


def main(repeats: int = 3) -> None:
    torch.set_num_threads(1)  # the workflow's one thread per job
    cfg = compose([], config_name="rnnrbm")
    tunes = TuneDataModule(cfg.data.prepared_dir).training_tunes
    low, high = cfg.data.note_range
    L.seed_everything(cfg.seed, verbose=False)
    initial = instantiate(cfg.model.module, n_visible=high - low)
    order = torch.randperm(len(tunes)).tolist()
    project, raw = interleaved(lambda: project_epoch(cfg, initial, tunes, order),
                               lambda: raw_epoch(cfg, initial, tunes, order), repeats)
    macs = multiply_adds(tunes, high - low, initial.n_hidden, initial.n_hidden_recurrent, initial.cd_k)
    report("rnnrbm_epoch", project, raw, 1.15, repeats,
           extra=f"project {project:.1f}s raw {raw:.1f}s per epoch of {len(tunes)} tunes; "
                 f"{macs / project / 1e9:.1f} GMAC/s; tutorial about 432 s per epoch (24 h / 200)")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
