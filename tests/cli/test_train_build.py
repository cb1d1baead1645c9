"""The config keys reach what ``chainrule train`` builds from them: the model, loss,
optimizer, regularization and schedule (``cli/train.py``'s builders), early stopping and
the report's bias/variance reading. Each test sets its keys away from their defaults, so
a builder that dropped one would fail it."""

import html
import json

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.cli import config as cfg
from chainrule.cli import main, train
from chainrule.train import bias_variance

N_TRAIN = 800  # 0.8 of data.n_samples = 1000, the moons default


def resolve(**sections):
    doc = {"data": {"name": "moons"}, "model": {"sizes": [2, 8, 8, 2]}}
    for section, body in sections.items():
        doc.setdefault(section, {}).update(body)
    return cfg.resolve(doc)


def _layers(model, kind):
    return [layer for layer in model.layers.children() if isinstance(layer, kind)]


def _weights(model):
    return [p.data for name, p in model.named_parameters() if name.endswith("weight")]


def test_dropout_and_batch_norm_reach_the_model():
    config = resolve(model={"dropout": 0.7, "batch_norm": True})
    model = train.build_model(config, model_seed=0)
    assert [d.keep_prob for d in _layers(model, nn.Dropout)] == [0.7, 0.7]
    assert len(_layers(model, nn.BatchNorm1d)) == 2
    plain = train.build_model(resolve(), model_seed=0)
    assert not _layers(plain, nn.Dropout) and not _layers(plain, nn.BatchNorm1d)


def test_the_named_init_draws_the_weights():
    config = resolve(model={"init": {"name": "uniform", "low": 0.5, "high": 0.6}})
    for w in _weights(train.build_model(config, model_seed=0)):
        assert w.min() >= 0.5 and w.max() < 0.6  # the default (He normal) has negatives
    config = resolve(model={"init": "lecun_uniform"})
    model = train.build_model(config, model_seed=3)
    same = nn.MLP([2, 8, 8, 2], init="lecun_uniform", seed=3)
    default = train.build_model(resolve(), model_seed=3)
    for w, expected, other in zip(_weights(model), _weights(same), _weights(default), strict=True):
        np.testing.assert_array_equal(w, expected)
        assert not np.array_equal(w, other)


def test_label_smoothing_reaches_the_loss():
    s = 0.2
    loss_fn = train.build_loss(resolve(loss={"label_smoothing": s}))
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 2)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0])
    got = loss_fn(z, y).item()
    assert got == losses.cross_entropy(z, y, label_smoothing=s).item()
    # by hand: targets (1 - s) * one_hot + s / k against the log-softmax
    z64 = z.astype(np.float64)
    log_p = z64 - z64.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    q = (1 - s) * np.eye(2)[y] + s / 2
    assert got == pytest.approx(-(q * log_p).sum(axis=1).mean(), rel=1e-5)
    assert got != pytest.approx(losses.cross_entropy(z, y).item(), rel=1e-3)


def test_clip_norm_and_adamws_weight_decay_reach_the_optimizer():
    config = resolve(optimizer={"name": "adamw", "clip_norm": 0.5, "weight_decay": 0.03})
    model = train.build_model(config, model_seed=0)
    optimizer = train.build_optimizer(config, model, N_TRAIN)
    assert isinstance(optimizer, optim.AdamW)
    assert optimizer.clip_norm == 0.5
    assert optimizer.weight_decay == 0.03  # not AdamW's own default, 0.01
    assert train.build_optimizer(resolve(), model, N_TRAIN).clip_norm is None


@pytest.mark.parametrize(
    ("l2", "l1"), [(0.0, 0.3), (0.2, 0.3), (0.2, 0.0)], ids=["l1", "l1+l2", "l2"]
)
def test_regularization_adds_the_configured_penalties(l2, l1):
    config = resolve(regularization={"l2": l2, "l1": l1})
    model = train.build_model(config, model_seed=0)
    penalty = train.build_regularization(config)(model, N_TRAIN).item()
    weights = [w.astype(np.float64) for w in _weights(model)]
    expected = l2 / (2 * N_TRAIN) * sum((w**2).sum() for w in weights) + l1 / N_TRAIN * sum(
        np.abs(w).sum() for w in weights
    )
    assert penalty == pytest.approx(expected, rel=1e-5)
    assert train.build_regularization(resolve()) is None


@pytest.mark.parametrize(
    ("name", "params", "t"),
    [
        ("inverse_time", {"decay_rate": 0.5}, 0),
        ("exponential", {}, 0),
        ("inverse_sqrt", {}, 1),
        ("step_decay", {"every": 3}, 1),
        ("cosine", {}, 0),
    ],
)
def test_a_schedule_starts_at_the_learning_rate_by_default(name, params, t):
    lr = 0.037
    config = resolve(optimizer={"lr": lr}, schedule={"name": name, "params": params})
    schedule = train.build_schedule(config, N_TRAIN)
    assert schedule.alpha0 == lr
    assert schedule(t) == lr


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory):
    """A run whose rate is too small to move a float32 weight: the dev accuracy never
    improves after the first epoch, so early stopping ends it after ``patience`` more."""
    out = tmp_path_factory.mktemp("frozen") / "run"
    sets = {
        "data.n_samples": 200,
        "optimizer.lr": 1e-30,
        "train.epochs": 10,
        "train.early_stopping": 2,
        "train.monitor": "dev_accuracy",
        "data.human_error": 0.25,
        "output.dir": out,
    }
    args = ["train", "moons.toml", "-q"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main(args) == 0
    return out


def test_early_stopping_patience_reaches_the_run(frozen_run):
    metrics = json.loads((frozen_run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 + 2
    assert metrics["stopped_reason"] == "early_stopping"


def test_the_report_reads_bias_against_the_human_error(frozen_run):
    metrics = json.loads((frozen_run / "metrics.json").read_text())
    reading = bias_variance(
        1 - metrics["train"]["accuracy"], 1 - metrics["dev"]["accuracy"], baseline_error=0.25
    )
    report = (frozen_run / "report.html").read_text(encoding="utf-8")
    assert "baseline 25%" in report
    assert f"<p>{html.escape(str(reading))}</p>" in report
