"""A config's schedule.params refused in the config's terms: a key the schedule does not
take is named as ``schedule.params.<key>`` with the closest one (and the ``--set`` that
set it), a key it needs is named as the config would give it. The Python API's message
named ``schedule_from_config`` and listed alpha0 and a cosine's duration as required,
which a config defaults to optimizer.lr and the run's steps."""

import pytest

from chainrule.runs import build
from chainrule.runs import config as cfg

MOONS = str(build.packaged_config("moons.toml"))


@pytest.mark.parametrize(
    ("sets", "origin", "says"),
    [
        (
            ["schedule.name='cosine'", "schedule.params={alpha_mn=0.0}"],
            "--set 'schedule.params={alpha_mn=0.0}'",
            "unknown key schedule.params.alpha_mn for schedule.name = 'cosine'; did you mean "
            "'schedule.params.alpha_min'?",
        ),
        (
            ["schedule.name='exponential'", "schedule.params={bogus=1}"],
            "--set 'schedule.params={bogus=1}'",
            "unknown key schedule.params.bogus for schedule.name = 'exponential'; valid: "
            "schedule.params.alpha0, schedule.params.base, schedule.params.unit",
        ),
        (
            ["schedule.name='step_decay'"],
            f"{MOONS} with --set \"schedule.name='step_decay'\"",
            "schedule.params: schedule.name = 'step_decay' needs schedule.params.every (its "
            "params: alpha0, every, factor, unit; alpha0 defaults to optimizer.lr)",
        ),
        (
            ["schedule.name='piecewise_constant'", "optimizer.lr=0.001"],
            f"{MOONS} with --set \"schedule.name='piecewise_constant'\" --set 'optimizer.lr=0.001'",
            "schedule.params: schedule.name = 'piecewise_constant' needs "
            "schedule.params.boundaries and schedule.params.values (its params: boundaries, "
            "values, unit)",
        ),
    ],
)
def test_schedule_params_are_refused_in_the_configs_terms(sets, origin, says):
    with pytest.raises(cfg.ConfigError) as info:
        build.load_config(MOONS, sets)
    assert str(info.value) == f"{origin}: {says}"


def test_a_cosine_needs_no_alpha0_or_duration_in_a_config():
    config, _ = build.load_config(MOONS, ["schedule.name='cosine'"])
    schedule = build.build_schedule(config, 800)
    assert schedule.alpha0 == config["optimizer"]["lr"] and schedule.duration > 1


def test_a_value_the_schedule_refuses_still_names_schedule_params():
    with pytest.raises(cfg.ConfigError, match=r"schedule\.params: CosineDecay: alpha_min "):
        build.load_config(MOONS, ["schedule.name='cosine'", "schedule.params={alpha_min=-1.0}"])
