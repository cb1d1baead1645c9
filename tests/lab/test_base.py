"""Registering an experiment: ``experiment()`` refuses what the runner and the report
could not use, before anything is registered."""

import re

import numpy as np
import pytest

from chainrule.lab import Result, experiment, runner


def _run(preset, outdir):
    return Result({}, [], True, "s", "none")


@pytest.mark.parametrize(
    ("args", "error", "says"),
    [
        # a str number was kept, and sorting the experiments by number then raised a bare
        # TypeError inside runner.select(None)
        (("19", "later"), TypeError, "number expected an integer >= 1, got str '19'"),
        ((19.0, "later"), TypeError, "number expected an integer >= 1, got float 19.0"),
        ((True, "later"), TypeError, "number expected an integer >= 1, got bool True"),
        ((0, "later"), ValueError, "number expected an integer >= 1, got 0"),
        ((19, None), TypeError, "name expected a str, got NoneType None"),
        ((19, ""), ValueError, "name expected a non-empty string of letters, digits and "),
        ((19, "../up"), ValueError, "underscores, got '../up'"),
        ((19, "later", b"T"), TypeError, "title expected a str, got bytes b'T'"),
        ((19, "later", "T", " "), ValueError, "claim expected a non-empty string, got ' '"),
        ((19, "later", "T", "c", 2), TypeError, "source expected a str, got int 2"),
        ((19, "later", "T", "c", "2"), ValueError, "like '002, 003'), got '2'"),
        ((19, "later", "T", "c", "002,003"), ValueError, "got '002,003'"),
    ],
)
def test_experiment_refuses_malformed_arguments(registry, args, error, says):
    args = args + ("T", "c", "002")[len(args) - 2 :]
    before = dict(registry)
    with pytest.raises(error, match=re.escape("experiment(): ") + ".*" + re.escape(says)):
        experiment(*args)(_run)
    assert registry == before
    assert [e.number for e in runner.select(None)] == list(range(1, 19))


def test_experiment_refuses_a_number_already_taken_naming_its_holder(registry):
    # a second experiment numbered 3 was registered: two report sections numbered 3
    says = "number expected an integer >= 1 no experiment holds, got 3, which experiment "
    says += "'quadratic_vs_cross_entropy' already holds"
    with pytest.raises(ValueError, match=re.escape(f"experiment(): {says}")):
        experiment(3, "dup3", "T", "c", "002")(_run)
    assert "dup3" not in registry


def test_experiment_refuses_a_name_already_taken(registry):
    says = "name expected a name no experiment holds, got 'graph', which experiment 1 "
    with pytest.raises(ValueError, match=re.escape(f"experiment(): {says}already holds")):
        experiment(19, "graph", "T", "c", "004")(_run)
    assert registry["graph"].number == 1


def test_experiment_refuses_a_run_that_cannot_take_preset_and_outdir(registry):
    with pytest.raises(TypeError, match=re.escape("experiment(): the decorated run expected")):
        experiment(19, "later", "T", "c", "002")(lambda preset: None)
    with pytest.raises(TypeError, match="got str 'run'"):
        experiment(19, "later", "T", "c", "002")("run")
    assert "later" not in registry


def test_a_numpy_integer_number_is_kept_as_an_int(registry):
    experiment(np.int64(19), "later", "T", "c", "002, 003")(_run)
    assert type(registry["later"].number) is int
    assert runner.select(None)[-1].name == "later"
