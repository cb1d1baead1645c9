"""The benchmark tests' shared fixture: the runner called in process, its pinning undone."""

import contextlib
import os
import sys

import pytest

from chainrule.bench import threads


def _pool_sizes_restored():
    """Restores the sizes of the BLAS/OpenMP pools loaded now on exit (threadpoolctl's,
    where it is installed: without it the runner changes none)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=None)


@pytest.fixture
def bench():
    """The runner, ``chainrule.bench.run``, whose ``main`` pins this process's threads: it
    starts with no thread variables set, and the variables, the CPUs of every thread, the
    loaded BLAS/OpenMP pools and PyTorch's pool (where loaded before the test) are
    restored afterwards."""
    # (monkeypatch.delenv records nothing for a variable that is not set: the runner's
    # values would stay)
    saved_env = {var: os.environ.pop(var, None) for var in threads.thread_env(1)}
    cpus = os.sched_getaffinity(0)
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    from chainrule.bench import run

    with _pool_sizes_restored():
        yield run
    for var, value in saved_env.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    threads.set_affinity(cpus)
    if torch is not None:
        torch.set_num_threads(torch_threads)
