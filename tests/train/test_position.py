"""The running epoch's position: its checkpoint dict and back."""

import math

import numpy as np
import pytest

from chainrule.train.position import Position

#: The run the position below is in: 3 batches of 2 out of 5 examples, 2 classes.
RUN = {"batches_per_epoch": 3, "parameters": ["w"], "batch_size": 2, "n_train": 5}


def _position(**changes):
    values = {
        "shuffler": np.random.default_rng(0).bit_generator.state,
        "batch": 2,
        "examples": 4,
        "loss_sum": 2.0,
        "sq_norms": {"w": 1.0},
        "pred": [np.array([0, 1]), np.array([1, 1])],
        "true": [np.array([0, 0]), np.array([1, 0])],
        "elapsed": 0.5,
        "lr": 0.1,
    }
    return Position(**{**values, **changes})


def _regression(**changes):
    outputs = {
        "pred": [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)],
        "true": [np.zeros(2), np.ones(2)],
    }
    return _position(**{**outputs, **changes})


def test_a_position_goes_through_its_dict_with_one_array_of_predictions_and_one_of_labels():
    position = _position()
    data = position.to_dict()
    assert [len(a) for a in data["pred"] + data["true"]] == [4, 4]
    back = Position.from_dict(data, **RUN, classification=True)
    assert back.to_dict().keys() == data.keys()
    assert (back.batch, back.examples, back.loss_sum, back.lr) == (2, 4, 2.0, 0.1)
    assert np.array_equal(np.concatenate(back.true), np.concatenate(position.true))
    assert back.mean_loss == 0.5


def test_a_regression_position_goes_through_its_dict():
    back = Position.from_dict(_regression().to_dict(), **RUN, classification=False)
    assert [a.shape for a in back.pred + back.true] == [(4, 3), (4,)]


def test_a_fresh_position_has_no_rate_and_a_mean_loss_of_zero():
    fresh = Position(shuffler=np.random.default_rng(0).bit_generator.state)
    assert (fresh.batch, fresh.lr, fresh.pred, fresh.mean_loss) == (0, None, [], 0.0)
    run = {"batches_per_epoch": 1, "parameters": [], "batch_size": 4, "n_train": 3}
    assert Position.from_dict(fresh.to_dict(), **run, classification=True) == fresh


@pytest.mark.parametrize("norm", [math.nan, math.inf, 0.0])
def test_a_squared_norm_of_nan_or_inf_is_taken_back(norm):
    # a step nonfinite="skip" skipped sums a NaN gradient's NaN; one whose squares
    # overflow the dtype sums inf: the history logs them, as a resume must go on doing
    back = Position.from_dict(_position(sq_norms={"w": norm}).to_dict(), **RUN,
                              classification=True)  # fmt: skip
    assert back.sq_norms["w"] is norm


