"""Keep freed memory in the process, so that training steps stop faulting pages in afresh.

A NumPy engine returns a fresh array from every op. glibc's malloc serves large blocks with
``mmap`` (above a dynamic threshold of at most 32 MiB) and trims the heap top once the free
space there exceeds twice that threshold, so memory freed at the end of one training step
goes back to the kernel and the next step pays a page fault, and a zeroing, for every
4 KiB it touches again. Measured on the benchmark machine (784-1024-1024-10 ReLU, batch
512, 2 threads): about 6,900 faults a step with glibc's defaults, and a step 20-25% slower
than with the freed memory kept; a later measurement of the fused step found no faults
left to save (docs/benchmarks-history.md, the second round): how much it helps depends on
the allocation pattern.

:func:`keep_freed_memory` raises glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``
(``mallopt``) so that freed blocks stay mapped and are reused. It is a setting of the
whole process: the process keeps the memory of its largest step instead of returning it
between steps. ``chainrule train`` calls it; scripts may call it once at start.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: Blocks up to this size come from the heap (and are reused) instead of ``mmap``.
MMAP_THRESHOLD = 1 << 30
#: Free memory at the heap top kept before glibc returns any to the kernel.
TRIM_THRESHOLD = 1 << 30

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse; return whether it agreed.

    A no-op returning False where the C library is not glibc (macOS, musl, Windows).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, TypeError, AttributeError):
        return False
    return bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )
