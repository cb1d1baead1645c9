"""The reverse-mode autodiff engine: tensors, primitives and the backward pass."""

from chainrule.autodiff import ops
from chainrule.autodiff.graph import NonFiniteValueError, backward, toposort
from chainrule.autodiff.mode import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    numpy_rules,
)
from chainrule.autodiff.registry import PRIMITIVES, primitive
from chainrule.autodiff.tensor import DTYPES, Tensor, apply, node, tensor
from chainrule.autodiff.trace import Traced, TraceError, trace_backward

__all__ = [
    "DTYPES",
    "NonFiniteValueError",
    "PRIMITIVES",
    "Tensor",
    "TraceError",
    "Traced",
    "apply",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "node",
    "numpy_rules",
    "ops",
    "primitive",
    "tensor",
    "toposort",
    "trace_backward",
]
