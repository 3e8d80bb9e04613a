"""A batch-1 SGD update of the SdA's fine-tuning network against the machine's memory bandwidth.

At batch 1 an update of the 784-1000-1000-1000-10 network does about 3
multiply-adds per weight, so its time is set by moving the 11 MB of weights,
not by arithmetic. The baseline is the traffic of a plain update: every
weight read once in the forward pass, then read and written once by the step
(3 x the weights' bytes), at the copy bandwidth measured in the same run on
buffers of the same size (``dst.copy_(src)`` moves 2 x its bytes). The
project's update is timed as training runs it, a chunk of 250 examples through
``update_chunk``, whose first layer moves only 2 x its bytes (the step joined
to the next example's forward product), so the ratio can fall below 1.
Ratio: project update / baseline; one thread, like the SdA's jobs.
"""

from __future__ import annotations

import functools
import sys
import time

import torch
from common import exit_status, interleaved, report

from dltutorials import runtime
from dltutorials.models.stacked import StackedSigmoidClassifier

SIZES = [1000, 1000, 1000]
UPDATES = 2000  # in chunks of 250


def update_seconds(model: StackedSigmoidClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds per update of the project's own (in-place) SGD step, one example per update, in chunks."""
    model.update_chunk(x, y)
    start = time.perf_counter()
    for _ in range(UPDATES // len(x)):
        model.update_chunk(x, y)
    return (time.perf_counter() - start) / (UPDATES // len(x) * len(x))


def traffic_seconds(weight_bytes: int) -> float:
    """Seconds to move 3 x ``weight_bytes`` at the copy bandwidth of a buffer that large."""
    src = torch.rand(weight_bytes // 4)
    dst = torch.empty_like(src)
    for _ in range(20):
        dst.copy_(src)
    copies = 500
    start = time.perf_counter()
    for _ in range(copies):
        dst.copy_(src)
    bandwidth = 2 * weight_bytes * copies / (time.perf_counter() - start)
    return 3 * weight_bytes / bandwidth


def main(repeats: int = 5) -> None:
    torch.set_num_threads(1)
    runtime.keep_freed_memory()
    torch.manual_seed(0)
    model = StackedSigmoidClassifier(n_in=784, hidden_sizes=SIZES, n_out=10, learning_rate=0.1)
    weight_bytes = sum(w.numel() * w.element_size() for w in model.weight_matrices())
    x, y = torch.rand(250, 1, 784), torch.randint(0, 10, (250, 1))  # one chunk, as training's
    project, baseline = interleaved(functools.partial(update_seconds, model, x, y),
                                    functools.partial(traffic_seconds, weight_bytes), repeats)
    report("sda_finetune_update_batch1_bandwidth", project, baseline, 2.0, repeats,
           extra=f"update {project * 1e3:.3f} ms; {weight_bytes / 1e6:.1f} MB of weights moved 3x at the copy "
                 f"bandwidth {3 * weight_bytes / baseline / 1e9:.1f} GB/s = {baseline * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
