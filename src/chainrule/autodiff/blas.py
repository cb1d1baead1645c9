"""NumPy's OpenBLAS, found once, and two of its entry points NumPy does not use.

* The threads callback (``openblas_set_threads_callback_function``, OpenBLAS 0.3.27 and
  later): :mod:`chainrule.threads` hands OpenBLAS's parallel sections to numba's threads.
* Batched products (``cblas_sgemm_batch``, ``cblas_dgemm_batch``; NumPy 2.4's OpenBLAS
  0.3.31 has them): :func:`two_products` runs two independent matrix products at once,
  each on one thread.

The second is what the backward of a product needs: dX = dZ W^T and dW = X^T dZ read the
same dZ and nothing of each other. NumPy runs them one after the other, each cut over
OpenBLAS's threads, which pack shared panels and wait for one another. Side by side, one
per thread, measured on the benchmark machine (2 cores): alone, 784-256-256-10's
128 x 256 x 256 pair took 134-198 us against 174-245 us one after the other, and
784-1024-1024-10's 512 x 1024 x 1024 pair 7.3-8.4 ms against 7.7-10.3 ms; in the
training step, 784-1024-1024-10 trained 6-7% faster in three of four interleaved runs
(0.99x in the fourth) and 784-256-256-10 no faster (0.98-1.03x).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from pathlib import Path

import numpy as np

#: (prefix, suffix) of OpenBLAS's exported names, with the prefix of its CBLAS names:
#: NumPy's wheels (64-bit integers, then 32-bit) and system builds.
_NAMINGS = (
    ("scipy_openblas_", "64_", "scipy_cblas_"),
    ("scipy_openblas_", "", "scipy_cblas_"),
    ("openblas_", "64_", "cblas_"),
    ("openblas_", "", "cblas_"),
)

#: Each product of :func:`two_products` must have more multiply-adds (m * n * k) than
#: this to be batched. OpenBLAS's batch sends products of at most 100^3 to its
#: small-matrix kernels, a path that crashed (a segmentation fault) in NumPy 2.4's
#: OpenBLAS 0.3.31 here; larger products run its ordinary one-thread driver.
PAIR_MIN = 1 << 20

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


class OpenBLAS:
    """The entry points chainrule uses from one loaded OpenBLAS library."""

    def __init__(self, path: str, lib: ctypes.CDLL, prefix: str, suffix: str, cblas: str):
        self.path = path
        self.set_callback = getattr(lib, f"{prefix}set_threads_callback_function{suffix}")
        self.set_callback.argtypes, self.set_callback.restype = [ctypes.c_void_p], None
        self.get_threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
        self.get_threads.argtypes, self.get_threads.restype = [], ctypes.c_int
        #: the library's build configuration (version, integer width, the CPU kernels it
        #: runs, ...), as ``get_config`` gives it; None where it has no such function
        self.config = _config(lib, prefix, suffix)
        #: dtype -> cblas_?gemm_batch (empty where the library has none, or where its
        #: integer width is not known)
        self.gemm_batch = {}
        #: the width of the library's integers (its build configuration says it)
        self.integer = _integer_type(self.config)
        if self.integer is None:
            return
        pointer, integer = ctypes.c_void_p, np.ctypeslib.as_ctypes_type(self.integer)
        for dtype, letter in ((np.dtype(np.float32), "s"), (np.dtype(np.float64), "d")):
            with contextlib.suppress(AttributeError):
                batch = getattr(lib, f"{cblas}{letter}gemm_batch{suffix}")
                batch.argtypes = [ctypes.c_int, *[pointer] * 13, integer, pointer]
                batch.restype = None
                self.gemm_batch[dtype] = batch


def _config(lib: ctypes.CDLL, prefix: str, suffix: str) -> str | None:
    """OpenBLAS's build configuration string, or None without ``get_config``."""
    try:
        get_config = getattr(lib, f"{prefix}get_config{suffix}")
    except AttributeError:
        return None
    get_config.argtypes, get_config.restype = [], ctypes.c_char_p
    return (get_config() or b"").decode("ascii", "replace")


def _integer_type(config: str | None) -> np.dtype | None:
    """int64 for an OpenBLAS built with 64-bit integers (``USE64BITINT`` in its build
    configuration, whatever its names), int32 otherwise; None without the configuration."""
    if config is None:
        return None
    return np.dtype(np.int64 if "USE64BITINT" in config.split() else np.int32)


def _candidate_paths() -> list[str]:
    """NumPy's bundled libraries first, then every loaded library named like OpenBLAS."""
    where = getattr(np, "__file__", None)  # None in some frozen applications
    bundled = Path(where).resolve().parent.parent / "numpy.libs" if where else None
    paths = sorted(str(p) for p in bundled.glob("*openblas*")) if bundled else []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/maps").read_text().splitlines():
            fields = line.split(maxsplit=5)
            path = fields[5] if len(fields) == 6 else ""
            if "openblas" in Path(path).name and path not in paths:
                paths.append(path)
    return paths


def _numpy_blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        return str(config["Build Dependencies"]["blas"]["name"])
    except (TypeError, KeyError, AttributeError):
        return "unknown"


