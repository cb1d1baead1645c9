"""``chainrule train`` with a regularization strength the model's dtype cannot take: refused
before the data, naming the key, or stopped at the step that broke, not at the checkpoint."""

import pytest

from chainrule.cli import main, train


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if a run gets as far as loading data."""
    from chainrule.runs import datasets

    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the config was refused")

    monkeypatch.setattr(datasets, "load", load)


def _train(tmp_path, key: str, value: str) -> int:
    args = ["train", "moons.toml", "-q", "--no-report", "--set", f"{key}={value}"]
    return main([*args, "--set", "train.epochs=2", "--set", f"output.dir={tmp_path / 'run'}"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "regularization.l2",
            "1e300",
            "regularization.l2 = 1e+300: l2_penalty: lam expected a number in [0, 4.76395e+41] "
            "(with m = 700, lam / (2 m) within the range of the parameters' dtype float32, at "
            "most 3.40282e+38), got 1e+300",
        ),
        (
            "regularization.l1",
            "1e300",
            "regularization.l1 = 1e+300: l1_penalty: lam expected a number in [0, 2.38198e+41] "
            "(with m = 700, lam / m within the range",
        ),
        (
            "regularization.l2",
            "4e41",
            "regularization.l2 = 4e+41: expected a penalty the model's dtype can hold, got inf "
            "on the initial weights (m = 700)",
        ),
    ],
)
def test_a_strength_beyond_the_dtype_exits_2_before_any_data_naming_the_key(
    capsys, no_data, tmp_path, key, value, message
):
    # l2 = 1e300 failed at the first step: "OverflowError: Tensor: expected values in
    # [-3.4028235e+38, 3.4028235e+38] for dtype float32, got float 7.1e296", no key named
    assert _train(tmp_path, key, value) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")
def test_an_adam_state_that_overflows_stops_the_run_at_its_first_step(capsys, tmp_path):
    # lambda / (2 m) = 7e35 fits float32, but the gradient's squares do not: Adam's s became
    # inf and the run trained on until the checkpoint write refused it
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert _train(tmp_path, "regularization.l2", "1e39") == 1
    err = capsys.readouterr().err
    assert (
        "NonFiniteStepError: the update at epoch 1, step 1 left Adam's state 's' of parameter "
        "'layers.0.weight' NaN or Inf" in err
    )
    assert "checkpoint" not in err.replace("no checkpoint was written", "")
    assert not list((tmp_path / "run" / "checkpoints").glob("*.safetensors"))
