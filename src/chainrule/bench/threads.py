"""The one place that pins BLAS/OpenMP/XLA thread counts for every system.

Thread pools read their size when their library loads, and ``import chainrule`` loads
NumPy: so ``chainrule bench`` measures in a child process whose environment holds the
settings from the start (:func:`run_pinned`), and the child calls :func:`pin_threads`
for what can only be set from inside (CPU affinity, PyTorch's pool). Libraries already
loaded when :func:`pin_threads` runs (the in-process smoke tests) are limited through
``threadpoolctl`` when it is installed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping

_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def usable_cpus() -> int:
    """How many CPUs this process may run on: its affinity where it can be asked (Linux),
    else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_env(n: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment variables that size every library's thread pool to ``n``.

    ``environ`` supplies the ``XLA_FLAGS`` to extend (default: this process's).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"thread count: expected an integer >= 1, got {n!r}")
    settings = {var: str(n) for var in _ENV_VARS}
    xla = environ.get("XLA_FLAGS", "")
    if n == 1 and "xla_cpu_multi_thread_eigen" not in xla:
        xla = f"{xla} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    settings["XLA_FLAGS"] = xla.strip()
    return settings


def environment_pinned(n: int) -> bool:
    """Whether this process's environment already holds :func:`thread_env` for ``n``."""
    return all(os.environ.get(var) == value for var, value in thread_env(n).items())


def run_pinned(module: str, argv: list[str], n: int) -> int:
    """Run ``python -m module *argv`` with ``n`` threads pinned from its start.

    The child inherits this process's environment plus :func:`thread_env` and its
    standard streams; it is expected to call :func:`pin_threads` itself (affinity,
    PyTorch). Returns the child's exit status.
    """
    env = {**os.environ, **thread_env(n)}
    return subprocess.run([sys.executable, "-m", module, *argv], env=env, check=False).returncode


def pin_threads(n: int) -> dict[str, str]:
    """Set every thread-count knob to ``n``; return what was set, for the report.

    XLA's CPU backend has no "n threads" switch and (jax 0.10) ignores
    ``--xla_cpu_multi_thread_eigen=false``: it sizes its pool from the CPUs the process may
    run on. So for ``n`` below the CPU count the process is also restricted to its first
    ``n`` CPUs (:func:`set_affinity`: every thread, the pools' workers started already
    included, and the threads started later inherit it), which binds every system alike.
    """
    settings = thread_env(n)
    os.environ.update(settings)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if 0 < n < len(cpus):
        set_affinity(cpus[:n])
        settings["affinity"] = ",".join(map(str, cpus[:n]))
    if "numpy" in sys.modules:
        _limit_loaded_pools(n)
    return settings


def set_affinity(cpus) -> None:
    """Let every thread of this process run only on ``cpus`` (Linux).

    ``sched_setaffinity`` binds one thread: the threads that run already (OpenBLAS's
    workers, started when NumPy loaded) are bound one by one, from ``/proc/self/task``.
    """
    try:
        tasks = [int(task) for task in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread only
        tasks = [0]
    for task in tasks:
        with contextlib.suppress(ProcessLookupError):  # the thread has ended since
            os.sched_setaffinity(task, cpus)


def _limit_loaded_pools(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def pinned() -> int | None:
    """The thread count set by :func:`pin_threads` (read back from the environment)."""
    value = os.environ.get("OMP_NUM_THREADS")
    return int(value) if value else None


def configure_torch(torch) -> None:
    """Size PyTorch's intra-op pool like the others (it is set by a call, not only env)."""
    n = pinned()
    if n is not None:
        torch.set_num_threads(n)
