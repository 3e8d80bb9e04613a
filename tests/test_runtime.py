"""The process set-up of training jobs (threads, allocator)."""

import ctypes
import ctypes.util
import sys

import pytest
import torch

from dltutorials import runtime


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="glibc only")
def test_freed_gradients_stay_in_the_heap():
    """After keep_freed_memory, a 4 MB block (a 1000x1000 gradient) comes from the heap, not a fresh mmap."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("no mallinfo2 in this C library")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc.mallinfo2.restype = MallInfo2
    assert runtime.keep_freed_memory()
    mapped_before = libc.mallinfo2().hblkhd
    block = torch.empty(1000, 1000)
    # served from the heap, not from a fresh mmap: the mmapped total does not grow by 4 MB
    assert libc.mallinfo2().hblkhd - mapped_before < block.numel() * block.element_size()


def test_configure_sets_torch_threads():
    before = torch.get_num_threads()
    try:
        runtime.configure(1)
        assert torch.get_num_threads() == 1
        runtime.configure(None)  # None leaves the setting alone
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
