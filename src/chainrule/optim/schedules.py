"""Learning-rate schedules: pure, serializable functions ``schedule(t) -> lr``.

A schedule is a frozen object: calling it never changes it or any optimizer, and
``get_config()`` gives plain data that :func:`schedule_from_config` turns back into an equal
schedule through a closed registry of names (no ``eval``, no imports by name). So an
optimizer takes as ``lr`` only the schedules of that registry, :data:`SCHEDULES`, whose
``state_dict`` saves the config (see :func:`unregistered`): a subclass of one's own could
not be reloaded, and is refused when it is given.

Each schedule has a ``unit``: ``"epoch"`` (t is the epoch number) or ``"step"`` (t is the
mini-batch number, i.e. the number of the parameter update). Both count from 1, as in the
course (its lecture's table of alpha0/(1 + decay_rate*epoch) starts at epoch 1; the notes
give the formulas only), and k/sqrt(t) needs t >= 1. An optimizer given a schedule as
``lr`` evaluates it at its ``epoch`` or at ``step_count + 1`` according to ``unit``.

A rate of 0 is taken everywhere, as an optimizer's ``lr=0`` is: ``alpha0=0``, or every
``PiecewiseConstant`` value 0, gives a schedule that leaves the parameters where they are
(a frozen baseline, a run that measures only), never an error.

The lengths ``StepDecay.every``, ``CosineDecay.duration`` and ``LinearWarmup.warmup`` are
counts of epochs or steps, bounded as update counts are: integers in [1,
:data:`~chainrule.optim.checkpoint.MAX_COUNT`], so that t / length is a float division
(``ValueError`` beyond it, where that division raised ``OverflowError`` at the first step).

The notes' decay formulas (002 section 2.6, 003 "Learning rate decay"; 003 misprints the
first as ``alpha0 / (decay_rate * t)``, without the 1 that keeps the rate at ``alpha0``
for a decay rate of 0):

=====================  =============================================
``InverseTimeDecay``   alpha0 / (1 + decay_rate * t)
``ExponentialDecay``   alpha0 * base**t (the notes' base 0.95)
``InverseSqrtDecay``   alpha0 * k / sqrt(t) (by epoch, or by mini-batch t)
``StepDecay``          alpha0 * factor**floor(t / every)
``PiecewiseConstant``  the notes' "manual" decay: values[i] between boundaries
``CosineDecay``        alpha_min + (alpha0 - alpha_min) * (1 + cos(pi min(t, T) / T)) / 2
``LinearWarmup``       min(1, t / warmup) * after(t)
=====================  =============================================
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from chainrule import _checks
from chainrule.optim.checkpoint import count

UNITS = ("epoch", "step")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Base class: a pure function of the epoch or step number ``t`` giving a learning rate."""

    name: ClassVar[str] = ""
    #: The smallest t at which the formula is defined.
    first: ClassVar[int] = 0

    def __call__(self, t) -> float:
        """The learning rate at ``t`` (a Python float, whatever the type of ``t``).

        ``t`` is a real number >= :attr:`first` (Python's or NumPy's; not a bool):
        ``TypeError`` for anything else, ``ValueError`` for one below ``first`` or not
        finite."""
        return float(self.value(self._counter(t)))

    def value(self, t: float) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Plain data: ``{"name": ..., field: value, ...}``; see :func:`schedule_from_config`."""
        config = {"name": self.name}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Schedule):
                value = value.get_config()
            elif isinstance(value, tuple):
                value = list(value)
            config[field.name] = value
        return config

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
        return cls(**config)

    def _counter(self, t) -> float:
        name = f"t (the {self.unit} number; epochs and steps count from 1)"
        return _checks.real(type(self).__name__, name, t, low=self.first)

    def _check_unit(self) -> None:
        _checks.choice(type(self).__name__, "unit", self.unit, UNITS)


def _normalize(schedule, field: str, value) -> None:
    object.__setattr__(schedule, field, value)


@dataclasses.dataclass(frozen=True)
class InverseTimeDecay(Schedule):
    """alpha = alpha0 / (1 + decay_rate * t), the notes' first decay formula."""

    alpha0: float
    decay_rate: float
    unit: str = "epoch"
    name: ClassVar[str] = "inverse_time"

    def __post_init__(self):
        owner = type(self).__name__
        _normalize(self, "alpha0", _checks.real(owner, "alpha0", self.alpha0, low=0.0))
        _normalize(self, "decay_rate", _checks.real(owner, "decay_rate", self.decay_rate, low=0.0))
        self._check_unit()

    def value(self, t):
        return self.alpha0 / (1.0 + self.decay_rate * t)


