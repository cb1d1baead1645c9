"""Every schedule equals its formula at chosen epochs/steps, round-trips through its config,
and drives an optimizer through the right counter."""

import dataclasses
import json
import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import (
    SCHEDULES,
    SGD,
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    InverseTimeDecay,
    LinearWarmup,
    PiecewiseConstant,
    StepDecay,
    schedule_from_config,
)

TS = [1, 2, 3, 7, 10, 25]

FORMULAS = [
    (InverseTimeDecay(0.2, decay_rate=1.0), lambda t: 0.2 / (1 + 1.0 * t)),
    (ExponentialDecay(0.2), lambda t: 0.95**t * 0.2),
    (InverseSqrtDecay(0.2, k=0.5), lambda t: 0.5 / math.sqrt(t) * 0.2),
    (InverseSqrtDecay(0.2, k=0.5, unit="step"), lambda t: 0.5 / math.sqrt(t) * 0.2),
    (StepDecay(0.2, every=3, factor=0.5), lambda t: 0.2 * 0.5 ** (t // 3)),
    (
        PiecewiseConstant([3, 10], [0.2, 0.02, 0.002]),
        lambda t: 0.2 if t < 3 else 0.02 if t < 10 else 0.002,
    ),
    (
        CosineDecay(0.2, duration=10, alpha_min=0.01),
        lambda t: 0.01 + 0.19 * (1 + math.cos(math.pi * min(t, 10) / 10)) / 2,
    ),
    (LinearWarmup(0.2, warmup=5), lambda t: 0.2 * min(1.0, t / 5)),
    (
        LinearWarmup(ExponentialDecay(0.2, unit="step"), warmup=5),
        lambda t: 0.2 * 0.95**t * min(1.0, t / 5),
    ),
]
IDS = [f"{s.name}-{s.unit}" for s, _ in FORMULAS]


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=IDS)
def test_value_equals_formula(schedule, formula):
    for t in TS:
        assert schedule(t) == pytest.approx(formula(t), rel=1e-14), t
        assert isinstance(schedule(t), float)


def test_the_notes_inverse_time_table():
    # alpha0 = 0.2, decay_rate = 1: epochs 1..4 give 0.1, 0.067, 0.05, 0.04.
    schedule = InverseTimeDecay(0.2, decay_rate=1.0)
    np.testing.assert_allclose([schedule(e) for e in (1, 2, 3, 4)], [0.1, 0.2 / 3, 0.05, 0.04])


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=IDS)
def test_config_round_trip_through_json(schedule, formula):
    config = json.loads(json.dumps(schedule.get_config()))
    rebuilt = schedule_from_config(config)
    assert rebuilt == schedule
    assert [rebuilt(t) for t in TS] == [schedule(t) for t in TS]


def test_every_registered_schedule_is_covered():
    assert {s.name for s, _ in FORMULAS} == set(SCHEDULES)


def test_schedules_are_frozen():
    schedule = ExponentialDecay(0.1)
    with pytest.raises(AttributeError):
        schedule.alpha0 = 1.0


def test_from_config_rejects_unknown_names_and_fields():
    with pytest.raises(ValueError, match="expected a name among"):
        schedule_from_config({"name": "__import__('os')"})
    with pytest.raises(ValueError, match=r"unknown \['gamma'\]"):
        schedule_from_config({"name": "exponential", "alpha0": 0.1, "gamma": 2})
    with pytest.raises(ValueError, match=r"missing \['decay_rate'\]"):
        schedule_from_config({"name": "inverse_time", "alpha0": 0.1})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: InverseTimeDecay(-0.1, 1.0), r"alpha0 expected a finite number >= 0, got -0.1"),
        (lambda: ExponentialDecay(0.1, base=1.5), r"base expected .* in \(0, 1\], got 1.5"),
        (lambda: InverseSqrtDecay(0.1, k=0), r"k expected .* > 0, got 0"),
        (lambda: StepDecay(0.1, every=0), r"every expected an integer >= 1, got 0"),
        (lambda: PiecewiseConstant([5, 3], [1, 2, 3]), "strictly increasing"),
        (lambda: PiecewiseConstant([5], [1.0]), r"len\(values\) == len\(boundaries\) \+ 1"),
        (lambda: CosineDecay(0.1, 10, alpha_min=0.2), r"alpha_min expected .* in \[0, 0.1\]"),
        (lambda: ExponentialDecay(0.1, unit="batch"), "unit expected 'epoch' or 'step'"),
        (
            lambda: LinearWarmup(ExponentialDecay(0.1), warmup=3, unit="step"),
            "unit expected to match",
        ),
    ],
)
def test_bad_schedule_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "schedule",
    [
        InverseTimeDecay(0.0, decay_rate=1.0),
        ExponentialDecay(0.0),
        InverseSqrtDecay(0.0),
        StepDecay(0.0, every=2),
        PiecewiseConstant([2, 4], [0.0, 0.0, 0.0]),
        CosineDecay(0.0, duration=3),
        LinearWarmup(0.0, warmup=2),
    ],
    ids=lambda s: s.name,
)
def test_a_rate_of_zero_is_taken_by_every_schedule_as_by_lr(schedule):
    # an all-zero PiecewiseConstant, like alpha0=0 and lr=0, freezes a run: taken, not refused
    assert [schedule(t) for t in (1, 3, 5)] == [0.0, 0.0, 0.0]
    p = cr.tensor(np.ones(2), requires_grad=True)
    opt = SGD([p], lr=schedule)
    p.grad = np.ones(2)
    assert opt.step()
    np.testing.assert_array_equal(p.data, 1.0)


