"""The config keys reach what :mod:`chainrule.runs.build` builds from them: the model,
loss, optimizer, regularization and schedule. Each test sets its keys away from their
defaults, so a builder that dropped one would fail it."""

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.runs import build
from chainrule.runs import config as cfg

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
    model = build.build_model(config, model_seed=0)
    assert [d.keep_prob for d in _layers(model, nn.Dropout)] == [0.7, 0.7]
    assert len(_layers(model, nn.BatchNorm1d)) == 2
    plain = build.build_model(resolve(), model_seed=0)
    assert not _layers(plain, nn.Dropout) and not _layers(plain, nn.BatchNorm1d)


def test_the_named_init_draws_the_weights():
    config = resolve(model={"init": {"name": "uniform", "low": 0.5, "high": 0.6}})
    for w in _weights(build.build_model(config, model_seed=0)):
        assert w.min() >= 0.5 and w.max() < 0.6  # the default (He normal) has negatives
    config = resolve(model={"init": "lecun_uniform"})
    model = build.build_model(config, model_seed=3)
    same = nn.MLP([2, 8, 8, 2], init="lecun_uniform", seed=3)
    default = build.build_model(resolve(), model_seed=3)
    for w, expected, other in zip(_weights(model), _weights(same), _weights(default), strict=True):
        np.testing.assert_array_equal(w, expected)
        assert not np.array_equal(w, other)


def test_label_smoothing_reaches_the_loss():
    s = 0.2
    loss_fn = build.build_loss(resolve(loss={"label_smoothing": s}))
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
    model = build.build_model(config, model_seed=0)
    optimizer = build.build_optimizer(config, model, N_TRAIN)
    assert isinstance(optimizer, optim.AdamW)
    assert optimizer.clip_norm == 0.5
    assert optimizer.weight_decay == 0.03  # not AdamW's own default, 0.01
    assert build.build_optimizer(resolve(), model, N_TRAIN).clip_norm is None


@pytest.mark.parametrize(
    ("l2", "l1"), [(0.0, 0.3), (0.2, 0.3), (0.2, 0.0)], ids=["l1", "l1+l2", "l2"]
)
def test_regularization_adds_the_configured_penalties(l2, l1):
    config = resolve(regularization={"l2": l2, "l1": l1})
    model = build.build_model(config, model_seed=0)
    penalty = build.build_regularization(config)(model, N_TRAIN).item()
    weights = [w.astype(np.float64) for w in _weights(model)]
    expected = l2 / (2 * N_TRAIN) * sum((w**2).sum() for w in weights) + l1 / N_TRAIN * sum(
        np.abs(w).sum() for w in weights
    )
    assert penalty == pytest.approx(expected, rel=1e-5)
    assert build.build_regularization(resolve()) is None


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
    schedule = build.build_schedule(config, N_TRAIN)
    assert schedule.alpha0 == lr
    assert schedule(t) == lr


@pytest.mark.parametrize(
    ("name", "params", "unit"),
    [("none", {}, "step"), ("cosine", {}, "step"), ("exponential", {"base": 0.5}, "epoch")],
)
def test_schedule_warmup_ramps_the_named_schedule_up_from_zero(name, params, unit):
    lr, warmup = 0.04, 4
    config = resolve(
        optimizer={"lr": lr}, schedule={"name": name, "params": params, "warmup": warmup}
    )
    schedule = build.build_schedule(config, N_TRAIN)
    after = build.build_schedule(
        resolve(optimizer={"lr": lr}, schedule={"name": name, "params": params}), N_TRAIN
    )
    assert isinstance(schedule, optim.LinearWarmup)
    assert (schedule.warmup, schedule.unit, schedule.after) == (warmup, unit, after)
    rate = (lambda t: after) if name == "none" else after
    for t in (1, 2, 4, 7):
        assert schedule(t) == rate(t) * min(1.0, t / warmup)


@pytest.mark.parametrize(("n_train", "batch_size", "epochs"), [(800, 32, 3), (20, 32, 1)])
def test_the_default_cosine_trains_at_every_update_of_the_run(n_train, batch_size, epochs):
    """Its duration was the run's steps: the last update ran at a rate of exactly 0, and a
    one-step run (one epoch of one batch) did not train at all."""
    config = resolve(
        optimizer={"lr": 0.01},
        schedule={"name": "cosine"},
        train={"batch_size": batch_size, "epochs": epochs},
    )
    schedule = build.build_schedule(config, n_train)
    steps = -(-n_train // batch_size) * epochs
    rates = [schedule(t) for t in range(1, steps + 2)]
    assert all(a > b for a, b in zip(rates[:-1], rates[1:], strict=True))
    assert rates[-2] > 0.0 and rates[-1] == 0.0


def test_schedule_warmup_0_leaves_the_schedule_as_it_is():
    config = resolve(optimizer={"lr": 0.02}, schedule={"name": "none"})
    assert config["schedule"]["warmup"] == 0
    assert build.build_schedule(config, N_TRAIN) == 0.02


@pytest.mark.parametrize("name", ["nielsen-ch1.toml", "moons.toml"])
def test_a_packaged_config_is_found_by_its_name_outside_a_checkout(monkeypatch, tmp_path, name):
    """docs/cli.md's typical session named configs/nielsen-ch1.toml, in a checkout only."""
    monkeypatch.chdir(tmp_path)
    config, stem = build.load_config(name, [])
    assert stem == name.removesuffix(".toml")
    assert config == build.load_config(str(build.packaged_config(name)), [])[0]


def test_only_a_left_out_config_is_the_default_and_an_empty_one_is_missing(monkeypatch, tmp_path):
    # "" was taken for a left-out CONFIG: chainrule train "" trained the packaged mnist.toml
    monkeypatch.chdir(tmp_path)
    assert build.config_source(None) == (
        build.packaged_config("mnist.toml"),
        "the packaged mnist.toml",
    )
    with pytest.raises(cfg.ConfigError, match=r"^config file not found: '' \(the packaged "):
        build.config_source("")


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"optimizer": {"params": {"beta1": 2.0}}}, "optimizer: Adam: beta1 expected"),
        ({"optimizer": {"params": {"beta1": "x"}}}, "optimizer.params: Adam: beta1 expected"),
        (
            {"schedule": {"name": "step_decay"}},
            "schedule.params: schedule.name = 'step_decay' needs schedule.params.every ",
        ),
    ],
)
def test_a_value_the_optimizer_or_schedule_refuses_is_a_config_error_naming_its_key(
    sections, expected
):
    config = resolve(**sections)
    with pytest.raises(cfg.ConfigError) as info:
        build.build_optimizer(config, build.build_model(config, model_seed=0), N_TRAIN)
    assert type(info.value) is cfg.ConfigError  # no CLI subclass: chainrule.runs has none
    assert str(info.value).startswith(expected)
