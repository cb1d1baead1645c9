"""A layer class's ``from_config``, ``values_needed`` and ``layers_needed`` refuse a config
that is not a dict, naming the class and the method, as ``nn.from_config`` does."""

from __future__ import annotations

import re

import pytest

from chainrule import nn
from chainrule.nn.module import Module
from chainrule.nn.registry import layers_needed, values_needed

READERS = ["from_config", "values_needed", "layers_needed"]


@pytest.mark.parametrize("config", ["x", None, [784, 30, 10]], ids=["str", "none", "list"])
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", sorted(nn.LAYERS))
def test_a_config_that_is_not_a_dict_is_refused_naming_the_class_and_method(name, reader, config):
    # Linear.from_config("x") raised AttributeError: 'str' object has no attribute 'get'
    expected = f"{name}.{reader}: expected a layer config dict, got {type(config).__name__} "
    with pytest.raises(ValueError, match="^" + re.escape(expected + repr(config)) + "$"):
        getattr(nn.LAYERS[name], reader)(config)


@pytest.mark.parametrize("reader", READERS)
def test_module_and_a_users_subclass_refuse_it_too(reader):
    class Scaled(Module):
        @classmethod
        def values_needed(cls, config: dict) -> int:
            return config.get("n", 0)

    for cls in (Module, Scaled):
        with pytest.raises(ValueError, match=rf"^{cls.__name__}\.{reader}: expected a layer"):
            getattr(cls, reader)("x")
    assert Scaled.values_needed({"n": 3}) == 3


def test_a_dict_is_read_as_before():
    config = nn.MLP([4, 3, 2], seed=0).get_config()
    assert nn.MLP.values_needed(config) == 4 * 3 + 3 + 3 * 2 + 2
    assert nn.MLP.layers_needed(config) == 5
    assert nn.MLP.from_config(config).sizes == [4, 3, 2]
    assert nn.Linear.values_needed({"in_features": 2, "out_features": 3}) == 9


def test_the_registry_still_counts_a_non_dict_as_none_and_refuses_it_as_before():
    assert values_needed("x") is None and layers_needed("x") is None
    with pytest.raises(ValueError, match="^expected a layer config dict with a 'type' key"):
        nn.from_config("x")
