"""Memory for channel buffers: large ones in ordinary pages, so that a point never stalls.

numpy asks the kernel for transparent huge pages on every array of 4 MiB or more. Where the
kernel's THP `defrag` setting is `madvise` (Debian's default), the first write into each
2 MiB of such an array may make the kernel compact memory to find a huge page, in the
writing process and for milliseconds at a time. A scan writes its points in that order,
so a 1-D channel (8 KiB a point) stalled every 256 points: on the project's machine a
1-D scan took 20 to 40 µs a point instead of 20. Buffers at least `LARGE_BYTES` big are
therefore anonymous memory maps that refuse huge pages; their pages come one at a time,
each cheap, as the scan writes them. Smaller buffers stay ordinary numpy arrays.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

LARGE_BYTES = 4 << 20  # numpy's own threshold for asking for huge pages


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array, in memory that never waits for a huge page when large.

    The memory map is released with the last array that views it, like any numpy memory.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < LARGE_BYTES:
        return np.empty(shape, dtype)
    memory = mmap.mmap(-1, nbytes)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):  # Linux; elsewhere the map is left as it comes
        memory.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)
