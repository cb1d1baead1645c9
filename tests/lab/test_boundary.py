"""The lab's class reading: the library's rule for outputs, and its accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.lab import boundary


class _OwnSigmoid(nn.Sigmoid):
    pass


def _model(last):
    linear = nn.Linear(2, 1, rng=0)
    linear.bias.data[...] = -1.0  # every output at X = 0: sigmoid(-1) = 0.27, class 0
    return nn.Sequential(linear, last) if last is not None else linear


@pytest.mark.parametrize(
    ("last", "label"), [(nn.Sigmoid(), 0), (_OwnSigmoid(), 0), (None, 0), (nn.Identity(), 0)]
)
def test_predicted_classes_read_probabilities_and_logits(last, label):
    # a subclass of Sigmoid was read as logits: sigmoid(-1) > 0 made class 1
    X = np.zeros((3, 2), np.float32)
    np.testing.assert_array_equal(boundary.predicted_classes(_model(last), X), [label] * 3)


def test_accuracy_takes_labels_of_shape_m_or_m_1():
    X = np.zeros((4, 2), np.float32)
    model = _model(nn.Sigmoid())
    assert boundary.accuracy(model, X, np.array([0, 0, 1, 0])) == 0.75
    assert boundary.accuracy(model, X, np.array([[0.0], [1.0], [1.0], [0.0]])) == 0.5
    with pytest.raises(ValueError, match=r"accuracy: expected y_true as class labels"):
        boundary.accuracy(model, X, np.eye(2)[[0, 0, 1, 0]])  # one-hot rows were flattened


def test_draw_boundary_cycles_colours_and_markers_past_five_classes():
    # six or more classes ran off the end of five colours and markers: a bare IndexError
    from matplotlib.colors import to_rgba

    from chainrule import plots

    X = np.random.default_rng(0).normal(size=(90, 2)).astype(np.float32)
    y = np.arange(90) % 9
    fig, ax = plots.figure()
    boundary.draw_boundary(ax, nn.MLP([2, 8, 9], seed=0), X, y, "nine classes")
    points = ax.collections[-9:]
    assert [p.get_label() for p in points] == [f"class {k}" for k in range(9)]
    colours = [tuple(p.get_facecolor()[0]) for p in points]
    shapes = [p.get_paths()[0].vertices.round(6).tobytes() for p in points]
    assert len(set(colours[:8])) == 8  # every colour of the palette before one repeats
    assert colours[8] == colours[0] == to_rgba(plots.PALETTE[0])
    assert shapes[5] == shapes[0] != shapes[8]  # five markers cycle: class 8 has a new pair
    assert len(set(zip(colours, shapes, strict=True))) == 9
    plots.pyplot().close(fig)
