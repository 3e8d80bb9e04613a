"""SdA fine-tuning updates at batch 1 with the project's allocator setting against glibc's default.

``dltutorials.runtime.keep_freed_memory`` keeps freed gradient blocks in the
heap. Each side runs in its own fresh process (the setting is process-wide):
forward, backward and SGD step of the paper SdA's 784-1000-1000-1000-10
network through autograd (``gradient="autograd"``: the path that allocates a
gradient per weight, as LeNet and autograd-trained layers still do), one
example per update, one thread. Ratio: project / default.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from common import exit_status, interleaved, report

UPDATES = 1000


def seconds_per_update(keep_freed: bool) -> float:
    """Time UPDATES batch-1 SGD updates in this process (after a warm-up)."""
    from dltutorials import runtime
    from dltutorials.models.stacked import StackedSigmoidClassifier

    torch.set_num_threads(1)
    if keep_freed:
        runtime.keep_freed_memory()
    torch.manual_seed(0)
    model = StackedSigmoidClassifier(n_in=784, hidden_sizes=[1000, 1000, 1000], n_out=10, learning_rate=0.1,
                                     gradient="autograd")
    optimizer = model.configure_optimizers()
    x, y = torch.rand(100, 1, 784), torch.randint(0, 10, (100, 1))

    def update(i: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i % 100]), y[i % 100]).backward()
        optimizer.step()

    for i in range(100):
        update(i)
    start = time.perf_counter()
    for i in range(UPDATES):
        update(i)
    return (time.perf_counter() - start) / UPDATES


def in_fresh_process(keep_freed: bool) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", str(int(keep_freed))],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main(repeats: int = 3) -> None:
    project, default = interleaved(functools.partial(in_fresh_process, True),
                                   functools.partial(in_fresh_process, False), repeats)
    report("sda_finetune_update_batch1_allocator", project, default, 0.85, repeats,
           extra=f"project {project * 1e3:.2f} ms default {default * 1e3:.2f} ms per update")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(seconds_per_update(bool(int(sys.argv[2]))))
    else:
        main()
        sys.exit(exit_status())
