"""All primitives in one namespace (what ``Tensor`` methods call)."""

from chainrule.autodiff.ops_math import (
    abs_ as abs,  # noqa: A004
)
from chainrule.autodiff.ops_math import (
    add,
    astype,
    clip,
    div,
    exp,
    log,
    matmul,
    maximum,
    minimum,
    mul,
    neg,
    sqrt,
    sub,
    where,
)
from chainrule.autodiff.ops_math import pow_ as pow  # noqa: A004
from chainrule.autodiff.ops_nn import (
    leaky_relu,
    linear,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from chainrule.autodiff.ops_shape import (
    broadcast_to,
    concatenate,
    getitem,
    mean,
    reshape,
    stack,
    transpose,
)
from chainrule.autodiff.ops_shape import max_ as max  # noqa: A004
from chainrule.autodiff.ops_shape import sum_ as sum  # noqa: A004

__all__ = [
    "abs",
    "add",
    "astype",
    "broadcast_to",
    "clip",
    "concatenate",
    "div",
    "exp",
    "getitem",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "maximum",
    "mean",
    "minimum",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "where",
]
