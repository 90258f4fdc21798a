"""Keeps glibc from returning freed memory to the OS after every training step.

PyTorch's CPU kernels allocate and free multi-megabyte buffers (LSTM gradients, activations) on
every step. glibc serves blocks that large with fresh ``mmap`` pages, or trims them off the heap
when they are freed, so each step pays for zero-filling page faults: on a 2-core machine that
was more than half the training time of the reference tagger. Raising glibc's mmap and trim
thresholds (``mallopt``) keeps the buffers in the heap for reuse. Peak memory is unchanged; memory
freed late in a run is kept by the process instead of handed back. Set ``TAGGER_MALLOPT=0`` to
leave the allocator alone (or use jemalloc/tcmalloc through ``LD_PRELOAD``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024

_tuned = False


def keep_freed_memory() -> bool:
    """Raises glibc's mmap and trim thresholds once per process; True when they were set.

    A no-op (False) off Linux, on a C library without ``mallopt``, or with ``TAGGER_MALLOPT=0``.
    """
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("TAGGER_MALLOPT", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned
