"""Shared checks of the lab tests."""

import warnings
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_pngs(figures, outdir: Path) -> None:
    """Every figure exists inside ``outdir``, is a PNG, and has its SVG twin."""
    assert figures, "an experiment must draw at least one figure"
    for path in figures:
        path = Path(path)
        assert path.parent == outdir
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert path.with_suffix(".svg").exists()


@pytest.fixture
def check_pngs():
    return assert_pngs


@pytest.fixture(autouse=True)
def _quiet_gradient_advice():
    """The experiments provoke vanishing and exploding gradients on purpose; the runner
    silences fit's advice about them (``GradientWarning``), so the tests do too."""
    from chainrule.train.diagnostics import GradientWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientWarning)
        yield


@pytest.fixture
def registry():
    """The experiments registered during the test are forgotten after it."""
    from chainrule.lab import EXPERIMENTS

    saved = dict(EXPERIMENTS)
    yield EXPERIMENTS
    EXPERIMENTS.clear()
    EXPERIMENTS.update(saved)
