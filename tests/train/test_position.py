"""The running epoch's position: its checkpoint dict and back."""

import numpy as np
import pytest

from chainrule.train.position import Position


def _position(**changes):
    values = {
        "shuffler": np.random.default_rng(0).bit_generator.state,
        "batch": 2,
        "examples": 5,
        "loss_sum": 2.5,
        "sq_norms": {"w": 1.0},
        "pred": [np.array([0, 1]), np.array([1, 1, 0])],
        "true": [np.array([0, 0]), np.array([1, 0, 0])],
        "elapsed": 0.5,
        "lr": 0.1,
    }
    return Position(**{**values, **changes})


def test_a_position_goes_through_its_dict_with_one_array_of_predictions_and_one_of_labels():
    position = _position()
    data = position.to_dict()
    assert [len(a) for a in data["pred"] + data["true"]] == [5, 5]
    back = Position.from_dict(data, batches_per_epoch=3, parameters=["w"])
    assert back.to_dict().keys() == data.keys()
    assert (back.batch, back.examples, back.loss_sum, back.lr) == (2, 5, 2.5, 0.1)
    assert np.array_equal(np.concatenate(back.true), np.concatenate(position.true))
    assert back.mean_loss == 0.5


def test_a_fresh_position_has_no_rate_and_a_mean_loss_of_zero():
    fresh = Position(shuffler=np.random.default_rng(0).bit_generator.state)
    assert (fresh.batch, fresh.lr, fresh.pred, fresh.mean_loss) == (0, None, [], 0.0)
    assert Position.from_dict(fresh.to_dict(), batches_per_epoch=1, parameters=[]) == fresh


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"batch": 4}, r"^position 'batch' expected a batch in \[0, 3\], got 4$"),
        ({"examples": True}, r"^position 'examples' expected a number >= 0, got True$"),
        ({"lr": None}, r"^position 'lr' expected a number \(the epoch's rate\) after its first"),
        # they failed mid-epoch with a bare TypeError, or logged norms of no parameter
        ({"sq_norms": {"w": "1.0"}}, r"^position 'sq_norms' expected squared norms \(numbers"),
        ({"sq_norms": {"w": -1.0}}, r"among \['w'\], got \{'w': -1.0\}$"),
        ({"sq_norms": {"v": 1.0}}, r"^position 'sq_norms' expected .* got \{'v': 1.0\}$"),
    ],
)
def test_a_position_that_this_run_cannot_continue_from_is_refused(changes, says):
    with pytest.raises(ValueError, match=says):
        Position.from_dict(_position(**changes).to_dict(), batches_per_epoch=3, parameters=["w"])
