"""Process-wide CPU settings for a training job: torch threads and the C allocator.

Small-batch SGD allocates and frees a gradient the size of every weight matrix
at each update (4 MB for a 1000x1000 layer). glibc's malloc serves blocks that
large with fresh ``mmap`` pages and returns them to the kernel on ``free``, so
each update pays page faults and zeroing for all its gradients: at batch 1 this
made an SdA fine-tuning update through autograd up to 1.8x slower (docs/design.md). Keeping freed memory in the
process heap (the effect of jemalloc/tcmalloc, which PyTorch recommends for CPU
training) removes that cost without changing any number computed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import torch

# mallopt parameters, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks below this are served from the heap, and the heap keeps up to this
# much free memory: 512 MiB, far above any gradient of the tutorial's models.
KEEP_BYTES = 512 * 2**20


def keep_freed_memory() -> bool:
    """Make glibc reuse freed large blocks instead of unmapping them; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    libc = ctypes.CDLL(path)
    if not hasattr(libc, "mallopt"):  # musl and other C libraries
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))


def configure(num_threads: int | None) -> None:
    """Set up this process for training: torch's intra-op threads and the allocator. None: the CPUs SLURM gave
    the job (``SLURM_CPUS_PER_TASK``, e.g. a Hydra multirun through hydra/launcher=slurm) where it runs under
    SLURM, since torch's default counts every core of the node; elsewhere torch's default."""
    threads = num_threads or int(os.environ.get("SLURM_CPUS_PER_TASK") or 0)
    if threads:
        torch.set_num_threads(threads)
    keep_freed_memory()


def device_for(accelerator: str) -> torch.device:
    """The device ``trainer.accelerator`` asks for (cpu, gpu/cuda, auto), for the stages that run without a
    Lightning Trainer (HMC, AIS), as the Trainer would pick it."""
    if accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        from dltutorials.config import ConfigError

        raise ConfigError(f"trainer.accelerator={accelerator}, but torch sees no CUDA GPU here")
    return torch.device("cuda")
