"""One pool of threads for NumPy's matrix products and chainrule's compiled passes.

NumPy's OpenBLAS runs a large product on its own worker threads, which keep spinning on
the other cores for a while after each product. chainrule's compiled passes (the Adam
update, the finiteness check of the gradients) run between the products, so splitting
them over the other cores meant fighting those spinners: on the benchmark machine (2
cores) that lost more than it saved. And the spinner slows even a one-core pass: the Adam
pass of a 784-256-256-10 network took 248 us beside it, 193 us with OpenBLAS on one
thread.

:func:`shared_threads` removes the fight. Inside it, OpenBLAS hands its parallel sections
to numba's threads (OpenBLAS's caller-managed threading: ``openblas_set_threads_callback_
function``, OpenBLAS 0.3.27 and later), and the compiled passes split arrays of at least
:data:`PARALLEL_MIN` entries over the same threads (:func:`parts`). The numbers do not
change: OpenBLAS cuts a product into the same pieces whichever threads run them, and the
passes are elementwise (the finiteness check is an exact "and"), so a run inside gives
the bits of a run outside. ``Trainer.fit`` and the benchmark's chainrule systems train
inside it; a script's own loop can too::

    with chainrule.shared_threads():
        for x, y in batches:
            ...

The pool has as many threads as OpenBLAS is set to use (``OPENBLAS_NUM_THREADS``,
``threadpoolctl``), read on entry. Where it cannot be shared, :func:`shared_threads` does
nothing and :func:`unavailable` says why: numba (the ``fast`` extra) missing, a threading
layer other than OpenMP (the jobs of one product wait for one another, so they need a
static schedule, one job per thread), NumPy's BLAS not an OpenBLAS with the callback,
OpenBLAS on one thread, more OpenBLAS threads than ``NUMBA_NUM_THREADS``, or a process
forked from one whose OpenMP threads had started (GNU OpenMP cannot start threads there;
a child forked inside the block gets OpenBLAS's own threads back). While a block is
open, do not raise OpenBLAS's thread count, nor lower numba's (``numba.set_num_threads``)
in a thread that multiplies matrices: a product's jobs would then wait on one another
forever.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from chainrule.autodiff.backend import broken_numba, compiled
from chainrule.autodiff.blas import openblas

#: Arrays shorter than this stay on one thread. Measured in the training steps of the
#: benchmark (2 threads): splitting the passes over the 200,704 weights of
#: 784-256-256-10's first layer gained; over 784-100-10's 78,400 (batch 10: the products
#: stay on one thread, so the pool's second thread sleeps) the optimizer lost 17 us a step
#: to waking it and the next backward 8 us to its spinning; splitting 784-256-256-10's
#: 65,536-weight layer too changed nothing measurable (0.968 against 0.970 of JAX's
#: throughput, 15 interleaved repetitions).
PARALLEL_MIN = 1 << 17


class _Pool:
    """The process's sharing state; it mirrors the callback OpenBLAS holds."""

    lock = threading.Lock()
    depth = 0  # open shared_threads() blocks, over all threads
    parts = 1  # what parts() returns
    layer = None  # numba's threading layer, once this module has started its threads
    forked = False  # this process is a fork of one where they had


def parts() -> int:
    """How many pieces a compiled pass may split a large array into: the pool's thread
    count inside :func:`shared_threads`, 1 outside it."""
    return _Pool.parts


def unavailable() -> str | None:
    """Why :func:`shared_threads` would not share threads here, or None if it would."""
    if _Pool.forked:
        return "this process is a fork of one whose OpenMP threads had started"
    try:
        pool = compiled("chainrule._numba_pool")
    except (ValueError, ImportError) as exc:  # NUMBA_THREADING_LAYER names one not installed
        return f"numba's threading layer could not start: {exc}"
    if pool is None:
        error = broken_numba()
        if error is None:
            return "numba is not installed (pip install 'chainrule[fast]')"
        return f"numba cannot be imported ({type(error).__name__}: {error})"
    blas = openblas()
    if isinstance(blas, str):
        return blas
    count = blas.get_threads()
    if count < 2:
        return f"OpenBLAS is set to {count} thread: nothing to share"
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if count > limit:
        return f"OpenBLAS is set to {count} threads, numba to at most {limit} (NUMBA_NUM_THREADS)"
    if _Pool.layer is None:  # started once: the layer cannot change afterwards
        _Pool.layer = pool.threading_layer()
    layer = _Pool.layer
    if layer != "omp":
        return f"numba's threading layer is {layer!r}; sharing needs 'omp' (OpenMP)"
    return None


@contextlib.contextmanager
def shared_threads() -> Iterator[int]:
    """Share one pool of threads between NumPy's OpenBLAS and chainrule's compiled passes
    for the duration of the block; yields the pool's thread count (1: not shared, see
    :func:`unavailable`). Re-entrant and usable from several threads at once."""
    with _Pool.lock:
        count = _enter()
    restore = _match_numba_threads(count)
    try:
        yield count
    finally:
        if restore is not None:
            restore()
        with _Pool.lock:
            _leave(count)


def _enter() -> int:
    if _Pool.depth:
        _Pool.depth += 1
        return _Pool.parts
    if unavailable() is not None:
        return 1
    pool = compiled("chainrule._numba_pool")
    openblas().set_callback(pool.blas_callback.address)
    _Pool.depth, _Pool.parts = 1, openblas().get_threads()
    return _Pool.parts


def _leave(count: int) -> None:
    if count < 2 or _Pool.depth == 0:  # not shared, or reset by a fork
        return
    _Pool.depth -= 1
    if _Pool.depth == 0:
        openblas().set_callback(None)
        _Pool.parts = 1


def _match_numba_threads(count: int):
    """numba's thread count is per calling thread: make this one's at least ``count``
    (OpenBLAS's jobs need one thread each); return how to undo it, or None."""
    if count < 2:
        return None
    import numba

    before = numba.get_num_threads()
    if before >= count:
        return None
    numba.set_num_threads(count)
    return lambda: numba.set_num_threads(before)


def _after_fork_in_child() -> None:
    _Pool.lock = threading.Lock()  # a thread of the parent may have held it
    if _Pool.depth:
        openblas().set_callback(None)
        _Pool.depth, _Pool.parts = 0, 1
    # numba's threads started in the parent, by chainrule or by the program's own
    # parallel loops: starting them here would kill the child (GNU OpenMP after fork)
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if _Pool.layer is not None or getattr(parallel, "_is_initialized", False):
        _Pool.forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
