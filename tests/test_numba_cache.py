"""Compiled kernels where numba finds no place for its on-disk cache (a package folder and
a home the process may not write in): ``cache=True`` raised ``RuntimeError`` at import, so
every ReLU layer and every Adam step failed; :func:`chainrule._numba_cache.cached`
compiles them uncached instead."""

import numpy as np
import pytest

numba = pytest.importorskip("numba")
caching = pytest.importorskip("numba.core.caching")

from chainrule._numba_cache import cached  # noqa: E402


@pytest.fixture
def nowhere_to_cache(monkeypatch):
    # numba's locators are the places it tries; none left is a folder nobody may write in
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])


def _twice(x):
    return 2 * x


def test_numba_refuses_cache_true_with_no_place_for_the_cache(nowhere_to_cache):
    with pytest.raises(RuntimeError, match="cannot cache function"):
        numba.njit(cache=True)(_twice)


def test_cached_kernels_compile_without_the_cache_there(nowhere_to_cache):
    kernel = cached(numba.njit, error_model="numpy")(_twice)
    np.testing.assert_array_equal(kernel(np.arange(3.0)), [0.0, 2.0, 4.0])
    callback = cached(numba.cfunc, "float64(float64)", nopython=True)(_twice)
    assert callback.ctypes(1.5) == 3.0


def test_the_compiled_rules_run_where_numba_has_no_place_for_the_cache():
    # a fresh process, as a user's: its kernel modules are imported with no locator left
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []
        import numpy as np
        import chainrule as cr
        from chainrule import nn, optim
        from chainrule.autodiff.backend import engine_kernels
        assert engine_kernels() is not None
        model = nn.MLP([3, 4, 2], activation="relu", seed=0)
        opt = optim.Adam(model.named_parameters(), fused=True)
        x = np.ones((5, 3), np.float32)
        cr.losses.cross_entropy(model(x), np.array([0, 1, 0, 1, 0])).backward()
        opt.step()
        with cr.shared_threads():
            np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
        print("ran")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ran"
