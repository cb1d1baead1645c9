"""The optimizer template: gradient checks, clipping, the learning rate, and the one write.

``Optimizer.step`` is the fixed pipeline every optimizer shares::

    check grads (type, shape, dtype) -> copy grads -> check finite -> clip by value
        -> clip by global norm -> rule -> write

Subclasses supply only the update rule (``update``) over explicit state arrays, plus the
names of those arrays and their hyperparameter checks.

Speed: parameters of one dtype form a group (:mod:`chainrule.optim.group`) whose
gradients, state and scratch live in flat, preallocated arrays (each parameter owns a
reshaped view). The gradients are copied
into the group's flat buffer (the optimizer never writes into ``p.grad``, which may be a
shared or read-only array), and the rule runs once over the whole group, so a step costs a
fixed handful of NumPy calls however many small parameters a model has. The same rule runs
per parameter, on the views, in the rare steps where some parameters have no gradient.
A fused optimizer (``Adam``/``AdamW`` with numba) skips the copy in the common step:
when nothing is clipped and every gradient is present and finite, one compiled pass per
parameter applies the rule and the write, reading the gradient where it is. Either way
every gradient is read before any parameter is written: a gradient that is a parameter's
data or a view of it (``p.grad = q.data``) takes the copy.

The state is sized by the data each parameter has when the optimizer is built, so every
step first checks that each ``p.data`` still is a writable array of that shape and dtype
(a few comparisons per parameter). A new array of the same shape and dtype
(``layer.weight.data = new_w``) is updated like the old one; any other is refused before
anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from chainrule import _checks
from chainrule.autodiff import NonFiniteValueError, Tensor
from chainrule.autodiff.tensor import check_leaf
from chainrule.optim import kernels
from chainrule.optim.checkpoint import check_entry, count, expect_keys
from chainrule.optim.clip import clip_by_global_norm, clip_by_value, sum_of_squares
from chainrule.optim.group import Group
from chainrule.optim.schedules import SCHEDULES, Schedule, schedule_from_config, unregistered
from chainrule.params import named_tensors

NONFINITE = ("raise", "skip")


class Optimizer:
    """Base class of all optimizers: ``step()``, ``zero_grad()``, ``state_dict()``.

    Parameters
    ----------
    params : Module, dict or iterable of Tensor or of (str, Tensor)
        Leaf tensors with ``requires_grad=True``: a module's (by its
        ``named_parameters()``), a dict name -> Tensor, or an iterable of tensors, each
        optionally named by a ``(name, tensor)`` pair; unnamed ones are called
        ``"param0"``, ``"param1"``, ... by position (see
        :func:`chainrule.params.named_tensors`). Names appear in error messages and
        checkpoints.
    lr : float or Schedule
        The learning rate alpha >= 0, or a schedule evaluated at ``epoch`` (schedules with
        ``unit="epoch"``) or at the number of the update being made, ``step_count + 1``
        (``unit="step"``). Both counters start at 1, as in the course's decay table and
        the notes' bias correction.
    hyperparameters : dict
        The subclass's own hyperparameters, by name, as its ``_check_hyperparameters``
        reads them; the three below join them (all are saved in ``state_dict``). A name
        that no ``_check_hyperparameters`` reads raises ``TypeError``.
    clip_value : float or None
        > 0: clamp each gradient entry into [-clip_value, clip_value]; None (default): no
        clamping.
    clip_norm : float or None
        > 0: then rescale all gradients together so that their global norm is at most
        ``clip_norm``; None (default): no rescaling. See :mod:`chainrule.optim.clip`.
    nonfinite : str
        ``"raise"`` (default) raises :class:`~chainrule.autodiff.NonFiniteValueError` (a
        ``FloatingPointError``) naming every parameter whose gradient holds NaN or Inf;
        ``"skip"`` makes ``step()`` skip the whole update instead (and return False).

    Attributes
    ----------
    step_count : int
        Updates done so far (skipped steps do not count).
    epoch : int
        The current epoch, 1 for the first pass over the training set; the training loop
        sets it (``opt.epoch = e`` or ``opt.set_epoch(e)``) for epoch-based schedules.

    ``lr`` and ``epoch`` are the only settings that can be assigned: the hyperparameters
    (each readable as an attribute, ``opt.momentum``) and ``fused`` are fixed at
    construction, and assigning one raises ``AttributeError``. To change a hyperparameter
    and keep the state, set it in ``state_dict()["hyperparameters"]`` and pass that to
    :meth:`load_state_dict`, which checks it.

    ``copy.deepcopy(opt)`` and ``pickle`` rebuild the optimizer through its constructor
    over the copied parameters (those of the model copied with it, in
    ``copy.deepcopy((model, opt))``), with the same hyperparameters and the ``fused``
    argument it was given, then :meth:`load_state_dict` the original's
    :meth:`state_dict`: the copy continues exactly as the original would. ``fused=None``
    (Adam's default) is resolved again where a pickle is loaded: without numba the copy
    takes the NumPy rule, which differs from the compiled one only where moments become
    subnormal (:mod:`chainrule.optim.kernels`); an explicit ``fused=True`` still needs
    numba there (``ImportError``). ``copy.copy(opt)`` does the same over the same
    parameters: an optimizer with its own copy of the state that updates the original's
    tensors. The constructor is called as ``type(opt)(params, lr=..., **kwargs)`` with the
    ``kwargs`` of :meth:`_init_kwargs`: a subclass whose constructor takes its
    hyperparameters otherwise overrides it.
    """

    #: Names of the per-parameter state arrays (saved in ``state_dict``).
    state_names: tuple[str, ...] = ()
    #: Those of them that are averages of squares, never negative.
    nonnegative_states: tuple[str, ...] = ()
    #: Work arrays per parameter, beyond the copied gradient (never saved).
    n_scratch: int = 0
    #: The attributes fixed at construction (set at its end; see ``__setattr__``).
    _read_only: frozenset[str] = frozenset()

    def __init__(
        self,
        params,
        lr,
        hyperparameters: dict,
        *,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
    ):
        owner = type(self).__name__
        given = {
            **hyperparameters,
            "clip_norm": clip_norm,
            "clip_value": clip_value,
            "nonfinite": nonfinite,
        }
        hyper = self._check_hyperparameters(given)
        unread = [name for name in given if name not in hyper]
        if unread:
            raise TypeError(f"{owner}() got an unexpected keyword argument {unread[0]!r}")
        self.__dict__.update(hyper)
        self._hyper_names = tuple(hyper)
        self.state_names = self._state_names_for(hyper)
        self.lr = lr
        self._names, self._params = _collect(params, owner)
        self.step_count = 0
        self._epoch = 1
        self._build_groups()
        self._read_only = frozenset((*self._hyper_names, "fused"))

    def __setattr__(self, name: str, value) -> None:
        # each step assigns step_count: one set lookup is all this adds to it
        if name in self._read_only:
            raise AttributeError(self._read_only_message(name, value))
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        # a deleted setting left the class default (fused) or a broken step behind
        if name in self._read_only:
            raise AttributeError(
                f"{type(self).__name__}.{name} is read-only after construction, got a del; "
                "only lr and epoch can be set"
            )
        object.__delattr__(self, name)

    def _read_only_message(self, name: str, value) -> str:
        owner = type(self).__name__
        head = (
            f"{owner}.{name} is read-only after construction, got an assignment of "
            f"{value!r:.80}; only lr and epoch can be set."
        )
        if name == "fused":
            return (
                f"{head} To change it, build a new {owner} and load_state_dict(opt.state_dict())"
                " into it"
            )
        return (
            f"{head} To change it, build a new {owner}({name}=...); to keep the state too, set "
            f"state['hyperparameters'][{name!r}] in state = opt.state_dict() and call "
            "opt.load_state_dict(state), which checks it"
        )

    # -- the rule (subclasses) ---------------------------------------------------------
    def update(self, g: np.ndarray, state: tuple, scratch: tuple, lr: float, t: int) -> None:
        """One step of the update rule, in place, on arrays of any (common) shape.

        ``g`` holds the (clipped) gradient and is consumed: on return it holds the step
        that the optimizer subtracts from the parameters. ``state`` arrays are updated in
        place; ``scratch`` arrays are free work space; ``t`` counts this parameter's updates
        from 1. Nothing else is read or written.
        """
        raise NotImplementedError

    def decoupled_decay(self, lr: float) -> float:
        """The fraction of each weight taken off with the step (decoupled weight decay):
        the write is ``W - (W * decay + step)``; 0 for none."""
        return 0.0

    #: Whether :meth:`fused_step` replaces :meth:`update` and the write (see ``Adam``).
    fused: bool = False

    def fused_step(self, group, grads: list, lr: float, t: int, decay: float) -> None:
        """The rule and the write as compiled passes, for optimizers with ``fused`` true.

        Called instead of the copy, :meth:`update` and the write when every parameter has
        a finite gradient, all are contiguous plain ndarrays, no gradient shares memory with
        a parameter, no clipping is asked for and the groups' counters agree
        (:meth:`_direct_gradients`).
        ``group.params`` are parameters of one dtype, ``grads`` their gradients (1-D, read
        only) and ``group.flat_states[j]`` 1-D views of parameter j's state arrays. It must
        give exactly the parameters and state that :meth:`update` followed by the write
        would give.
        """
        raise NotImplementedError

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        return {
            "clip_norm": _checks.optional_positive(owner, "clip_norm", hp["clip_norm"]),
            "clip_value": _checks.optional_positive(owner, "clip_value", hp["clip_value"]),
            "nonfinite": _checks.choice(owner, "nonfinite", hp["nonfinite"], NONFINITE),
        }

    def _state_names_for(self, hp: dict) -> tuple[str, ...]:
        return type(self).state_names

    # -- learning rate and counters ----------------------------------------------------
    @property
    def lr(self) -> float | Schedule:
        """The learning rate as given: a float or a :class:`Schedule`."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _check_lr(type(self).__name__, value)

    @property
    def current_lr(self) -> float:
        """The rate the next ``step()`` uses: ``lr`` or the schedule at the right counter."""
        lr = self._lr
        if not isinstance(lr, Schedule):
            return lr
        return lr(self._epoch if lr.unit == "epoch" else self.step_count + 1)

    @property
    def epoch(self) -> int:
        return self._epoch

    @epoch.setter
    def epoch(self, value) -> None:
        self._epoch = _checks.integer(type(self).__name__, "epoch", value, low=0)

    def set_epoch(self, epoch: int) -> None:
        """Tell the optimizer which epoch is running (1 for the first)."""
        self.epoch = epoch

    @property
    def hyperparameters(self) -> dict:
        """The hyperparameters (set at construction or by ``load_state_dict``), by name."""
        return {name: getattr(self, name) for name in self._hyper_names}

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self._names)

    @property
    def params(self) -> tuple:
        """The tensors this optimizer updates, in the order of :attr:`param_names`."""
        return tuple(self._params)

    # -- the step ----------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Drop every parameter's gradient (``p.grad = None``); buffers are never reused."""
        for p in self._params:
            p.grad = None

    def step(self) -> bool:
        """Update every parameter that has a gradient; return whether an update was made.

        Parameters whose ``grad`` is None are left alone. Nothing is changed when the step
        is skipped (``nonfinite="skip"``) or when no parameter has a gradient. Every
        gradient is read before any parameter is written: a gradient that is a parameter's
        data or a view of it (``p.grad = q.data``) gives the update of the values it had
        before the step.

        The clipping, the rule and the write run under ``np.errstate(all="ignore")``,
        whatever the caller's ``np.errstate``/``np.seterr`` or warning filters: a step
        never stops halfway with some moments or parameters written and others not, and
        gives the IEEE results that the compiled rules (``fused``), which no
        ``np.errstate`` reaches, give too. These are the ones each rule documents: a moment
        decaying below the smallest normal number becomes subnormal or 0, a square beyond
        the dtype's range inf (Adam's ``s``: that weight's step is 0 from then on).
        Overflow in the step or the write itself needs a rate or weights near the dtype's
        largest number; the weight becomes inf or NaN, which the next loss shows (and the
        next step's gradient check refuses).

        Raises
        ------
        TypeError
            If a gradient is not a plain ``numpy.ndarray`` or NumPy scalar (a list, a
            float, a Tensor, an ndarray subclass), or a parameter's data is no
            ``numpy.ndarray``, naming the parameter.
        ValueError
            If a gradient's shape or dtype differs from its parameter's, or a parameter's
            data (replaced since the optimizer was built) is read-only or has another
            shape or dtype than when the optimizer was built, naming it.
        NonFiniteValueError
            A ``FloatingPointError``: if a gradient holds NaN or Inf (default
            ``nonfinite="raise"``), naming them.
        """
        grads = self._direct_gradients()
        if grads is not None:
            self._step_direct(grads)
            return True
        grads, missing = self._gradients()
        if len(missing) == len(grads):
            return False
        groups = self._groups
        for gv, g in zip(self._grad_views, grads, strict=True):
            # zeros keep the flat finiteness check and global norm exact for the others
            gv[...] = 0 if g is None else g
        bad = [
            name
            for group in groups
            if not math.isfinite(sum_of_squares((group.grad,)))
            for name in self._nonfinite(group)
        ]
        if bad:
            if self.nonfinite == "skip":
                return False
            raise NonFiniteValueError(
                f"{type(self).__name__}.step(): non-finite gradient (NaN or Inf) for "
                f"parameter(s) {', '.join(repr(n) for n in bad)}; no parameter was changed. "
                "Fix the loss, or pass nonfinite='skip' to skip such steps"
            )
        lr = self.current_lr
        decay = self.decoupled_decay(lr)
        update = self.update
        # IEEE results whatever the caller's np.errstate: see step's docstring
        with np.errstate(all="ignore"):
            if self.clip_value is not None:
                flat = [group.grad for group in groups]
                clip_by_value(flat, self.clip_value, out=flat)
            if self.clip_norm is not None:
                flat = [group.grad for group in groups]
                clip_by_global_norm(flat, self.clip_norm, out=flat)
            for group in groups:
                if not missing and group.synced:
                    # the common case: the rule once over the group's flat buffers
                    t = group.t[0] + 1
                    update(group.grad, group.state, group.scratch, lr, t)
                    _write(group.params, group.grads, decay)
                    group.t = [t] * len(group.t)
                    continue
                for j, p in enumerate(group.params):
                    if p.grad is not None:
                        group.t[j] += 1
                        scratch = group.scratches[j]
                        update(group.grads[j], group.states[j], scratch, lr, group.t[j])
                        _write((p,), (group.grads[j],), decay)
                group.synced = len(set(group.t)) == 1
        self.step_count += 1
        return True

    def _direct_gradients(self) -> list | None:
        """The gradients as 1-D arrays when :meth:`fused_step` can take this step, else None.

        That is: the optimizer is fused, nothing is clipped, every parameter's data is a
        plain ndarray, C-contiguous, aligned, writable and of the shape and dtype the
        optimizer was built for, and has a gradient that is a plain ndarray of that shape and
        dtype (a subclass such as ``np.matrix`` or a masked array, whose ``reshape(-1)`` need
        not be the 1-D view the compiled pass indexes, takes the copy path), no gradient
        shares its memory owner (:func:`_owner`) with a parameter (the compiled passes
        write each parameter before the next one's gradient is read), every group's
        counters agree, and every gradient is finite (one exact compiled pass each; no
        overflow). Anything else goes the copy path of :meth:`step`, which raises (see
        :meth:`_gradients`), skips or clips as asked.
        """
        if not self.fused or self.clip_value is not None or self.clip_norm is not None:
            return None
        flat, written, read = [], set(), []
        for p, shape, dtype in self._layout:
            g, data = p.grad, p.data
            # None, NumPy scalars, ndarray subclasses, bad gradients and data other than what
            # the state was built for go the copy path, which tells them apart (and raises).
            # ``is``: NumPy has one instance of each native float dtype (another instance
            # that compares equal merely takes the copy path); carray: C-contiguous, aligned
            # and writable
            if type(g) is not np.ndarray or g.shape != shape or g.dtype is not dtype:
                return None
            if (
                type(data) is not np.ndarray
                or data.shape != shape
                or data.dtype is not dtype
                or not data.flags.carray
            ):
                return None
            flat.append(g.reshape(-1))
            # an array that is no view owns its memory: no call for the common case
            written.add(id(data if data.base is None else _owner(data)))
            read.append(id(g if g.base is None else _owner(g)))
        if not written.isdisjoint(read):
            return None
        for group in self._groups:
            if not group.synced:
                return None
        return flat if kernels.all_finite(flat) else None

    def _step_direct(self, grads: list) -> None:
        """The compiled rule reads the gradients where they are: no copy, one pass each."""
        lr = self.current_lr
        decay = self.decoupled_decay(lr)
        single = len(self._groups) == 1
        for group in self._groups:
            t = group.t[0] + 1
            arrays = grads if single else [grads[i] for i in group.index]
            self.fused_step(group, arrays, lr, t, decay)
            group.t = [t] * len(group.t)
        self.step_count += 1

    def _gradients(self) -> tuple[list, list[int]]:
        """Every parameter's ``grad`` (None where missing) and the missing positions, after
        checking that every parameter's data is still a writable array of the shape and
        dtype the optimizer was built for, and that each present gradient is a plain ndarray
        (or, for a 0-d parameter, a NumPy scalar) of that shape and dtype: a few comparisons
        per parameter, no copy, no pass over the entries."""
        grads, missing = [], []
        for i, (p, shape, dtype) in enumerate(self._layout):
            data = p.data
            if (
                not isinstance(data, np.ndarray)
                or data.shape != shape
                or data.dtype != dtype
                or not data.flags.writeable
            ):
                raise self._data_mismatch(i)
            g = p.grad
            if g is None:
                missing.append(i)
            elif not _is_array(g) or g.shape != shape or g.dtype != dtype:
                raise self._grad_mismatch(i, g)
            grads.append(g)
        return grads, missing

    def _nonfinite(self, group) -> list[str]:
        """Slow path after a failed finiteness check: the names of the group's parameters
        whose gradients hold NaN or Inf (none when a sum of squares merely overflowed)."""
        return [
            self._names[i]
            for i, g in zip(group.index, group.grads, strict=True)
            if not np.isfinite(g).all()
        ]

    def _data_mismatch(self, i: int) -> TypeError | ValueError:
        p, shape, dtype = self._layout[i]
        data = p.data
        where = f"{type(self).__name__}.step(): parameter {i} ({self._names[i]!r})"
        expected = (
            f"expected writable data of shape {shape} and dtype {dtype} "
            "(what the optimizer was built for)"
        )
        if not isinstance(data, np.ndarray):
            return TypeError(
                f"{where} {expected}, got {type(data).__name__}; no parameter was changed"
            )
        if data.shape == shape and data.dtype == dtype:
            got, hint = "a read-only array", "give it writable data (p.data = p.data.copy())"
        else:
            got = "a read-only array" if not data.flags.writeable else "an array"
            hint = "build a new optimizer for the new parameters"
        return ValueError(
            f"{where} {expected}, got {got} of shape {data.shape} and dtype {data.dtype}; "
            f"no parameter was changed: {hint}"
        )

    def _grad_mismatch(self, i: int, g) -> TypeError | ValueError:
        _, shape, dtype = self._layout[i]
        where = f"{type(self).__name__}.step(): parameter {i} ({self._names[i]!r})"
        expected = f"expected a gradient numpy.ndarray of shape {shape} and dtype {dtype}"
        if not _is_array(g):
            return TypeError(
                f"{where} {expected}, got {type(g).__name__}; no parameter was changed"
            )
        return ValueError(
            f"{where} {expected}, got shape {g.shape} and dtype {g.dtype}; no parameter was changed"
        )

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically, as pure data (copies).

        ``{"optimizer": name, "hyperparameters": {...}, "lr": float or schedule config,
        "step_count": int, "epoch": int, "params": [{"name", "shape", "dtype", "t",
        "state": {state name: ndarray}}, ...]}`` with parameters in construction order.
        """
        params = []
        for i, name in enumerate(self._names):
            group, j = self._where[i]
            _, shape, dtype = self._layout[i]
            params.append(
                {
                    "name": name,
                    "shape": list(shape),
                    "dtype": dtype.name,
                    "t": group.t[j],
                    "state": {
                        s: a.copy() for s, a in zip(self.state_names, group.states[j], strict=True)
                    },
                }
            )
        lr = self._lr
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters,
            "lr": lr.get_config() if isinstance(lr, Schedule) else lr,
            "step_count": self.step_count,
            "epoch": self._epoch,
            "params": params,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``: hyperparameters, rate, counters and state arrays.

        Everything is validated before anything changes.

        Raises
        ------
        TypeError
            If ``state``, or a part of it that should be a dict (the hyperparameters, a
            parameter's entry or its state arrays), is not a mapping.
        ValueError
            If the checkpoint is for another optimizer, or its parameters differ in count,
            names, shapes, dtypes or state arrays from this optimizer's (naming them), or a
            state array holds what no step gives: NaN or Inf, or in an average of squares
            (``nonnegative_states``) NaN or a negative value (+inf is one a step gives),
            or an update count (``step_count``, a parameter's ``t``) beyond
            :data:`~chainrule.optim.checkpoint.MAX_COUNT`, which the next update could not
            take as a float.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        expect_keys(
            owner,
            "state",
            state,
            ("optimizer", "hyperparameters", "lr", "step_count", "epoch", "params"),
        )
        if state["optimizer"] != type(self).__name__:
            raise ValueError(
                f"{owner}: expected a {type(self).__name__} checkpoint, got {state['optimizer']!r}"
            )
        hp = state["hyperparameters"]
        expect_keys(owner, "hyperparameters", hp, self._hyper_names)
        hyper = self._check_hyperparameters(hp)
        lr = state["lr"]
        lr = _check_lr(owner, schedule_from_config(lr) if isinstance(lr, Mapping) else lr)
        step_count = count(owner, "step_count", state["step_count"])
        epoch = _checks.integer(owner, "epoch", state["epoch"], low=0)
        entries = state["params"]
        if not isinstance(entries, list | tuple) or len(entries) != len(self._names):
            got = entries if not isinstance(entries, list | tuple) else len(entries)
            raise ValueError(
                f"{owner}: expected {len(self._names)} parameter states "
                f"({', '.join(self._names)}), got {got}"
            )
        names = self._state_names_for(hyper)
        if names != self.state_names:
            raise ValueError(
                f"{owner}: the checkpoint's hyperparameters need state {list(names)}, this "
                f"optimizer keeps {list(self.state_names)}; build it with the same settings"
            )
        ts = []
        for i, entry in enumerate(entries):
            _, shape, dtype = self._layout[i]  # what the state arrays were built for
            ts.append(
                check_entry(
                    owner,
                    i,
                    entry,
                    self._names[i],
                    shape,
                    dtype,
                    self.state_names,
                    self.nonnegative_states,
                )
            )
        self.__dict__.update(hyper)
        self._lr = lr
        self.step_count = step_count
        self._epoch = epoch
        for i, entry in enumerate(entries):
            group, j = self._where[i]
            group.t[j] = ts[i]
            for view, name in zip(group.states[j], self.state_names, strict=True):
                view[...] = entry["state"][name]
        for group in self._groups:
            group.synced = len(set(group.t)) == 1
            if len(group.scratch) != self.n_scratch:  # e.g. nesterov switched by the checkpoint
                group.allocate_scratch(self.n_scratch)

    # -- copies ------------------------------------------------------------------------
    def _init_kwargs(self) -> dict:
        """The constructor's keyword arguments beyond ``params`` and ``lr`` that rebuild
        this optimizer (copies, pickle): its hyperparameters, by name (Adam adds the
        ``fused`` it was given)."""
        return self.hyperparameters

    def __reduce__(self):
        # the groups' per-parameter views of their flat buffers do not survive a copy or a
        # pickle (each would become an array of its own): rebuild, then load the state
        pairs = list(zip(self._names, self._params, strict=True))
        rebuild = (type(self), pairs, self._lr, self._init_kwargs())
        return _rebuilt, rebuild, self.state_dict()

    def __setstate__(self, state: dict) -> None:
        self.load_state_dict(state)

    # -- construction ------------------------------------------------------------------
    def _build_groups(self) -> None:
        # what the state is built for: every step checks the parameters' data against it
        self._layout = [(p, p.shape, p.dtype) for p in self._params]
        by_dtype: dict[np.dtype, list[int]] = {}
        for i, p in enumerate(self._params):
            by_dtype.setdefault(p.dtype, []).append(i)
        self._groups = [
            Group(idx, [self._params[i] for i in idx], len(self.state_names), self.n_scratch)
            for idx in by_dtype.values()
        ]
        self._where = [None] * len(self._params)
        # each parameter's view of its group's flat gradient buffer, in parameter order
        self._grad_views = [None] * len(self._params)
        for group in self._groups:
            for j, i in enumerate(group.index):
                self._where[i] = (group, j)
                self._grad_views[i] = group.grads[j]

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({len(self._params)} parameters, lr={self._lr!r}, {hp})"


def _is_array(g) -> bool:
    """A plain ndarray or a NumPy scalar (0-d arithmetic gives one); not a subclass such as
    ``np.matrix`` or a masked array, which the compiled kernels refuse."""
    return type(g) is np.ndarray or isinstance(g, np.generic)


def _owner(a: np.ndarray):
    """The object that owns the memory of ``a`` as its ``.base`` links tell: ``a`` itself,
    the array it is a view of, or the buffer under them (bytes, mmap). The links go on
    through what holds an array without being one: ``as_strided``'s holder (``.base``)
    and a memoryview (``.obj``). Two arrays with different owners do not overlap unless
    one was made from a raw pointer."""
    while (base := a.base) is not None:
        if not isinstance(base, np.ndarray):
            held = getattr(base, "obj" if isinstance(base, memoryview) else "base", None)
            if not isinstance(held, np.ndarray):
                return base
            base = held
        a = base
    return a


def _write(params, steps, decay: float) -> None:
    # The only place where parameters are written: in place, so that models, views and
    # other references to ``p.data`` all see the new values. A decoupled decay goes with
    # the step, W - (W * decay + step), rather than as a factor 1 - decay on W: rounded to
    # float32 that factor is a multiple of 6e-8 (a decay of 1e-7 became 1.19e-7, one
    # below 3e-8 none at all), while W * decay keeps its relative precision.
    if decay:
        for p, s in zip(params, steps, strict=True):
            d = p.data
            s += d * decay
            d -= s
    else:
        for p, s in zip(params, steps, strict=True):
            d = p.data
            d -= s


def _collect(params, owner: str) -> tuple[list[str], list[Tensor]]:
    names, tensors = [], []
    for name, p in named_tensors(owner, params, unnamed_prefix="param"):
        check_leaf(owner, name, p)
        if not p.data.flags.writeable:
            raise ValueError(f"{owner}: parameter {name!r} has read-only data; expected writable")
        names.append(name)
        tensors.append(p)
    if not tensors:
        raise ValueError(f"{owner}: expected at least one parameter, got none")
    return names, tensors


def _rebuilt(cls, params, lr, kwargs: dict) -> Optimizer:
    """``cls`` built anew, for :meth:`Optimizer.__reduce__` (its state follows)."""
    return cls(params, lr=lr, **kwargs)


def _check_lr(owner: str, value) -> float | Schedule:
    if isinstance(value, Schedule):
        other = unregistered(value)
        if other is not None:
            held = "" if other is value else f" holding {type(other).__name__}"
            raise TypeError(
                f"{owner}: lr expected a float or a schedule among {sorted(SCHEDULES)} "
                f"(state_dict() saves it by name), got {type(value).__name__}{held}, whose "
                f"name {other.name!r} does not rebuild it; a checkpoint of it could not be "
                "loaded. Use one of those, or assign opt.lr a float as the run goes"
            )
        return value
    return _checks.real(owner, "lr", value, low=0.0)


__all__ = ["Optimizer"]