@pytest.mark.parametrize(("batch", "examples"), [(3, 5), (1, 2), (0, 0)])
def test_the_examples_of_a_position_are_those_of_its_batches_the_last_one_short(batch, examples):
    labels = [np.zeros(examples, np.int64)] if examples else []
    data = _position(batch=batch, examples=examples, pred=labels, true=labels).to_dict()
    assert Position.from_dict(data, **RUN, classification=True).examples == examples


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"batch": 4}, r"^position 'batch' expected a batch in \[0, 3\], got 4$"),
        ({"examples": True}, r"^position 'examples' expected a number >= 0, got True$"),
        ({"lr": None}, r"^position 'lr' expected a number \(the epoch's rate\) after its first"),
        # they failed mid-epoch with a bare TypeError, or logged norms of no parameter
        ({"sq_norms": {"w": "1.0"}}, r"^position 'sq_norms' expected squared norms \(numbers"),
        ({"sq_norms": {"w": -1.0}}, r"among \['w'\], got \{'w': -1.0\}$"),
        ({"sq_norms": {"w": -math.inf}}, r"among \['w'\], got \{'w': -inf\}$"),
        ({"sq_norms": {"w": None}}, r"among \['w'\], got \{'w': None\}$"),
        ({"sq_norms": {"v": 1.0}}, r"^position 'sq_norms' expected .* got \{'v': 1.0\}$"),
        # the rest were taken, and logged wrong numbers or failed at the epoch's end
        ({"loss_sum": math.nan}, r"^position 'loss_sum' expected a finite number .*, got nan$"),
        ({"loss_sum": -math.inf}, r"^position 'loss_sum' expected a finite number .* got -inf$"),
        ({"elapsed": math.nan}, r"^position 'elapsed' expected a number >= 0, got nan$"),
        ({"elapsed": math.inf}, r"^position 'elapsed' expected a finite number of .* got inf$"),
        ({"lr": math.nan}, r"^position 'lr' expected None or a finite number, got nan$"),
        # ints float() refuses (10**309, read from JSON): a bare OverflowError at their use
        ({"loss_sum": 10**309}, r"^position 'loss_sum' expected a finite number"),
        ({"loss_sum": -(10**309)}, r"^position 'loss_sum' expected a finite number"),
        ({"elapsed": 10**309}, r"^position 'elapsed' expected a finite number of seconds"),
        ({"lr": 10**309}, r"^position 'lr' expected None or a finite number"),
        ({"sq_norms": {"w": 10**309}}, r"^position 'sq_norms' expected squared norms"),
        (
            {"examples": 5000},
            r"^position 'examples' expected the 4 examples of its 2 batches of 2 \(of 5 "
            r"training examples\), got 5000$",
        ),
        ({"examples": 3}, r"^position 'examples' expected the 4 examples .*, got 3$"),
        (
            {"pred": [], "true": []},
            r"^position 'pred' and 'true' expected arrays of 4 predictions and labels, got "
            r"'\[\] and \[\]'$",
        ),
        ({"true": [np.array([0, 1, 1])]}, r"^position 'pred' and 'true' expected arrays of 4"),
        (
            {"true": [np.array([0, -1, 1, 0])]},
            r"^position 'true' expected 1-D arrays of integer class labels >= 0, got 'labels "
            r"from -1'$",
        ),
        (
            {"pred": [np.array([0.0, 1.0, 1.0, 0.0])]},
            r"^position 'pred' expected 1-D arrays of integer class labels >= 0, got "
            r"'float64 array of shape \(4,\)'$",
        ),
        ({"pred": [np.zeros((4, 2), np.int64)]}, r"'pred' expected .*'int64 array of shape \(4, 2"),
        ({"true": [np.zeros(4, bool)]}, r"'true' expected 1-D .* got 'bool array of shape \(4,\)'"),
    ],
)
def test_a_position_that_this_run_cannot_continue_from_is_refused(changes, says):
    with pytest.raises(ValueError, match=says):
        Position.from_dict(_position(**changes).to_dict(), **RUN, classification=True)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"pred": [np.zeros(4, np.int64)]}, r"^position 'pred' expected arrays of finite floats"),
        (
            {"true": [np.zeros(2), np.zeros((2, 1))]},
            r"^position 'true' expected arrays of finite numbers, samples on the first axis, "
            r"of one sample shape, got \['float64 array of shape \(2,\)', 'float64 array of "
            r"shape \(2, 1\)'\]$",
        ),
        ({"pred": [np.array([0.0, np.nan, 1.0, 2.0])]}, r"^position 'pred' .*, got 'NaN or inf'$"),
        ({"true": [np.array([0.0, 1.0, np.inf, 2.0])]}, r"^position 'true' .*, got 'NaN or inf'$"),
        ({"true": [np.array(["a", "b", "c", "d"])]}, r"^position 'true' expected .*, got \['<U1"),
    ],
)
def test_a_regression_position_with_other_outputs_than_the_loop_gathers_is_refused(changes, says):
    # they failed at the epoch's end (NumPy's concatenate) or logged a NaN metric
    with pytest.raises(ValueError, match=says):
        Position.from_dict({**_regression().to_dict(), **changes}, **RUN, classification=False)


def test_a_position_keeps_several_arrays_of_outputs_as_they_are():
    data = {**_regression().to_dict(), "true": [np.zeros(1), np.zeros(3)]}
    back = Position.from_dict(data, **RUN, classification=False)
    assert [a.shape for a in back.true] == [(1,), (3,)]
