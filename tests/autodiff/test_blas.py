"""two_products: two large matrix products in one OpenBLAS batch call, with the numbers
of NumPy's products on one OpenBLAS thread; plain NumPy everywhere else."""

import ctypes
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import blas

_FOUND = blas.openblas()
needs_batch = pytest.mark.skipif(
    isinstance(_FOUND, str) or not _FOUND.gemm_batch, reason="NumPy's OpenBLAS has no batch API"
)


def _set_threads(count: int) -> None:
    lib = ctypes.CDLL(blas.openblas().path)
    for prefix, suffix, _ in blas._NAMINGS:
        setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
        if setter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], None
            setter(count)
            return
    raise AssertionError("no set_num_threads in NumPy's OpenBLAS")


@pytest.fixture
def two_threads():
    """OpenBLAS on 2 threads, the count two_products batches at; restored afterwards."""
    before = blas.openblas().get_threads()
    _set_threads(2)
    if blas.openblas().get_threads() != 2:
        _set_threads(before)
        pytest.skip("NumPy's OpenBLAS cannot run on 2 threads (a single-threaded build)")
    yield
    _set_threads(before)


@pytest.fixture
def batch_calls(monkeypatch):
    """The dtypes of the batch calls two_products makes while the test runs."""
    calls = []
    found = blas.openblas()  # looked up now: another test may have cleared the cache
    for dtype, function in list(found.gemm_batch.items()):

        def record(*args, _function=function, _dtype=dtype):
            calls.append(_dtype)
            return _function(*args)

        monkeypatch.setitem(found.gemm_batch, dtype, record)
    return calls


