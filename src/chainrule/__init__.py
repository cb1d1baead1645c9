"""chainrule: backpropagation end to end.

A small reverse-mode autodiff engine over NumPy and what it takes to train neural
networks with it. The curated public API lives here; submodules hold the rest.
"""

from chainrule import data, functional, init, losses, nn, optim, regularization, train
from chainrule.autodiff import (
    DTYPES,
    Tensor,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    numpy_rules,
    tensor,
    trace_backward,
)
from chainrule.autodiff.ops import (
    abs,  # noqa: A004
    concatenate,
    exp,
    leaky_relu,
    linear,
    log,
    log_softmax,
    matmul,
    maximum,
    minimum,
    relu,
    sigmoid,
    softmax,
    sqrt,
    stack,
    tanh,
    where,
)
from chainrule.gradcheck import GradcheckResult, gradcheck
from chainrule.io import load, load_bundle, save
from chainrule.malloc import keep_freed_memory
from chainrule.threads import shared_threads
from chainrule.train import evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "abs",
    "concatenate",
    "data",
    "detect_anomaly",
    "DTYPES",
    "enable_grad",
    "evaluate",
    "exp",
    "fit",
    "functional",
    "gradcheck",
    "GradcheckResult",
    "init",
    "is_grad_enabled",
    "keep_freed_memory",
    "leaky_relu",
    "linear",
    "load",
    "load_bundle",
    "log",
    "log_softmax",
    "losses",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "numpy_rules",
    "optim",
    "predict",
    "regularization",
    "relu",
    "save",
    "shared_threads",
    "sigmoid",
    "softmax",
    "sqrt",
    "stack",
    "tanh",
    "Tensor",
    "tensor",
    "trace_backward",
    "train",
    "where",
]
