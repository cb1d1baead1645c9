"""Neural-network primitives: activations, (log-)softmax and the fused linear layer.

Each could be composed from arithmetic primitives; they are primitives because the
composition would be unstable (sigmoid, softmax at large inputs) or measurably slower
(relu, linear; ``linear`` can also apply relu, sigmoid or tanh in the same node, which
saves a node, an array and a pass over memory per layer). Every one of them is still
gradient-checked like the rest.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import _checks
from chainrule.autodiff.backend import array_module, engine_kernels
from chainrule.autodiff.blas import two_products
from chainrule.autodiff.ops_math import bool_data_error
from chainrule.autodiff.ops_shape import normalize_axis
from chainrule.autodiff.registry import primitive
from chainrule.autodiff.tensor import Tensor, apply, floating, lift


@primitive
def tanh(a):
    """tanh(a); d/da = 1 - tanh(a)^2."""
    return apply("tanh", _tanh_kernel, (floating(a, "tanh"),))


def _tanh_kernel(x):
    out = array_module(x).tanh(x)
    return out, lambda g: (_tanh_vjp(g, out),)


def _tanh_(z):
    return array_module(z).tanh(z, out=z)


# a decorator costs half a ``with`` block per call (see ops_shape._sum_in_range)
@np.errstate(under="ignore")
def _tanh_vjp(g, a):
    """g * (1 - a^2) for a = tanh(z), in one new array; a subnormal a^2 or product (a
    tiny z or g) is no error."""
    xp = array_module(a)
    dz = xp.multiply(a, a, out=xp.empty_like(a))  # an array even for 0-d a (not a scalar)
    xp.subtract(1, dz, out=dz)
    dz *= g
    return dz


def sigmoid_array(x, out=None):
    """Logistic function 1 / (1 + exp(-x)), finite in both tails; into ``out`` if given.

    For x >> 0, exp(-x) underflows to 0 and the result is 1, the correctly rounded value.
    For x << 0, exp(-x) overflows to inf and the result is 1/inf = 0: below about -88.7
    in float32 (-709.8 in float64), where the true value is still a subnormal number
    (down to about -103.9 / -745.1), so there the result is 0 rather than that subnormal.
    The overflow/underflow flags (exp's, and the reciprocal's subnormal results) are
    expected and silenced: finite for any x (1e4 included) in float32 and float64, with
    full relative precision wherever the result is a normal number.
    """
    xp = array_module(x)
    e = xp.negative(x, out=xp.empty_like(x) if out is None else out)  # 0-d x: still an array
    with xp.errstate(over="ignore", under="ignore"):
        xp.exp(e, out=e)
        e += 1
        return xp.reciprocal(e, out=e)


@primitive
def sigmoid(a):
    """sigma(a) = 1 / (1 + exp(-a)); d/da = sigma(a) (1 - sigma(a))."""
    return apply("sigmoid", _sigmoid_kernel, (floating(a, "sigmoid"),))


def _sigmoid_kernel(x):
    out = sigmoid_array(x)
    return out, lambda g: (_sigmoid_vjp(g, out),)


def _sigmoid_(z):
    return sigmoid_array(z, out=z)


def _sigmoid_vjp(g, a):
    """g * a * (1 - a) for a = sigma(z), in that order."""
    with array_module(a).errstate(under="ignore"):  # tails of sigmoid are subnormal in float32
        dz = g * a
        dz *= 1 - a
    return dz


@primitive
def relu(a):
    """max(0, a); the subgradient at 0 is 0: d/da = g * [a > 0].

    The VJP multiplies by the mask instead of selecting with ``where``: the same values
    (zeros where a <= 0, g elsewhere, up to the sign of zero), vectorized where ``where``
    branches, 7x faster at 512 x 1024. A NaN/Inf in g stays non-finite, as in every rule.
    """
    a = lift(a)
    if a.data.dtype == np.bool_:  # NumPy's maximum(bool, 0) is int64; integers stay integers
        raise bool_data_error("relu")
    return apply("relu", _relu_kernel, (a,))


def _relu_kernel(x):
    out = array_module(x).maximum(x, 0)
    return out, lambda g: (_relu_vjp(g, out),)


def _relu_(z):
    return array_module(z).maximum(z, 0, out=z)


def _relu_vjp(g, a):
    """g * [a > 0] for a = max(z, 0): a > 0 exactly where z > 0 (NaN: neither)."""
    return g * (a > 0)


@primitive
def leaky_relu(a, alpha: float = 0.01):
    """max(0, a) + alpha * min(0, a) (seed 002's "leak"); d/da = 1 for a > 0 else alpha.

    ``alpha`` is a finite real number in [0, 1), Python or NumPy, as
    :class:`~chainrule.nn.LeakyReLU` takes it (``TypeError`` / ``ValueError`` otherwise,
    a bool, NaN and inf included); it takes the dtype of ``a``."""
    if not (type(alpha) is float and 0.0 <= alpha < 1.0):  # a layer's: no ABC check
        alpha = _checks.real("leaky_relu", "alpha", alpha, low=0.0, high=1.0, high_open=True)
    return apply("leaky_relu", _leaky_relu_kernel, (floating(a, "leaky_relu"),), alpha)


def _leaky_relu_kernel(x, alpha):
    xp = array_module(x)
    positive = x > 0
    out = xp.where(positive, x, alpha * x)
    return out, lambda g: (xp.where(positive, g, alpha * g),)


def _distribution_axis(a, axis, op: str) -> int:
    """``axis`` normalized, when ``a`` has an entry along it to share the probability."""
    axis = normalize_axis(axis, a.ndim, op)
    if a.shape[axis] == 0:
        raise ValueError(
            f"{op}: expected at least one entry along axis {axis}, got shape {a.shape}"
        )
    return axis


def _shifted_exp(x, axis: int):
    """(s, exp(s)) with s = x - max(x) along ``axis``: the log-sum-exp shift that keeps
    exp() from overflowing.

    Its callers run it under ``errstate(over="ignore", under="ignore")`` (one block with
    what they do next): where the span exceeds the dtype's range (float32 [3e38, -3e38])
    the shift overflows to -inf, whose exp is the correct 0, and exp underflows to
    subnormal numbers and 0."""
    s = x - x.max(axis=axis, keepdims=True)
    return s, array_module(x).exp(s)


def log_softmax_parts(x, axis: int):
    """(exp(s), the sum of exp(s) along ``axis`` (kept), log softmax(x)) with
    s = x - max(x) along ``axis``: the one log-softmax of :func:`log_softmax` and of the
    cross-entropy rules (whose gradients reuse exp(s) and the sum). The log softmax is
    s - log(sum(exp(s))), computed in s's array."""
    xp = array_module(x)
    with xp.errstate(over="ignore", under="ignore"):  # see _shifted_exp
        s, e = _shifted_exp(x, axis)
    total = e.sum(axis=axis, keepdims=True)
    s -= xp.log(total)
    return e, total, s


@primitive
def log_softmax(a, axis: int = -1):
    """log softmax(a) = a - logsumexp(a), computed as s - log(sum(exp(s))), s = a - max(a).

    d/da: g - softmax(a) * sum(g) along ``axis``.
    """
    a = floating(a, "log_softmax")
    axis = _distribution_axis(a, axis, "log_softmax")
    return apply("log_softmax", _log_softmax_kernel, (a,), axis)


def _log_softmax_kernel(x, axis):
    xp = array_module(x)
    out = log_softmax_parts(x, axis)[2]

    def vjp(g):
        with xp.errstate(under="ignore"):  # p and its product: subnormal in the tails
            p = xp.exp(out)
            return (g - p * g.sum(axis=axis, keepdims=True),)

    return out, vjp


@primitive
def softmax(a, axis: int = -1):
    """softmax(a)_i = exp(a_i - max a) / sum_j exp(a_j - max a).

    d/da: p * (g - sum(g * p)) along ``axis``.
    """
    a = floating(a, "softmax")
    axis = _distribution_axis(a, axis, "softmax")
    return apply("softmax", _softmax_kernel, (a,), axis)


def _softmax_kernel(x, axis):
    xp = array_module(x)
    with xp.errstate(over="ignore", under="ignore"):  # see _shifted_exp; p can be subnormal
        e = _shifted_exp(x, axis)[1]
        out = e / e.sum(axis=axis, keepdims=True)

    def vjp(g):
        with xp.errstate(under="ignore"):
            return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    return out, vjp


#: Activations :func:`linear` can apply in the same node: name -> (forward in place, VJP).
#: Each forward overwrites the fresh matmul output Z with A = act(Z); each VJP maps the
#: upstream gradient ``g`` and ``A`` to dZ = g * act'(Z) in one new array.
FUSED_ACTIVATIONS = {
    "relu": (_relu_, _relu_vjp),
    "sigmoid": (_sigmoid_, _sigmoid_vjp),
    "tanh": (_tanh_, _tanh_vjp),
}


def _compiled_rules(xd, wd, activation):
    """The compiled kernels for ``linear(x, w, b, activation)``, or None: no activation, X
    not a NumPy matrix, integer data (numba adds small integers in int64, where NumPy's
    ``z + b`` wraps in the dtype), one output unit (NumPy sums db, a contiguous column
    then, pairwise, not row after row as the compiled pass does), numba missing, or
    ``numpy_rules()``."""
    if (
        activation is None
        or type(xd) is not np.ndarray
        or xd.ndim != 2
        or xd.dtype.kind != "f"
        or wd.shape[1] == 1
    ):
        return None
    return engine_kernels()


@primitive
def linear(x, w, b=None, activation: str | None = None):
    """Fused affine map Z = X W + b (row-major: X is (m, n_in), W is (n_in, n_out)),
    optionally followed by an activation in the same node: A = act(Z).

    The VJP is exactly backprop's BP1-BP4 (seeds 001, 003) in row-major form: with the
    upstream gradient g = dA, dZ = g * act'(Z) (BP2's Hadamard product; dZ = g without an
    activation), then dW = X^T dZ, db = sum of dZ over the batch, dX = dZ W^T.

    ``activation`` is None or a key of :data:`FUSED_ACTIVATIONS`: ``"relu"`` (act' = [Z > 0],
    0 at the kink), ``"sigmoid"`` (act' = A (1 - A); the stable form of :func:`sigmoid`),
    ``"tanh"`` (act' = 1 - A^2). Integer data makes an integer map (with ``"relu"`` or no
    activation; ``TypeError`` for the others, as :func:`sigmoid`), bool data is refused
    (``TypeError``, as :func:`relu`: NumPy would compute logic). The activation runs in
    place on the matmul output and its derivative is taken from A, so the node keeps one
    array where the composition ``relu(linear(x, w, b))`` keeps two and makes one more
    pass over memory. With numba installed (the ``fast`` extra), an activation on a
    floating batch with a bias runs compiled where that saves work: dZ and db in one pass
    (all three activations), for relu also bias and activation in one pass, for sigmoid
    bias and negation in one pass and 1 / (1 + e) in another around NumPy's exp; the same
    values as the NumPy rule (which :class:`~chainrule.autodiff.mode.numpy_rules`
    selects). When both dX and dW of a matrix input are needed, the two products run side
    by side where both are large and OpenBLAS runs on 2 threads
    (:func:`~chainrule.autodiff.blas.two_products`).
    """
    x = lift(x, w if isinstance(w, Tensor) else None)  # a list takes W's float dtype
    w = lift(w, x)
    if activation is not None and not isinstance(activation, str):
        raise TypeError(
            f"linear: expected activation None or one of {', '.join(FUSED_ACTIVATIONS)}, got "
            f"{type(activation).__name__} {activation!r:.80}"
        )
    if activation is not None and activation not in FUSED_ACTIVATIONS:
        raise ValueError(
            f"linear: unknown activation {activation!r}; expected None or one of "
            f"{', '.join(FUSED_ACTIVATIONS)}"
        )
    if w.ndim != 2:
        raise ValueError(f"linear: expected a 2-D W of shape (n_in, n_out), got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"linear: expected input with {w.shape[0]} features (W {w.shape}), got input of "
            f"shape {x.shape}"
        )
    if x.data.dtype != w.data.dtype:
        raise TypeError(f"linear: input is {x.data.dtype} but W is {w.data.dtype}; cast one")
    if x.data.dtype.kind != "f":  # integers make an integer affine map, with relu at most
        if x.data.dtype == np.bool_:
            raise bool_data_error("linear")
        if activation in ("sigmoid", "tanh"):
            floating(x, f"linear+{activation}")
    wd = w.data
    if b is not None:
        b = lift(b, x)
        if b.shape != (wd.shape[1],):
            raise ValueError(f"linear: expected bias of shape ({wd.shape[1]},), got {b.shape}")
        if b.data.dtype != wd.dtype:
            raise TypeError(f"linear: bias is {b.data.dtype} but W is {wd.dtype}; cast one")
    op = "linear" if activation is None else f"linear+{activation}"
    rx, rw = x.requires_grad, w.requires_grad
    if b is None:
        return apply(op, _linear_unbiased_kernel, (x, w), activation, rx, rw)
    fast = _compiled_rules(x.data, wd, activation)
    return apply(op, _linear_kernel, (x, w, b), activation, fast, rx, rw, b.requires_grad)


def _linear_kernel(xd, wd, bd, activation, fast, rx, rw, rb):
    """Z = X W + b, A = act(Z) and the VJP dX, dW, db (see :func:`linear`)."""
    out = xd @ wd
    act_vjp = None
    if fast is not None and activation == "relu":  # bias and relu in one compiled pass
        fast.bias_relu(out, bd)
    elif fast is not None and activation == "sigmoid":
        _bias_sigmoid_compiled(out, bd, fast)
    else:
        if bd is not None:
            out += bd
        if activation is not None:
            act_, act_vjp = FUSED_ACTIVATIONS[activation]
            act_(out)

    def vjp(g):
        if fast is not None:  # dZ and db in one compiled pass
            dz, db = np.empty_like(out), np.empty(out.shape[1], out.dtype)
            kind = fast.ACTIVATION_CODES[activation]
            fast.activation_backward(kind, g, out, fast.unit(out.dtype), dz, db)
            g = g2 = dz
            db = db if rb else None
        else:
            if act_vjp is not None:
                g = act_vjp(g, out)
            g2 = _rows(g)
            db = g2.sum(axis=0) if rb else None
        xt = _rows(xd).T  # the rows of a batch of any rank, transposed
        if rx and rw:  # NOTE: side by side where both are large (see blas.py)
            dx, dw = two_products(g, wd.T, xt, g2)
            return dx, dw, db
        dx = (g @ wd.T) if rx else None
        dw = xt @ g2 if rw else None
        return dx, dw, db

    return out, vjp


def _rows(a):
    """``a`` as a matrix of its rows, ``(prod(shape[:-1]), shape[-1])``; ``reshape(-1, n)``
    cannot size the rows of an empty array."""
    n = a.shape[-1]
    return a.reshape(-1, n) if a.size else a.reshape(math.prod(a.shape[:-1]), n)


def _bias_sigmoid_compiled(z, b, fast) -> None:
    """z = sigmoid(z + b) in place, :func:`sigmoid_array`'s operations in its order: the
    bias and the negation in one compiled pass, NumPy's exp, then 1 / (e + 1) compiled."""
    fast.bias_negate(z, b)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(z, out=z)
    fast.reciprocal_one_plus(z, fast.unit(z.dtype))


def _linear_unbiased_kernel(xd, wd, activation, rx, rw):
    out, vjp = _linear_kernel(xd, wd, None, activation, None, rx, rw, False)
    return out, lambda g: vjp(g)[:2]
