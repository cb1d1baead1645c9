"""shared_threads: OpenBLAS's parallel sections and the compiled passes on numba's threads,
with the same numbers as outside the block; a no-op, with a reason, where it cannot."""

import contextlib
import ctypes
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, threads
from chainrule.autodiff import blas
from chainrule.optim import kernels

pytest.importorskip("numba")

WHY = threads.unavailable()
needs_sharing = pytest.mark.skipif(WHY is not None, reason=f"threads not shared here: {WHY}")

# large enough for OpenBLAS to cut each product into jobs for its threads
SHAPES = [(128, 784, 256), (512, 784, 1024), (784, 128, 256), (300, 1000, 7)]


def _registered() -> int | None:
    """The callback OpenBLAS holds now (None: its own threads)."""
    lib = ctypes.CDLL(blas.openblas().path)
    return ctypes.c_void_p.in_dll(lib, "openblas_threads_callback_").value


def _products(dtype):
    rng = np.random.default_rng(0)
    out = []
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        out.append((a @ b, a.T.copy().T @ b, b.T @ a.T))
    return out


@needs_sharing
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_are_bit_identical_inside(dtype):
    outside = _products(dtype)
    with cr.shared_threads() as count:
        assert count >= 2 and threads.parts() == count
        assert _registered() is not None
        inside = _products(dtype)
    for xs, ys in zip(outside, inside, strict=True):
        for x, y in zip(xs, ys, strict=True):
            np.testing.assert_array_equal(x, y)


@needs_sharing
def test_nested_blocks_share_until_the_outer_one_ends():
    assert threads.parts() == 1 and _registered() is None
    with cr.shared_threads() as outer:
        with cr.shared_threads() as inner:
            assert inner == outer == threads.parts()
        assert threads.parts() == outer and _registered() is not None
    assert threads.parts() == 1 and _registered() is None


@needs_sharing
def test_a_block_ended_by_an_exception_gives_openblas_its_threads_back():
    with pytest.raises(RuntimeError), cr.shared_threads():
        raise RuntimeError("boom")
    assert threads.parts() == 1 and _registered() is None


@needs_sharing
@pytest.mark.parametrize("inside", [(True, True), (True, False)])
def test_several_python_threads_multiply_at_once_inside_a_block_or_not(inside):
    """Each thread its own products, one of them with a transposed operand: OpenBLAS's
    sections from two threads once ran on the pool at once and gave garbage (19 of 40
    pairs wrong here), also to a thread outside any block while another was inside one."""
    rng = np.random.default_rng(1)
    sets = [
        [
            rng.standard_normal(shape).astype(np.float32)
            for shape in ((512, 784), (784, 512), (512, 512))
        ]
        for _ in inside
    ]
    expected = [(x @ w, d @ w.T) for x, w, d in sets]
    errors = []

    def work(k):
        x, w, d = sets[k]
        with cr.shared_threads() if inside[k] else contextlib.nullcontext():
            for _ in range(40):
                if not np.array_equal(x @ w, expected[k][0]):
                    errors.append(k)
                if not np.array_equal(d @ w.T, expected[k][1]):
                    errors.append(k)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(len(inside))]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers) and errors == []
    assert threads.parts() == 1 and _registered() is None


# JAX, when another test imported it, warns on any fork; the children here run only NumPy
fork_ok = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")


def _fork_and_wait(child) -> int:
    """Run ``child()`` in a forked process; its exit status (killed after 60 s: a hang)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's exit status is the result
        code = 1
        try:
            code = 0 if child() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return -9


def _child_products_and_no_sharing() -> bool:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((512, 784)).astype(np.float32)
    b = rng.standard_normal((784, 1024)).astype(np.float32)
    with cr.shared_threads() as count:
        product = a @ b
    reference = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    close = np.allclose(product, reference, rtol=1e-4, atol=1e-3)
    return close and count == 1 and threads.unavailable() is not None and _registered() is None


@needs_sharing
@fork_ok
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_inside_gets_openblas_threads_back():
    with cr.shared_threads():
        assert _fork_and_wait(_child_products_and_no_sharing) == 0
        assert threads.parts() >= 2  # the parent still shares


@needs_sharing
@fork_ok
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_after_a_block_does_not_start_openmp():
    with cr.shared_threads():
        pass
    assert _fork_and_wait(_child_products_and_no_sharing) == 0


USER_PRANGE_THEN_FORK = """
import os, numba
from chainrule import threads

@numba.njit(parallel=True)
def total(n):
    s = 0
    for i in numba.prange(n):
        s += i
    return s

