"""The process set-up of training jobs (threads, allocator, OpenMP wait policy)."""

import ctypes.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from dltutorials import runtime

# Run in a fresh interpreter: glibc raises its mmap threshold by itself after an
# earlier large free, so only a process that has freed nothing large yet shows
# what the setting changes.
MALLOC_PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, sys
    import torch
    from dltutorials import runtime

    libc = ctypes.CDLL(ctypes.util.find_library("c"))

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "keep":
        assert runtime.keep_freed_memory()
    mapped = libc.mallinfo2().hblkhd
    block = torch.empty(1000, 1000)  # 4 MB, a 1000x1000 layer's gradient
    mapped_while_held = libc.mallinfo2().hblkhd - mapped
    del block
    free_in_heap = libc.mallinfo2().fordblks
    print(mapped_while_held, free_in_heap)
""")


def malloc_probe(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode], capture_output=True, text=True, check=True)
    mapped, free = out.stdout.split()
    return int(mapped), int(free)


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None
                    or not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"),
                    reason="glibc >= 2.33 only (mallinfo2)")
def test_freed_gradients_stay_in_the_heap():
    """Without the setting a 4 MB block is a fresh mmap, returned on free; with it, heap memory kept after del."""
    block = 1000 * 1000 * 4
    mapped, _ = malloc_probe("default")
    assert mapped >= block, "glibc's default: a block this large is mmapped"
    mapped, free_after_del = malloc_probe("keep")
    assert mapped < block, "with keep_freed_memory: served from the heap"
    assert free_after_del >= block, "and kept in the heap (free for the next gradient) after del"


def test_configure_sets_torch_threads(monkeypatch):
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    before = torch.get_num_threads()
    try:
        runtime.configure(1)
        assert torch.get_num_threads() == 1
        runtime.configure(None)  # None leaves the setting alone outside SLURM
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_configure_takes_the_cpus_slurm_gave_the_job(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    try:
        runtime.configure(None)
        assert torch.get_num_threads() == 3
        runtime.configure(2)  # the job's own setting (the workflow's threads) comes first
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_package_makes_openmp_threads_sleep_unless_the_user_chose():
    """Set on import, before torch loads OpenMP: waiting threads must not spin beside other busy programs."""
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    probe = "import dltutorials, os; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"