@dataclasses.dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """alpha = alpha0 * base**t (the notes use base = 0.95)."""

    alpha0: float
    base: float = 0.95
    unit: str = "epoch"
    name: ClassVar[str] = "exponential"

    def __post_init__(self):
        owner = type(self).__name__
        _normalize(self, "alpha0", _checks.real(owner, "alpha0", self.alpha0, low=0.0))
        _normalize(
            self, "base", _checks.real(owner, "base", self.base, low=0.0, high=1.0, low_open=True)
        )
        self._check_unit()

    def value(self, t):
        return self.alpha0 * self.base**t


@dataclasses.dataclass(frozen=True)
class InverseSqrtDecay(Schedule):
    """alpha = alpha0 * k / sqrt(t), for t >= 1.

    The notes give it by epoch (``unit="epoch"``) and by mini-batch number t
    (``unit="step"``); k is the tunable constant. The rate at t = 1, alpha0 * k, must be
    finite (``ValueError``).
    """

    alpha0: float
    k: float = 1.0
    unit: str = "epoch"
    name: ClassVar[str] = "inverse_sqrt"
    first: ClassVar[int] = 1

    def __post_init__(self):
        owner = type(self).__name__
        alpha0 = _checks.real(owner, "alpha0", self.alpha0, low=0.0)
        k = _checks.real(owner, "k", self.k, low=0.0, low_open=True)
        if not math.isfinite(alpha0 * k):  # the rate at t = 1, the largest
            raise ValueError(
                f"{owner}: alpha0 * k (the rate at t = 1) expected a finite product, got "
                f"alpha0={alpha0!r} * k={k!r} = inf"
            )
        _normalize(self, "alpha0", alpha0)
        _normalize(self, "k", k)
        self._check_unit()

    def value(self, t):
        return self.alpha0 * self.k / math.sqrt(t)


@dataclasses.dataclass(frozen=True)
class StepDecay(Schedule):
    """alpha = alpha0 * factor**floor(t / every): multiply by ``factor`` at t = every, 2 every..."""

    alpha0: float
    every: int
    factor: float = 0.1
    unit: str = "epoch"
    name: ClassVar[str] = "step_decay"

    def __post_init__(self):
        owner = type(self).__name__
        _normalize(self, "alpha0", _checks.real(owner, "alpha0", self.alpha0, low=0.0))
        _normalize(self, "every", _length(owner, "every", self.every))
        _normalize(
            self,
            "factor",
            _checks.real(owner, "factor", self.factor, low=0.0, high=1.0, low_open=True),
        )
        self._check_unit()

    def value(self, t):
        return self.alpha0 * self.factor ** math.floor(t / self.every)


@dataclasses.dataclass(frozen=True)
class PiecewiseConstant(Schedule):
    """The notes' "manual" decay: ``values[i]`` from ``boundaries[i-1]`` up to ``boundaries[i]``.

    ``values[0]`` holds for t < boundaries[0], ``values[i]`` for
    boundaries[i-1] <= t < boundaries[i], and ``values[-1]`` from ``boundaries[-1]`` on; so
    ``PiecewiseConstant([10, 20], [0.1, 0.01, 0.001])`` switches at epochs 10 and 20.
    """

    boundaries: tuple
    values: tuple
    unit: str = "epoch"
    name: ClassVar[str] = "piecewise_constant"

    def __post_init__(self):
        owner = type(self).__name__
        bounds = tuple(
            _checks.integer(owner, f"boundaries[{i}]", b, low=0)
            for i, b in enumerate(_sequence(owner, "boundaries", self.boundaries))
        )
        if any(b >= c for b, c in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"{owner}: boundaries expected strictly increasing, got {bounds}")
        values = tuple(
            _checks.real(owner, f"values[{i}]", v, low=0.0)
            for i, v in enumerate(_sequence(owner, "values", self.values))
        )
        if len(values) != len(bounds) + 1:
            raise ValueError(
                f"{owner}: expected len(values) == len(boundaries) + 1 = {len(bounds) + 1}, "
                f"got {len(values)}"
            )
        _normalize(self, "boundaries", bounds)
        _normalize(self, "values", values)
        self._check_unit()

    def value(self, t):
        return self.values[bisect.bisect_right(self.boundaries, t)]


@dataclasses.dataclass(frozen=True)
class CosineDecay(Schedule):
    """alpha = alpha_min + (alpha0 - alpha_min) * (1 + cos(pi * min(t, duration) / duration)) / 2.

    Falls from alpha0 (at t = 0) to ``alpha_min`` at t = ``duration`` and stays there.
    """

    alpha0: float
    duration: int
    alpha_min: float = 0.0
    unit: str = "step"
    name: ClassVar[str] = "cosine"

    def __post_init__(self):
        owner = type(self).__name__
        alpha0 = _checks.real(owner, "alpha0", self.alpha0, low=0.0)
        _normalize(self, "alpha0", alpha0)
        _normalize(self, "duration", _length(owner, "duration", self.duration))
        _normalize(
            self,
            "alpha_min",
            _checks.real(owner, "alpha_min", self.alpha_min, low=0.0, high=alpha0),
        )
        self._check_unit()

    def value(self, t):
        progress = min(t, self.duration) / self.duration
        return self.alpha_min + (self.alpha0 - self.alpha_min) * 0.5 * (
            1.0 + math.cos(math.pi * progress)
        )