@functools.cache
def openblas() -> OpenBLAS | str:
    """NumPy's OpenBLAS with the threads callback, or why there is none."""
    name = _numpy_blas_name()
    if "openblas" not in name.lower():
        return f"NumPy's BLAS is {name}, not OpenBLAS"
    for path in _candidate_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, cblas in _NAMINGS:
            with contextlib.suppress(AttributeError):
                return OpenBLAS(path, lib, prefix, suffix, cblas)
    return "NumPy's OpenBLAS has no threads callback (it needs OpenBLAS 0.3.27 or later)"


def two_products(a1, b1, a2, b2):
    """``(a1 @ b1, a2 @ b2)`` for matrices, the two products side by side where both are
    large and OpenBLAS runs on 2 threads.

    Batched (one OpenBLAS call, each product on one thread) when NumPy's OpenBLAS has the
    batch API and runs on exactly 2 threads (the count it was measured with), the four
    operands are aligned float32 or float64 NumPy matrices of one dtype that BLAS reads in
    place, and each product is matrix by matrix (both sides at least 2) with more than
    :data:`PAIR_MIN` multiply-adds; not for a float32 product of two row-major operands,
    which NumPy's OpenBLAS may send to a kernel of its own (``sgemm_direct``). Each product
    then gets the numbers of OpenBLAS's one-thread driver, NumPy's with OpenBLAS on one
    thread (on two threads OpenBLAS may block a long inner dimension differently: a
    last-bit difference). Otherwise plain NumPy.
    """
    if _pairable(a1, b1) and _pairable(a2, b2) and a2.dtype == a1.dtype:
        blas = openblas()
        if not isinstance(blas, str) and a1.dtype in blas.gemm_batch and blas.get_threads() == 2:
            operands = [_operand(x) for x in (a1, b1, a2, b2)]
            if _batchable(blas, a1.dtype, operands, (a1, b1, a2, b2)):
                return _batch(blas, (a1, b1, *operands[:2]), (a2, b2, *operands[2:]))
    return a1 @ b1, a2 @ b2


def _batchable(blas: OpenBLAS, dtype, operands, arrays) -> bool:
    """Whether the batch computes both products as :func:`two_products` says: every
    operand read in place, no float32 product of two row-major operands, and every size
    within the library's integers."""
    if None in operands:
        return False
    row_major = [flag == _NO_TRANS for flag, _ in operands]
    if dtype == np.float32 and ((row_major[0] and row_major[1]) or (row_major[2] and row_major[3])):
        return False
    if blas.integer.itemsize == 8:  # sizes beyond 64-bit integers are not allocatable
        return True
    largest = max(max(max(x.shape) for x in arrays), max(ld for _, ld in operands))
    return largest <= np.iinfo(blas.integer).max


def _pairable(a, b) -> bool:
    """A product of :func:`two_products` big enough to batch, and of matrices."""
    return (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.ndim == 2 == b.ndim
        and a.size * b.shape[1] > PAIR_MIN
        and a.shape[1] == b.shape[0]
        and min(a.shape[0], b.shape[1]) > 1
        and a.dtype == b.dtype
    )


def _operand(a: np.ndarray) -> tuple[int, int] | None:
    """(CBLAS transpose flag, leading dimension) of a row-major matrix, or None if BLAS
    cannot read it in place (misaligned, or neither rows nor columns of unit stride)."""
    size = a.itemsize
    rows, cols = a.strides
    if not a.flags.aligned:
        return None
    if cols == size and rows % size == 0 and rows >= a.shape[1] * size:
        return _NO_TRANS, rows // size
    if rows == size and cols % size == 0 and cols >= a.shape[0] * size:
        return _TRANS, cols // size
    return None


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _batch(blas: OpenBLAS, first, second):
    """One ``cblas_?gemm_batch`` call of two groups of one product each, C = A B for
    ``first`` and ``second`` = (A, B, (transA, ldA), (transB, ldB)); returns both C."""
    (a1, b1, (ta1, la1), (tb1, lb1)), (a2, b2, (ta2, la2), (tb2, lb2)) = first, second
    dtype = a1.dtype
    c1 = np.empty((a1.shape[0], b1.shape[1]), dtype)
    c2 = np.empty((a2.shape[0], b2.shape[1]), dtype)
    flags = np.array((ta1, ta2, tb1, tb2), np.intc)
    # per group: m, n, k, lda, ldb, ldc, group size
    ints = np.array(
        (
            (c1.shape[0], c2.shape[0]),
            (c1.shape[1], c2.shape[1]),
            (a1.shape[1], a2.shape[1]),
            (la1, la2),
            (lb1, lb2),
            (c1.shape[1], c2.shape[1]),
            (1, 1),
        ),
        blas.integer,
    )
    pointers = np.array(
        ((_address(a1), _address(a2)), (_address(b1), _address(b2)), (_address(c1), _address(c2))),
        np.uintp,
    )
    scalars = np.array((1, 1, 0, 0), dtype)  # alpha, then beta, per group
    f, i, p, s = (_address(x) for x in (flags, ints, pointers, scalars))
    row, pointer_row = 2 * blas.integer.itemsize, 2 * pointers.itemsize
    m, n, k, lda, ldb, ldc, sizes = (i + j * row for j in range(7))
    a, b, c = (p + j * pointer_row for j in range(3))
    transb, beta = f + 2 * flags.itemsize, s + 2 * dtype.itemsize
    batch = blas.gemm_batch[dtype]
    batch(_ROW_MAJOR, f, transb, m, n, k, s, a, lda, b, ldb, beta, c, ldc, 2, sizes)
    return c1, c2