def test_counter_must_be_in_the_domain():
    with pytest.raises(
        ValueError,
        match=r"InverseSqrtDecay: t \(the epoch number; epochs and steps count from 1\) "
        r"expected a finite number >= 1, got 0",
    ):
        InverseSqrtDecay(0.1)(0)
    with pytest.raises(ValueError, match="t .* expected a finite number >= 0, got -1"):
        ExponentialDecay(0.1)(-1)
    assert ExponentialDecay(0.1)(0) == 0.1


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=IDS)
@pytest.mark.parametrize("t", ["3", None, [3], True], ids=["str", "None", "list", "bool"])
def test_a_counter_that_is_not_a_number_is_a_type_error(schedule, formula, t):
    # was a ValueError saying "expected t >= 0 ..., got '3'", as if '3' were too small
    expected = rf"{type(schedule).__name__}: t \(the {schedule.unit} number; .*\) expected a "
    with pytest.raises(TypeError, match=expected + rf"real number .*, got {type(t).__name__} "):
        schedule(t)


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=IDS)
@pytest.mark.parametrize("t", [math.inf, math.nan, 10**400], ids=["inf", "nan", "huge-int"])
def test_a_counter_that_is_not_finite_is_a_value_error(schedule, formula, t):
    # StepDecay raised a bare OverflowError on inf, the others gave a rate
    with pytest.raises(ValueError, match=r"t \(.*\) expected a finite number >= "):
        schedule(t)


@pytest.mark.parametrize(("schedule", "formula"), FORMULAS, ids=IDS)
@pytest.mark.parametrize("t", [np.float32(2.5), np.int64(3), np.float64(2.0)], ids=repr)
def test_the_rate_is_a_python_float_whatever_the_counter(schedule, formula, t):
    # a float32 t gave a float32 rate (NEP 50), rounded to float32 and not a float
    rate = schedule(t)
    assert type(rate) is float
    assert rate == pytest.approx(formula(float(t)), rel=1e-14)


def test_optimizer_reads_epoch_or_step_counter():
    def rate_after(schedule, epochs):
        p = cr.tensor(np.zeros(1), requires_grad=True)
        opt = SGD([p], lr=schedule)
        rates = []
        for epoch in range(1, epochs + 1):
            opt.set_epoch(epoch)
            for _ in range(2):  # two mini-batches per epoch
                rates.append(opt.current_lr)
                p.grad = np.ones(1)
                before = p.data.copy()
                opt.step()
                np.testing.assert_allclose(before - p.data, rates[-1])
        return rates

    by_epoch = InverseTimeDecay(1.0, decay_rate=1.0)
    assert rate_after(by_epoch, 3) == [by_epoch(e) for e in (1, 1, 2, 2, 3, 3)]
    by_step = InverseSqrtDecay(1.0, unit="step")
    assert rate_after(by_step, 3) == [by_step(t) for t in range(1, 7)]


@dataclasses.dataclass(frozen=True)
class Halving(cr.optim.Schedule):
    """A schedule of one's own: not in SCHEDULES (its name is the base class's '')."""

    alpha0: float = 0.1
    unit: str = "step"

    def value(self, t):
        return self.alpha0 / 2 ** (t - 1)


@dataclasses.dataclass(frozen=True)
class SteeperCosine(CosineDecay):
    """Named "cosine" by inheritance: its config rebuilt a CosineDecay, another schedule."""

    def value(self, t):
        return super().value(t) ** 2


@pytest.mark.parametrize(
    ("schedule", "got"),
    [
        (Halving(), "got Halving, whose name '' does not rebuild it"),
        (SteeperCosine(0.1, duration=10), "got SteeperCosine, whose name 'cosine' does not"),
        (LinearWarmup(Halving(), warmup=5), "got LinearWarmup holding Halving, whose name ''"),
    ],
    ids=["own", "subclass-of-registered", "nested"],
)
def test_a_schedule_no_checkpoint_could_rebuild_is_refused_as_lr(schedule, got):
    """Its state_dict saved name '' (or another schedule's), and load_state_dict failed at
    resume time, even into the same optimizer."""
    says = "^" + re.escape(f"SGD: lr expected a float or a schedule among {sorted(SCHEDULES)}")
    p = cr.tensor(np.zeros(1), requires_grad=True)
    with pytest.raises(TypeError, match=says) as built:
        SGD([p], lr=schedule)
    assert got in str(built.value)
    opt = SGD([p], lr=0.1)
    with pytest.raises(TypeError, match=says):
        opt.lr = schedule
    assert opt.lr == 0.1