@dataclasses.dataclass(frozen=True)
class LinearWarmup(Schedule):
    """alpha = min(1, t / warmup) * after(t): a linear ramp from 0 that hands over to ``after``.

    ``after`` is a constant rate or another schedule of the same unit, evaluated at the same
    t (so a :class:`CosineDecay` after a warm-up keeps decaying during it). ``unit``
    defaults to ``after.unit``, or ``"step"`` for a constant.
    """

    after: float | Schedule
    warmup: int
    unit: str | None = None
    name: ClassVar[str] = "linear_warmup"

    def __post_init__(self):
        owner = type(self).__name__
        after = self.after
        if isinstance(after, Schedule):
            unit = after.unit if self.unit is None else self.unit
            if unit != after.unit:
                raise ValueError(
                    f"{owner}: unit expected to match after.unit {after.unit!r}, got {unit!r}"
                )
        else:
            _normalize(self, "after", _checks.real(owner, "after", after, low=0.0))
            unit = "step" if self.unit is None else self.unit
        _normalize(self, "unit", unit)
        _normalize(self, "warmup", _length(owner, "warmup", self.warmup))
        self._check_unit()

    @property
    def first(self) -> int:
        return self.after.first if isinstance(self.after, Schedule) else 0

    def value(self, t):
        after = self.after
        rate = after.value(t) if isinstance(after, Schedule) else after
        return rate * min(1.0, t / self.warmup)

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
        after = config.get("after")
        if isinstance(after, Mapping):
            config = {**config, "after": schedule_from_config(after)}
        return cls(**config)


def _length(owner: str, field: str, value) -> int:
    """``value`` as a number of epochs or steps that t is divided by: a count in ``[1,
    MAX_COUNT]`` (the largest update count, below float's largest number)."""
    return count(owner, field, value, low=1, why=f"t / {field} is taken as a float")


def _sequence(owner: str, field: str, value) -> tuple:
    if isinstance(value, str) or not hasattr(value, "__len__"):
        raise TypeError(f"{owner}: {field} expected a list of numbers, got {value!r}")
    return tuple(_checks.ordered(owner, field, value, "a list of numbers"))


SCHEDULES: Mapping[str, type[Schedule]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            InverseTimeDecay,
            ExponentialDecay,
            InverseSqrtDecay,
            StepDecay,
            PiecewiseConstant,
            CosineDecay,
            LinearWarmup,
        )
    }
)


def unregistered(schedule: Schedule) -> Schedule | None:
    """The first schedule in ``schedule`` (itself, then those it holds, as
    :class:`LinearWarmup`'s ``after``) whose class is not the one :data:`SCHEDULES` has
    under its ``name`` (a subclass of one's own), so that :func:`schedule_from_config`
    cannot rebuild ``schedule.get_config()``; None when there is none."""
    if SCHEDULES.get(schedule.name) is not type(schedule):
        return schedule
    for field in dataclasses.fields(schedule):
        value = getattr(schedule, field.name)
        if isinstance(value, Schedule) and (found := unregistered(value)) is not None:
            return found
    return None


def schedule_from_config(config: Mapping) -> Schedule:
    """Rebuild a schedule from ``schedule.get_config()``.

    Raises
    ------
    ValueError
        If the name is not one of :data:`SCHEDULES` or the fields do not match its
        constructor (naming the expected ones).
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"schedule_from_config: expected a dict, got {type(config).__name__}")
    name = config.get("name")
    cls = SCHEDULES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"schedule_from_config: expected a name among {sorted(SCHEDULES)}, got {name!r}"
            + _checks.did_you_mean(name, SCHEDULES)
        )
    fields = {k: v for k, v in config.items() if k != "name"}
    known = [f.name for f in dataclasses.fields(cls)]
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    unknown = sorted(set(fields) - set(known))
    missing = [k for k in required if k not in fields]
    if unknown or missing:
        raise ValueError(
            f"schedule_from_config: {name!r} expected fields {known} (required {required}); "
            f"missing {missing}, unknown {unknown}" + _checks.did_you_mean(unknown, known)
        )
    return cls.from_config(fields)


__all__ = [
    "SCHEDULES",
    "CosineDecay",
    "ExponentialDecay",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "PiecewiseConstant",
    "Schedule",
    "StepDecay",
    "schedule_from_config",
    "unregistered",
]