total(100)  # the program's own parallel loop starts numba's OpenMP threads
pid = os.fork()
if pid == 0:
    os._exit(0 if "fork" in (threads.unavailable() or "") else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@needs_sharing
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_after_the_programs_own_parallel_loop_is_told_sharing_is_unavailable():
    """Only chainrule's own start of the threads was noticed: the child started OpenMP
    again and GNU OpenMP killed it."""
    out = subprocess.run(
        [sys.executable, "-c", USER_PRANGE_THEN_FORK], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and out.stdout.split() == ["0"], (out.stdout, out.stderr)


def test_a_threading_layer_that_cannot_load_is_a_reason_not_a_crash():
    script = "from chainrule import threads; print(threads.unavailable())"
    env = {**os.environ, "NUMBA_THREADING_LAYER": "tbb"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "threading layer could not start" in out.stdout or "numba" in out.stdout


def _mlp_run(share: bool):
    # 512 -> 300 -> 10: the first weight (153,600 entries) takes the split Adam pass
    rng = np.random.default_rng(3)
    X = rng.standard_normal((256, 512)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    model = nn.MLP([512, 300, 10], activation="relu", seed=4)
    opt = optim.Adam(model.named_parameters(), lr=1e-3)
    history = cr.fit(
        model,
        "cross_entropy",
        opt,
        X,
        y,
        epochs=2,
        batch_size=128,
        progress=False,
        share_threads=share,
    )
    return history, [p.data.copy() for _, p in model.named_parameters()]


@needs_sharing
def test_training_inside_gives_the_bits_of_training_outside():
    assert max(p.size for _, p in nn.MLP([512, 300, 10]).named_parameters()) >= (
        threads.PARALLEL_MIN
    )
    h_in, inside = _mlp_run(True)
    h_out, outside = _mlp_run(False)
    assert h_in.step_losses == h_out.step_losses
    for x, y in zip(inside, outside, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("size", [threads.PARALLEL_MIN, 300_017, 17])
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_adam_and_finiteness_passes_equal_the_one_thread_ones(size, parts):
    module = kernels._numba_module()
    rng = np.random.default_rng(size + parts)
    p, g, v = (rng.standard_normal(size).astype(np.float32) for _ in range(3))
    s = np.abs(rng.standard_normal(size)).astype(np.float32)
    coef = np.array((0.9, 0.1, 0.999, 0.001, 1e-8, 1e-3, 1.0, kernels.tiny(np.float32)), np.float32)
    one = [a.copy() for a in (p, g, v, s)]
    module.adam(*one, coef)
    split = [a.copy() for a in (p, g, v, s)]
    module.adam_parts(*split, coef, parts)
    for x, y in zip(one, split, strict=True):
        np.testing.assert_array_equal(x, y)
    assert module.finite_parts(g, parts)
    for where in (0, size // 2, size - 1):  # a NaN or inf in the first, a middle, the last piece
        bad = g.copy()
        bad[where] = np.inf if where else np.nan
        assert not module.finite_parts(bad, parts)


def test_no_numba_means_no_sharing(monkeypatch):
    monkeypatch.setattr(threads, "compiled", lambda module: None)
    assert "numba is not installed" in threads.unavailable()
    with cr.shared_threads() as count:
        assert count == 1 and threads.parts() == 1


@needs_sharing
@pytest.mark.parametrize(
    ("count", "words"), [(1, "set to 1 thread: nothing to share"), (10_000, "NUMBA_NUM_THREADS")]
)
def test_an_openblas_thread_count_the_pool_cannot_match_is_named(monkeypatch, count, words):
    monkeypatch.setattr(blas.openblas(), "get_threads", lambda: count)
    assert words in threads.unavailable()
    with cr.shared_threads() as got:
        assert got == 1 and _registered() is None


def test_a_blas_other_than_openblas_is_named(monkeypatch):
    blas.openblas.cache_clear()
    monkeypatch.setattr(blas, "_numpy_blas_name", lambda: "accelerate")
    try:
        assert threads.unavailable() == "NumPy's BLAS is accelerate, not OpenBLAS"
    finally:
        blas.openblas.cache_clear()


CHILD_LEVELS = """
import ctypes, chainrule as cr
gomp = ctypes.CDLL("libgomp.so.1")
before = gomp.omp_get_max_active_levels()
with cr.shared_threads() as count:
    assert count >= 2, count
    print(before, gomp.omp_get_max_active_levels())
"""


@needs_sharing
def test_starting_the_pool_keeps_openmps_limit_on_nested_parallelism():
    # numba's OpenMP layer raises it to 255 as it starts; a fresh process shows it
    out = subprocess.run(
        [sys.executable, "-c", CHILD_LEVELS], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    before, inside = out.stdout.split()
    assert before == inside
