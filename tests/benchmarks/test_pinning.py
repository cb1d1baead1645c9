"""The runner's thread pinning: every thread of the process is bound, and an in-process run
(the smoke tests') leaves the test process as it found it."""

import contextlib
import os
import subprocess
import sys

import pytest

from chainrule.bench import threads

TINY = ["--configs", "a", "--steps", "2", "--warmup", "1", "--pause", "0", "--peak-n", "64"]
needs_two_cpus = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="pinning to fewer CPUs needs at least 2"
)

# A thread that exists before pin_threads runs (as OpenBLAS's workers do in the runner,
# started when ``import chainrule`` loads NumPy): its CPUs, and the others', after it.
CHILD = """
import os, threading
import numpy
from chainrule.bench.threads import pin_threads
started, stop = threading.Event(), threading.Event()
threading.Thread(target=lambda: (started.set(), stop.wait())).start()
started.wait()
pin_threads(1)
tasks = os.listdir("/proc/self/task")
print(len(tasks), sorted({tuple(sorted(os.sched_getaffinity(int(t)))) for t in tasks}))
stop.set()
"""


@needs_two_cpus
def test_pin_threads_restricts_the_threads_that_already_run():
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    n_tasks, masks = done.stdout.split(" ", 1)
    first = min(os.sched_getaffinity(0))
    assert int(n_tasks) >= 2 and masks.strip() == f"[({first},)]"


def _state():
    """What pinning changes: the thread variables, the CPUs of every thread, the loaded
    BLAS/OpenMP pools' sizes."""
    tasks = os.listdir("/proc/self/task")
    cpus = set()
    for task in tasks:
        with contextlib.suppress(ProcessLookupError):  # the thread has ended since
            cpus.add(frozenset(os.sched_getaffinity(int(task))))
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pools = None
    else:
        pools = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    return {var: os.environ.get(var) for var in threads.thread_env(1)}, cpus, pools


@pytest.fixture
def unchanged():
    """Fails at teardown if the test process's thread settings changed (set up before the
    ``bench`` fixture, so checked after its restoring)."""
    before = _state()
    yield
    assert _state() == before


@needs_two_cpus
def test_an_in_process_run_leaves_the_test_process_as_it_found_it(unchanged, bench):
    bench.main([*TINY, "--systems", "numpy", "--reps", "1", "--no-memory", "--threads", "1"])
    env, cpus, pools = _state()  # the run did pin, and all of it is undone afterwards
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert cpus == {frozenset([min(os.sched_getaffinity(0))])}
    assert pools is None or all(n == 1 for _, n in pools)
