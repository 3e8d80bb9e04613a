"""One CD-1 epoch of a 784-500 RBM on MNIST at batch 20: the project's RBM against scikit-learn's BernoulliRBM.

Both make the 2,500 updates of one pass over the 50,000 training images,
learning rate 0.1, float32, on the same in-memory array. The project's RBM
(explicit gradient) is driven by a plain loop over minibatch slices calling
``update``, summing its monitor like ``training_step``; BernoulliRBM.fit
(PCD-1, the same three propagations and statistics per update) is the
baseline. Ratio = project / sklearn, medians over interleaved repeats, with
the project timed on its real training path (a Lightning Trainer over
MinibatchChunks).

Also reported: the GFLOP/s of the bare CD-1 step loop over its matmuls and,
for scale, a large float32 matmul's GFLOP/s on this machine.

Run from the repository root: ``python bench/rbm.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from common import exit_status, interleaved, report
from sklearn.neural_network import BernoulliRBM

from dltutorials.data.prepare import load_split
from dltutorials.models.rbm import RBM

warnings.filterwarnings("ignore")

TRAIN = "results/data/mnist/train.npz"
N_VISIBLE, N_HIDDEN, BATCH, LEARNING_RATE = 784, 500, 20, 0.1
GOAL = 0.67


def cd1_epoch_flops(n_updates: int) -> int:
    """Matmul flops of ``n_updates`` CD-1 updates (2 flops per multiply-add).

    Per update of a B-row minibatch: three propagations, propup(x),
    propdown(h0_sample) and propup(v1_sample), each a (B x nv) by (nv x nh)
    product of 2 B nv nh flops; plus the gradient [h0; -h1]' [x; v1], an
    (nh x 2B) by (2B x nv) product of 2 (2B) nv nh flops. In all
    10 B nv nh per update = 78.4 MFLOP at B=20, nv=784, nh=500.
    """
    return n_updates * (3 * 2 * BATCH * N_VISIBLE * N_HIDDEN + 2 * (2 * BATCH) * N_VISIBLE * N_HIDDEN)


def project_epoch(x: torch.Tensor) -> float:
    """Seconds of one CD-1 epoch of the project's RBM over minibatch slices of ``x``."""
    torch.manual_seed(0)
    rbm = RBM(N_VISIBLE, N_HIDDEN, LEARNING_RATE, cd_k=1, gradient="explicit")
    n_batches = len(x) // BATCH
    total = torch.zeros(())
    start = time.perf_counter()
    for i in range(n_batches):
        total += rbm.update(x[i * BATCH:(i + 1) * BATCH])
    seconds = time.perf_counter() - start
    assert torch.isfinite(total), "non-finite monitor"
    return seconds


def sklearn_epoch(x: np.ndarray) -> float:
    """Seconds of BernoulliRBM.fit for one epoch (n_iter=1) on ``x``."""
    rbm = BernoulliRBM(n_components=N_HIDDEN, learning_rate=LEARNING_RATE, batch_size=BATCH, n_iter=1,
                       random_state=0)
    start = time.perf_counter()
    rbm.fit(x)
    return time.perf_counter() - start


def lightning_epoch(x: torch.Tensor) -> float:
    """Seconds of one epoch through a Lightning Trainer over MinibatchChunks (the training path)."""
    import lightning as L
    from torch.utils.data import DataLoader

    from dltutorials.data.datamodule import MinibatchChunks, chunk_bounds

    class EpochTimer(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            self.seconds = time.perf_counter() - self.start

    n_batches = len(x) // BATCH
    loader = DataLoader(MinibatchChunks((x,), BATCH, chunk_bounds(n_batches, n_batches, 50)), batch_size=None)
    torch.manual_seed(0)
    rbm = RBM(N_VISIBLE, N_HIDDEN, LEARNING_RATE, cd_k=1, gradient="explicit")
    timer = EpochTimer()
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])
    trainer.fit(rbm, train_dataloaders=loader)
    return timer.seconds


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n x n by n x n float32 matmul (2 n^3 flops), median of ``repeats``."""
    a, b, c = torch.rand(n, n), torch.rand(n, n), torch.empty(n, n)
    torch.mm(a, b, out=c)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    x_np = np.ascontiguousarray(load_split(TRAIN)[0], dtype=np.float32)
    x = torch.from_numpy(x_np)
    project_epoch(x[:200 * BATCH])  # warm-up: thread pools, allocator
    # the ratio is taken on the real training path (Trainer over chunks), the
    # GFLOP/s on the bare CD step (the update loop without Lightning)
    project, baseline = interleaved(lambda: lightning_epoch(x), lambda: sklearn_epoch(x_np), args.repeats)
    step_seconds = statistics.median(project_epoch(x) for _ in range(args.repeats))
    gflops = cd1_epoch_flops(len(x) // BATCH) / step_seconds / 1e9
    extra = (f"project {project:.3f}s sklearn {baseline:.3f}s per epoch; CD-1 step loop {step_seconds:.3f}s "
             f"= {gflops:.1f} GFLOP/s (goal >= 40); matmul 2048 {matmul_gflops():.1f} GFLOP/s; "
             f"{torch.get_num_threads()} threads")
    report(f"rbm_cd1_epoch_batch{BATCH}", project, baseline, GOAL, args.repeats, extra=extra)


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
