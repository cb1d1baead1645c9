"""Fixtures that tests of more than one folder use."""

import functools

import pytest

from chainrule import nn

#: A Linear layer of 10**12 weights (4 TB of float32): no test may build it.
HUGE_SIZES = (10**6, 10**6)


@pytest.fixture
def no_huge_linear(monkeypatch):
    """Fail the test when a Linear of :data:`HUGE_SIZES` is built; build any other."""
    build = nn.Linear.__init__

    @functools.wraps(build)  # the signature from_config binds a config's keys against
    def checked(self, in_features, out_features, *args, **kwargs):
        assert (in_features, out_features) != HUGE_SIZES, "the huge Linear was built"
        build(self, in_features, out_features, *args, **kwargs)

    monkeypatch.setattr(nn.Linear, "__init__", checked)
