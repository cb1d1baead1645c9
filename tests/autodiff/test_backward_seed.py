"""The seed gradient of ``backward(grad=...)``: the tensor's dtype, never changed silently."""

import array

import numpy as np
import pytest

import chainrule as cr


def _graph(dtype="float32"):
    x = cr.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    return x, x * 2


@pytest.mark.parametrize(("root", "seed"), [("float32", "float64"), ("float64", "float32")])
def test_a_seed_array_of_another_floating_dtype_is_refused_before_any_work(root, seed):
    # a float64 seed [1e-50, 1.0] for a float32 graph gave x.grad [0, 2]: 1e-50 rounded away
    x, y = _graph(root)
    with pytest.raises(
        TypeError, match=rf"^backward\(\): grad expected a {root} array .* got .*{seed}"
    ):
        y.backward(np.array([1e-50, 1.0], dtype=seed))
    assert x.grad is None
    y.backward(np.array([1e-50, 1.0], dtype=root))  # the graph was not released
    np.testing.assert_array_equal(x.grad, np.array([2e-50, 2.0], dtype=root))


def test_a_seed_tensor_of_another_dtype_is_refused():
    x, y = _graph("float32")
    with pytest.raises(TypeError, match=r"^backward\(\): grad expected .* got .*float64"):
        y.backward(cr.tensor(np.ones(2)))
    y.backward(cr.tensor(np.ones(2, np.float32)))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


@pytest.mark.parametrize(
    "seed",
    [np.array([True, False]), [True, False], np.array([1, 2])],
    ids=["bool array", "bool list", "int64 array"],
)
def test_a_bool_seed_or_an_array_of_another_dtype_is_refused(seed):
    # a bool seed [True, False] was taken as [1, 0]
    x, y = _graph()
    with pytest.raises(TypeError, match=r"^backward\(\): grad expected .*float32"):
        y.backward(seed)
    assert x.grad is None


@pytest.mark.parametrize("seed", [True, np.bool_(True), np.float64(1.0)])
def test_a_scalar_seed_of_another_kind_is_refused(seed):
    x = cr.tensor(np.array(3.0, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"^backward\(\): grad expected .*float32"):
        (x * 2).backward(seed)
    assert x.grad is None


@pytest.mark.parametrize(
    "seed",
    [np.array(["a", "b"]), ["a", "b"], "ab", [1.0, None], {"a": 1}, [1j, 2j]],
    ids=["str array", "str list", "str", "list with None", "dict", "complex"],
)
def test_a_non_numeric_seed_is_a_type_error_naming_backward(seed):
    x, y = _graph()
    with pytest.raises(TypeError, match=r"^backward\(\): grad expected .*numbers"):
        y.backward(seed)
    assert x.grad is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_python_numbers_take_the_tensors_dtype(dtype):
    x, y = _graph(dtype)
    y.backward([0.1, 3], retain_graph=True)
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x.grad, np.array([0.1, 3], dtype=dtype) * 2)
    s = cr.tensor(np.array(2.0, dtype), requires_grad=True)
    (s * s).backward(0.1)
    assert s.grad.dtype == np.dtype(dtype)
    assert s.grad == np.array(0.1, dtype) * 4


def test_a_seed_of_the_tensors_dtype_is_copied():
    x, y = _graph("float32")
    seed = np.ones(2, np.float32)
    y.backward(seed)
    seed[:] = 5
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_python_seed_beyond_the_tensors_dtype_is_an_overflow_error():
    # it became inf with a RuntimeWarning, where cr.tensor(1e40) is refused
    x, y = _graph("float32")
    with pytest.raises(
        OverflowError, match=r"^backward\(\): grad does not fit the tensor's float32"
    ):
        y.backward([1e40, 1.0])
    assert x.grad is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_torch_seed_of_the_tensors_dtype_is_taken_as_its_array(dtype):
    # it was AttributeError: 'torch.dtype' object has no attribute 'kind'
    torch = pytest.importorskip("torch")
    x, y = _graph(dtype)
    seed = torch.tensor([1.0, 3.0], dtype=getattr(torch, dtype))
    y.backward(seed)
    seed[:] = 5  # the seed was copied
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])


def test_a_torch_seed_of_another_dtype_is_refused():
    torch = pytest.importorskip("torch")
    x, y = _graph("float32")
    with pytest.raises(
        TypeError, match=r"^backward\(\): grad expected a float32 array .* got Tensor .*float64"
    ):
        y.backward(torch.ones(2, dtype=torch.float64))
    assert x.grad is None


def test_an_array_array_seed_is_an_array_of_its_dtype():
    # array('d') was cast to float32 silently, where a float64 ndarray is refused
    x, y = _graph("float32")
    with pytest.raises(
        TypeError, match=r"^backward\(\): grad expected a float32 array .* got array .*float64"
    ):
        y.backward(array.array("d", [1.0, 1.0]))
    assert x.grad is None
    y.backward(array.array("f", [1.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])
