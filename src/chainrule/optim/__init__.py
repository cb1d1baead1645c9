"""Optimizers, gradient clipping, learning-rate schedules and EWMA (notes 002 section 2, 003).

Use::

    opt = Adam(model.named_parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        opt.set_epoch(epoch)                  # only epoch-based schedules read it
        for X, Y in batches:
            opt.zero_grad()
            loss(model(X), Y).backward()
            opt.step()

=================  ==========================================================
:class:`SGD`       W -= alpha dW; classical momentum v = mu v + dW; Nesterov
:class:`Momentum`  the notes' v = beta v + (1-beta) dW, W -= alpha v; Nesterov
:class:`RMSprop`   S = beta S + (1-beta) dW^2, W -= alpha dW / (sqrt(S) + eps)
:class:`Adam`      momentum + RMSprop + bias correction, the notes' equations
:class:`AdamW`     Adam with decoupled weight decay (not the L2 loss term)
=================  ==========================================================

Design: a Keras-style template method over optax-style explicit state
---------------------------------------------------------------------
optax composes an optimizer from named steps (``chain(clip_by_global_norm(1.0),
scale_by_adam(), scale(-lr))``), each a pure ``update(grads, state) -> (grads, state)``.
Keras instead gives a base class that handles clipping and the learning rate and has
subclasses write only ``update_step``. We take the template method, keeping optax's
explicit state:

* :class:`~chainrule.optim.base.Optimizer.step` is one fixed pipeline - check the
  gradients' type, shape and dtype, copy them, reject NaN/Inf, clip by value, clip by
  global norm, run the rule, write the parameters - and the write is the single place
  where parameters change. Each optimizer is only its ``update(g, state, scratch, lr,
  t)`` rule: a function of the gradient and of explicit state arrays (no hidden state),
  over arrays of any shape.
* Speed decides it. In optax each link of the chain returns fresh arrays, and NumPy has
  no jit to fuse them away; here a rule runs in place on preallocated buffers. Because
  the rule sees nothing but arrays and scalars, the template can run it once over a flat
  buffer holding all parameters of a dtype, instead of once per link per parameter, which
  is what makes small models fast (the copy of the gradients it needs is also the copy
  that lets the optimizer never write into ``p.grad``).
* What a chain would buy is arbitrary composition; training here needs two gradient
  transforms, clipping by value and by global norm, which are functions of their own in
  :mod:`~chainrule.optim.clip` (usable alone), applied by the template when an
  optimizer is built with ``clip_value=`` / ``clip_norm=``, in that fixed, documented
  order. Decoupled weight decay is the one rule that reads the weights: the template
  subtracts it with the step, W - (W * lr * weight_decay + step), in the same single
  write.

Learning-rate schedules (:mod:`~chainrule.optim.schedules`) are pure objects passed as
``lr``; the optimizer evaluates them at ``epoch`` or at ``step_count + 1`` according to
their ``unit`` and never changes them. ``state_dict()`` is pure data (dicts, lists,
numbers, strings and arrays) and ``load_state_dict`` resumes bit-identically.
"""

from collections.abc import Mapping
from types import MappingProxyType

from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.base import Optimizer
from chainrule.optim.clip import clip_by_global_norm, clip_by_value, global_norm
from chainrule.optim.ewma import EWMA, ewma
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.schedules import (
    SCHEDULES,
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    InverseTimeDecay,
    LinearWarmup,
    PiecewiseConstant,
    Schedule,
    StepDecay,
    schedule_from_config,
)
from chainrule.optim.sgd import SGD, Momentum

#: The optimizers by name (lower case, as a config's ``optimizer.name`` gives them).
OPTIMIZERS: Mapping[str, type[Optimizer]] = MappingProxyType(
    {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
)

__all__ = [
    "EWMA",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "CosineDecay",
    "ExponentialDecay",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "Momentum",
    "Optimizer",
    "PiecewiseConstant",
    "RMSprop",
    "Schedule",
    "StepDecay",
    "clip_by_global_norm",
    "clip_by_value",
    "ewma",
    "global_norm",
    "schedule_from_config",
]
