"""``predict`` refuses inputs that are not numbers as ``fit`` and ``evaluate`` do."""

import re

import numpy as np
import pytest

import chainrule as cr


def _refusal(dtype: str, name: str = "X") -> str:
    return re.escape(
        f"{name}: expected a numeric array (bool, integer, floating-point or complex), got "
        f"dtype {dtype}; convert explicitly, e.g. {name}.astype(np.float32)"
    )


@pytest.fixture
def data():
    X, y = cr.data.make_moons(20, seed=0)
    return X, y.astype(np.int64), cr.nn.MLP([2, 3, 2], seed=0)


@pytest.mark.parametrize(
    ("convert", "dtype"),
    [
        (lambda X: X.astype(object), "object"),
        (lambda X: X.astype(str), "<U32"),
        (lambda X: X.astype("datetime64[s]"), "datetime64[s]"),
        (lambda X: [[0.1, None]], "object"),
    ],
    ids=["object", "str", "datetime", "None in a list"],
)
def test_predict_refuses_non_numeric_inputs_naming_x(data, convert, dtype):
    # Tensor's unnamed "ValueError: unknown dtype dtype('O')" came out of the first batch
    X, _, model = data
    with pytest.raises(TypeError, match="^" + _refusal(dtype) + "$"):
        cr.predict(model, convert(X))


def test_fit_and_evaluate_refuse_non_numeric_inputs_as_before(data):
    X, y, model = data
    with pytest.raises(TypeError, match="^" + _refusal("object") + "$"):
        cr.evaluate(model, "cross_entropy", X.astype(object), y)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="^" + _refusal("object") + "$"):
        cr.fit(model, "cross_entropy", optimizer, X.astype(object), y, epochs=1, progress=False)
    with pytest.raises(TypeError, match="^" + _refusal("object", "X_dev") + "$"):
        cr.fit(model, "cross_entropy", optimizer, X, y, dev=(X.astype(object), y), progress=False)


def test_predict_still_takes_numeric_inputs_with_nan(data):
    X, _, model = data
    out = cr.predict(model, np.where(X > 0.5, np.nan, X).astype(np.float32))
    assert out.shape == (20, 2) and np.isnan(out).any() and np.isfinite(out).any()
    assert cr.predict(model, X.astype(np.float32)).shape == (20, 2)


@pytest.mark.parametrize("dtype", ["float16", "complex64", "uint16", "uint64"])
def test_numbers_of_a_dtype_no_tensor_holds_are_refused_naming_x(data, dtype):
    # Tensor's unnamed "ValueError: unknown dtype" came out of predict and evaluate, and
    # fit's "X, sample 0:" check quoted it
    X, y, model = data
    refusal = (
        "^"
        + re.escape(
            f"X: expected an array of a dtype tensors hold ({', '.join(cr.autodiff.DTYPES)}, "
            f"in the machine's byte order), got {dtype}; convert explicitly, e.g. "
            "X.astype(np.float32)"
        )
        + "$"
    )
    with pytest.raises(TypeError, match=refusal):
        cr.predict(model, X.astype(dtype))
    with pytest.raises(TypeError, match=refusal):
        cr.evaluate(model, "cross_entropy", X.astype(dtype), y)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=refusal):
        cr.fit(model, "cross_entropy", optimizer, X.astype(dtype), y, epochs=1, progress=False)


def test_arrays_of_the_other_byte_order_are_refused_naming_them(data):
    # '>f4' is named float32: Tensor's unnamed "non-native byte order" error came out
    X, y, model = data
    refusal = r"^X: expected an array of a dtype tensors hold \(.*, in the machine's byte order\)"
    refusal += r", got float32 \(>f4, byte-swapped\); convert explicitly"
    with pytest.raises(TypeError, match=refusal):
        cr.predict(model, X.astype(">f4"))
    with pytest.raises(TypeError, match=refusal):
        cr.evaluate(model, "cross_entropy", X.astype(">f4"), y)
    with pytest.raises(TypeError, match=r"^y: expected targets .* got int64 \(>i8, byte-swapped\)"):
        cr.evaluate(model, "cross_entropy", X, y.astype(">i8"))