def _linear_vjp_operands(m, n_in, n_out, dtype, seed=0):
    """(g, W^T, X^T, g) of a linear layer's backward: dX = g W^T, dW = X^T g."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, n_in)).astype(dtype)
    w = rng.standard_normal((n_in, n_out)).astype(dtype)
    g = rng.standard_normal((m, n_out)).astype(dtype)
    return g, w.T, x.T, g


# (c)'s and (d)'s layer pairs, an inner dimension OpenBLAS blocks differently on two
# threads (528), odd sizes
SHAPES = [(128, 256, 256), (512, 1024, 1024), (331, 358, 528), (129, 255, 257)]


@needs_batch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_batched_products_equal_numpys_on_one_thread(two_threads, batch_calls, dtype, shape):
    operands = _linear_vjp_operands(*shape, dtype)
    got = blas.two_products(*operands)
    assert batch_calls == [np.dtype(dtype)]
    _set_threads(1)
    expected = (operands[0] @ operands[1], operands[2] @ operands[3])
    for x, y in zip(got, expected, strict=True):
        assert x.dtype == dtype and x.flags.c_contiguous
        np.testing.assert_array_equal(x, y)


@needs_batch
@pytest.mark.parametrize(
    ("dtype", "layouts"),
    [
        (np.float32, "CF,FC"),  # a linear layer's dX, dW
        (np.float32, "FF,FF"),
        (np.float64, "CC,CC"),
        (np.float64, "FC,CF"),
    ],
)
def test_every_layout_blas_reads_is_batched_with_one_threads_numbers(
    two_threads, batch_calls, dtype, layouts
):
    rng = np.random.default_rng(2)
    order = {"C": np.ascontiguousarray, "F": np.asfortranarray}
    operands = []
    for (m, k, n), pair in zip([(150, 200, 250), (260, 130, 140)], layouts.split(","), strict=True):
        a = order[pair[0]](rng.standard_normal((m, k)).astype(dtype))
        b = order[pair[1]](rng.standard_normal((k, n)).astype(dtype))
        b.flags.writeable = False  # read-only operands are read in place too
        operands += [a, b]
    got = blas.two_products(*operands)
    assert batch_calls == [np.dtype(dtype)]
    _set_threads(1)
    np.testing.assert_array_equal(got[0], operands[0] @ operands[1])
    np.testing.assert_array_equal(got[1], operands[2] @ operands[3])


@pytest.mark.parametrize(
    ("config", "expected"),
    [(b"OpenBLAS 0.3.31  USE64BITINT DYNAMIC_ARCH", np.int64), (b"OpenBLAS 0.3.31", np.int32)],
)
def test_the_integer_width_comes_from_the_build_configuration(config, expected):
    class Lib:  # an OpenBLAS with 64-bit integers need not say so in its names
        @staticmethod
        def openblas_get_config():
            return config

    found = blas._config(Lib(), "openblas_", "")
    assert found == config.decode()
    assert blas._integer_type(found) == np.dtype(expected)
    assert blas._config(Lib(), "openblas_", "64_") is None  # no such function
    assert blas._integer_type(None) is None


@needs_batch
def test_views_that_blas_reads_in_place_are_batched(two_threads, batch_calls):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((300, 700)).astype(np.float32)
    a1, b1 = big[:, :400], big[:, 300:].T  # row stride 700 > 400; a transposed slice
    a2, b2 = big[:200, :300], np.asfortranarray(big[:300, :250])
    got = blas.two_products(a1, b1, a2, b2)
    assert batch_calls == [np.dtype(np.float32)]
    ref64 = (a1.astype(np.float64) @ b1, a2.astype(np.float64) @ b2)
    for x, y in zip(got, ref64, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-3)


def _unbatched_cases():
    f32 = np.float32
    g, wt, xt, _ = _linear_vjp_operands(128, 256, 256, f32)
    small = _linear_vjp_operands(64, 64, 64, f32)  # 64^3 multiply-adds: at most PAIR_MIN
    vector = _linear_vjp_operands(1, 2048, 1024, f32)  # one row: a matrix-vector product
    ints = [a.astype(np.int64) for a in (g, wt, xt, g)]
    w = np.ascontiguousarray(wt.T)
    return {
        "small": small,
        "vector": vector,
        "integers": ints,
        "mixed dtypes": (g, wt, xt.astype(np.float64), g.astype(np.float64)),
        "a strided operand": (g[:, ::2], wt[::2], xt, g),
        "a reversed operand": (g[::-1], wt, xt, g),
        "a broadcast operand": (np.broadcast_to(g[:1], g.shape), wt, xt, g),
        "byte-swapped": (g.astype(">f4"), wt.astype(">f4"), xt, g),
        "a subclass": (g.view(_Sub), wt, xt, g),
        "three dimensions": (g[None], wt, xt, g),
        # float32, both operands row-major: OpenBLAS's sgemm_direct may take it in NumPy
        "float32 row-major by row-major": (g, w, xt, g),
    }


class _Sub(np.ndarray):
    pass


@needs_batch
@pytest.mark.parametrize("case", list(_unbatched_cases()))
def test_other_operands_get_numpys_products(two_threads, batch_calls, case):
    a1, b1, a2, b2 = _unbatched_cases()[case]
    got = blas.two_products(a1, b1, a2, b2)
    assert batch_calls == []
    np.testing.assert_array_equal(got[0], a1 @ b1)
    np.testing.assert_array_equal(got[1], a2 @ b2)


@needs_batch
@pytest.mark.parametrize("threads", [1, 3])
def test_only_two_openblas_threads_batch(batch_calls, threads):
    before = blas.openblas().get_threads()
    _set_threads(threads)
    try:
        operands = _linear_vjp_operands(128, 256, 256, np.float32)
        got = blas.two_products(*operands)
    finally:
        _set_threads(before)
    assert batch_calls == []
    np.testing.assert_array_equal(got[0], operands[0] @ operands[1])


def test_misaligned_inner_dimensions_raise_numpys_error():
    a = np.ones((128, 256), np.float32)
    with pytest.raises(ValueError, match="matmul"):
        blas.two_products(a, np.ones((255, 256), np.float32), a.T, a)


@needs_batch
def test_inside_shared_threads_gives_the_same_bits(two_threads, batch_calls):
    operands = _linear_vjp_operands(512, 1024, 1024, np.float32)
    outside = blas.two_products(*operands)
    with cr.shared_threads():
        inside = blas.two_products(*operands)
    assert len(batch_calls) == 2
    for x, y in zip(outside, inside, strict=True):
        np.testing.assert_array_equal(x, y)


@needs_batch
@pytest.mark.parametrize("op", ["linear", "matmul"])
def test_the_backward_of_a_product_takes_the_batch(two_threads, batch_calls, op):
    g, wt, xt, _ = _linear_vjp_operands(128, 256, 256, np.float32)
    x, w = cr.Tensor(xt.T.copy(), requires_grad=True), cr.Tensor(wt.T.copy(), requires_grad=True)
    out = cr.functional.linear(x, w) if op == "linear" else x @ w
    out.backward(g)
    assert batch_calls == [np.dtype(np.float32)]
    np.testing.assert_allclose(x.grad, g.astype(np.float64) @ wt, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(w.grad, xt.astype(np.float64) @ g, rtol=1e-4, atol=1e-3)


def test_sizes_beyond_a_32_bit_librarys_integers_are_not_batched():
    a = np.ones((4, 4), np.float32)
    fits = [(blas._TRANS, 4)] * 4
    too_long = [(blas._TRANS, 2**31), *fits[1:]]
    for width, long_ok in ((np.int32, False), (np.int64, True)):
        library = SimpleNamespace(integer=np.dtype(width))
        assert blas._batchable(library, a.dtype, fits, (a,) * 4)
        assert blas._batchable(library, a.dtype, too_long, (a,) * 4) is long_ok
