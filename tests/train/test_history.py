"""A run's history: its checkpoint dict and back."""

import math
import re

import numpy as np
import pytest

from chainrule.train.history import STOPPED_REASONS, History


def _history(**changes) -> dict:
    rows = [
        {"epoch": 1, "lr": 0.1, "train_loss": 0.5, "dev_loss": 0.6, "time": 1.0},
        {"epoch": 2, "lr": 0.1, "train_loss": 0.25, "dev_loss": math.nan, "time": 1.0},
    ]
    history = History(
        epochs=rows,
        step_losses=[0.75, 0.25, 0.3, 0.2],
        grad_norms={"w": [1.0, math.nan], "b": [0.5, 0]},
        stopped_reason="early_stopping",
    )
    return {**history.to_dict(), **changes}


def test_a_history_goes_through_its_dict_a_diverged_dev_loss_included():
    back = History.from_dict(_history())
    assert back.to_dict().keys() == _history().keys()
    assert back.column("epoch") == [1, 2] and math.isnan(back.epochs[1]["dev_loss"])
    assert (back.step_losses, back.grad_norms["b"]) == ([0.75, 0.25, 0.3, 0.2], [0.5, 0.0])
    assert back.stopped_reason == "early_stopping"


@pytest.mark.parametrize("reason", STOPPED_REASONS)
def test_a_history_without_epochs_takes_every_stopped_reason(reason):
    empty = {"epochs": [], "step_losses": [], "grad_norms": {}, "stopped_reason": reason}
    assert History.from_dict(empty) == History(stopped_reason=reason)


def test_a_history_takes_a_callbacks_own_stopped_reason():
    # a callback that stops the run may name its reason; its checkpoint was refused
    assert History.from_dict(_history(stopped_reason="target_reached")).stopped_reason == (
        "target_reached"
    )


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"epochs": {"epoch": 1}}, r"^history 'epochs' expected a list of rows, got \{'epoch'"),
        # the rest were taken as they were, and stopped_reason 5 became "5"
        (
            {"epochs": [{"foo": "bar"}]},
            r"^history 'epochs' expected rows of str keys to numbers, row 1 with 'epoch' 1, got "
            r"\{'foo': 'bar'\}$",
        ),
        ({"epochs": [[["epoch", 1], ["train_loss", 0.5]]]}, r"row 1 .* got \[\['epoch', 1\]"),
        ({"epochs": [{"epoch": 1, "train_loss": "0.5"}]}, r"got \{'epoch': 1, 'train_loss'"),
        ({"epochs": [{"epoch": 1, "lr": None}]}, r"got \{'epoch': 1, 'lr': None\}$"),
        ({"epochs": [{"epoch": True}]}, r"row 1 with 'epoch' 1, got \{'epoch': True\}$"),
        ({"epochs": [{"epoch": 1}, {"epoch": 3}]}, r"row 2 with 'epoch' 2, got \{'epoch': 3\}$"),
        ({"epochs": [{"train_loss": 0.5}]}, r"row 1 with 'epoch' 1, got \{'train_loss': 0.5\}$"),
        ({"step_losses": ["0.5"]}, r"^history 'step_losses' expected a list of finite numbers"),
        ({"step_losses": [0.5, math.inf]}, r"^history 'step_losses' .*, got \[0.5, inf\]$"),
        ({"step_losses": 0.5}, r"^history 'step_losses' expected a list of finite numbers"),
        # an int float() refuses (10**309, read from JSON): a bare OverflowError at its use
        (
            {"epochs": [{"epoch": 1, "time": 10**309}, {"epoch": 2}]},
            r"^history 'epochs' expected rows of str keys to numbers",
        ),
        ({"step_losses": [0.5, 10**309]}, r"^history 'step_losses' expected a list of finite"),
        ({"grad_norms": {"w": [10**309, 1.0], "b": [0.5, 0]}}, r"^history 'grad_norms' expected"),
        (
            {"grad_norms": {"w": [1.0]}},
            r"^history 'grad_norms' expected a dict of parameter names to lists of 2 numbers "
            r">= 0, one per row, got \{'w': \[1.0\]\}$",
        ),
        ({"grad_norms": {"w": [1.0, -2.0]}}, r"^history 'grad_norms' expected .*-2.0\]\}$"),
        ({"grad_norms": {"w": [1.0, True]}}, r"^history 'grad_norms' expected .*True\]\}$"),
        ({"grad_norms": {"w": (1.0, 2.0)}}, r"^history 'grad_norms' expected .*\(1.0, 2.0\)\}$"),
        ({"grad_norms": [1.0, 2.0]}, r"^history 'grad_norms' expected .*, got \[1.0, 2.0\]$"),
        (
            {"stopped_reason": 5},
            r"^history 'stopped_reason' expected a non-empty str \(one of \['completed', "
            r"'early_stopping', 'stopped', 'interrupted', 'error'\], or a callback's own\), "
            r"got 5$",
        ),
        ({"stopped_reason": ""}, r"^history 'stopped_reason' expected a non-empty str .*, got ''$"),
    ],
)
def test_a_history_that_fit_does_not_write_is_refused(changes, says):
    with pytest.raises(ValueError, match=says):
        History.from_dict(_history(**changes))


def test_a_history_without_a_key_is_refused_naming_it():
    data = _history()
    del data["grad_norms"]
    says = r"^history expected the keys \[.*\], got one without \['grad_norms'\]$"
    with pytest.raises(ValueError, match=says):
        History.from_dict(data)


@pytest.mark.parametrize(
    ("data", "got"), [(5, "int 5"), (None, "NoneType None"), ([("epochs", [])], "list [(")]
)
def test_a_history_that_is_no_dict_is_refused_with_a_type_error(data, got):
    # from_dict(5) raised "argument of type 'int' is not iterable"
    says = r"^History.from_dict: data expected a dict \(what to_dict returns\), got "
    with pytest.raises(TypeError, match=says + re.escape(got)):
        History.from_dict(data)


def test_to_csv_puts_the_keys_given_first_and_writes_a_header_without_rows():
    history = History.from_dict(_history())
    assert history.to_csv(("time", "epoch")).splitlines()[:2] == [
        "time,epoch,lr,train_loss,dev_loss",
        "1.0,1,0.1,0.5,0.6",
    ]
    assert History().to_csv(iter(["epoch", "lr"])) == "epoch,lr\n"


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        # a str was a list of its characters: one column per character
        ("train_loss", "got the string 'train_loss'; write ['train_loss']"),
        (5, "got int 5"),  # bare "'int' object is not iterable"
        (None, "got NoneType None"),
        (["epoch", 5], "got 5 (int) among them"),
        ([b"epoch"], "got b'epoch' (bytes) among them"),
        # columns in an order of the process; NumPy's "iteration over a 0-d array"
        (
            {"lr", "epoch"},
            "got a set of length 2, whose order is arbitrary (it changes "
            "between processes); pass a list or tuple",
        ),  # fmt: skip
        (
            np.array("epoch"),
            "got ndarray array('epoch', dtype='<U5'), a 0-d array, which "
            "holds no items; pass a list or tuple",
        ),  # fmt: skip
    ],
)
def test_to_csv_refuses_keys_that_are_no_list_of_str(keys, says):
    history = History.from_dict(_history())
    with pytest.raises(TypeError) as info:
        history.to_csv(keys)
    assert str(info.value) == f"History.to_csv: keys expected a list of log keys (str), {says}"
