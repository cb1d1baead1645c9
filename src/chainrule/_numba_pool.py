"""numba's side of :mod:`chainrule.threads` (importing this imports numba).

OpenBLAS (0.3.27 and later) lets its caller run its parallel sections: a function
registered with ``openblas_set_threads_callback_function`` receives each section as
``count`` jobs and must run them all at once, ``job(i, data + i * size, token)`` for
``i < count``, before it returns. :func:`blas_callback` is that function, compiled as a C
callback; it runs the jobs as one ``prange`` loop on numba's threads, the threads that
chainrule's parallel compiled passes use too.

The jobs of a matrix product wait for one another (each packs a panel that the others
read), so they must run on ``count`` distinct threads at once: numba's OpenMP layer
(static schedule) gives each of ``count`` iterations its own thread when the calling
thread's numba thread count is at least ``count``, which :mod:`chainrule.threads`
ensures before it registers the callback.
"""

from __future__ import annotations

import ctypes

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from chainrule._numba_cache import cached


def _start_threads() -> None:
    """Start numba's threading layer, keeping OpenMP's limit on nested parallelism.

    Started now: the cfunc below is compiled on import and, loaded from numba's cache,
    links against the layer's scheduler, which must be loaded first. numba's OpenMP layer
    switches nested parallelism on for the whole process as it starts
    (``omp_set_nested(1)``: 255 active levels instead of 1), so every OpenMP user whose
    parallel loops call into parallel code starts a team of threads inside each thread:
    measured here, PyTorch imported afterwards ran its Adam step 7-9x slower. chainrule
    nests no parallel loops: put back the limit the GNU OpenMP runtime had (numba's
    wheels link that runtime on Linux; loaded here first, numba's layer shares it).
    """
    try:
        runtime = ctypes.CDLL("libgomp.so.1")
    except OSError:
        runtime = None
    levels = runtime.omp_get_max_active_levels() if runtime is not None else None
    numba.get_num_threads()
    if runtime is not None:
        runtime.omp_set_max_active_levels(levels)


_start_threads()

#: The C signature OpenBLAS calls: (sync, job, count, size, data, token).
CALLBACK_SIGNATURE = types.void(
    types.int32, types.intp, types.int32, types.uintp, types.intp, types.int32
)


@intrinsic
def _call_job(typingctx, job, index, data, token):
    """Call the C function at address ``job`` as ``void job(int, void *, int)``."""
    signature = types.void(types.intp, types.int32, types.intp, types.int32)

    def codegen(context, builder, sig, args):
        address, i, pointer, tok = args
        byte_pointer = ir.IntType(8).as_pointer()
        fn_type = ir.FunctionType(ir.VoidType(), [ir.IntType(32), byte_pointer, ir.IntType(32)])
        fn = builder.inttoptr(address, fn_type.as_pointer())
        builder.call(fn, [i, builder.inttoptr(pointer, byte_pointer), tok])
        return context.get_dummy_value()

    return signature, codegen


@cached(numba.njit, parallel=True, nogil=True)
def run_jobs(job, count, size, data, token):
    """Run OpenBLAS's ``count`` jobs at once, one per numba thread."""
    for i in numba.prange(count):
        _call_job(job, np.int32(i), data + i * size, token)


def _lock_word(builder):
    """The callback's lock: a 32-bit word of the compiled module's own data, 0 when free
    (a fresh 0 in every process, also when the code comes from numba's cache)."""
    module = builder.module
    name = "chainrule_blas_section_lock"
    try:
        return module.get_global(name)
    except KeyError:
        word = ir.GlobalVariable(module, ir.IntType(32), name=name)
        word.linkage = "internal"
        word.initializer = ir.Constant(ir.IntType(32), 0)
        return word


@intrinsic
def _acquire(typingctx):
    """Spin until this thread holds the lock (compare-and-swap 0 -> 1), yielding the CPU
    between tries: the sections of other threads' products run one at a time."""

    def codegen(context, builder, sig, args):
        word = _lock_word(builder)
        i32 = ir.IntType(32)
        yield_fn = builder.module.globals.get("sched_yield") or ir.Function(
            builder.module, ir.FunctionType(i32, []), name="sched_yield"
        )
        loop = builder.append_basic_block("acquire")
        done = builder.append_basic_block("acquired")
        builder.branch(loop)
        builder.position_at_end(loop)
        swapped = builder.cmpxchg(
            word, ir.Constant(i32, 0), ir.Constant(i32, 1), "acquire", "monotonic"
        )
        with builder.if_then(builder.not_(builder.extract_value(swapped, 1))):
            builder.call(yield_fn, [])
        builder.cbranch(builder.extract_value(swapped, 1), done, loop)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _release(typingctx):
    def codegen(context, builder, sig, args):
        builder.store_atomic(ir.Constant(ir.IntType(32), 0), _lock_word(builder), "release", 4)
        return context.get_dummy_value()

    return types.void(), codegen


@cached(numba.cfunc, CALLBACK_SIGNATURE, nopython=True)
def blas_callback(sync, job, count, size, data, token):
    """The callback registered with OpenBLAS (``sync`` is ignored: every call waits).

    One section at a time: OpenBLAS's jobs of two sections that ran at once on the pool
    (products from two threads) shared buffers, and both products came out wrong."""
    _acquire()
    run_jobs(job, count, np.intp(size), data, token)
    _release()


@cached(numba.njit, parallel=True)
def _touch(n):
    total = 0
    for i in numba.prange(n):
        total += i
    return total


def threading_layer() -> str:
    """Start numba's threads (a tiny parallel loop) and name the layer that runs them."""
    _touch(numba.get_num_threads())
    return numba.threading_layer()
