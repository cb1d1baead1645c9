"""Experiment 17: gradient checking names a planted bug; dropout fools it (fast preset)."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["gradient_checking"]("fast", tmp_path_factory.mktemp("e17"))


def test_correct_backward_passes(result):
    correct = result.numbers["cases"]["correct backward"]
    assert correct["passed"] is True
    assert max(correct["relative_errors"].values()) < 1e-7


def test_planted_bug_is_caught_and_located(result):
    buggy = result.numbers["cases"]["planted bug in db2"]
    assert buggy["passed"] is False
    assert buggy["failing_parameters"] == ["b2"]
    assert buggy["relative_errors"]["b2"] > 1e-3


def test_dropout_makes_a_correct_backward_fail(result):
    with_dropout = result.numbers["cases"]["correct backward, dropout keep_prob = 0.5"]
    assert with_dropout["passed"] is False
    assert min(with_dropout["relative_errors"].values()) > 1e-3
    assert result.verdict is True


def test_figure_is_a_png(result):
    assert result.figures[0].read_bytes()[:8] == PNG
