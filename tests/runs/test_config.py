"""The config schema: defaults, validation messages, --set parsing and the TOML writer."""

import pytest

from chainrule.runs import config as cfg
from chainrule.runs.build import build_model

BASE = {"model": {"sizes": [2, 8, 2]}, "data": {"name": "moons"}}


def resolve(**sections):
    doc = {k: dict(v) for k, v in BASE.items()}
    for section, body in sections.items():
        doc.setdefault(section, {}).update(body)
    return cfg.resolve(doc)


def test_defaults_fill_every_key():
    config = resolve()
    assert config["train"]["batch_size"] == 32
    assert config["optimizer"]["name"] == "adam"
    assert set(config) == set(cfg.SCHEMA)


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"train": {"epochz": 3}}, "unknown key train.epochz; did you mean 'train.epochs'?"),
        ({"trian": {"epochs": 3}}, "unknown section [trian]; did you mean 'train'?"),
        ({"train": {"epochs": "ten"}}, "train.epochs: expected an integer, got string 'ten'"),
        ({"train": {"epochs": -1}}, "train.epochs: expected an integer >= 1, got -1"),
        ({"data": {"n_samples": 10**26}}, "data.n_samples: expected an integer <= 1e+07, got"),
        # a shell argument that is not UTF-8 arrives with surrogates config.toml cannot hold
        ({"output": {"dir": "run\udcff"}}, "output.dir: expected text that UTF-8 can encode"),
        ({"train": {"epochs": "{}"}}, "train.epochs: expected an integer, got string '{}'"),
        ({"train": {"epochs": "{x}"}}, "train.epochs: expected an integer, got string '{x}'"),
        ({"train": {"batch_size": {"a": 1}}}, "train.batch_size: expected an integer, got table"),
        ({"optimizer": {"lr": True}}, "optimizer.lr: expected a number (float), got boolean"),
        ({"optimizer": {"name": "adma"}}, "did you mean 'adam'?"),
        ({"model": {"sizes": [2, "8", 2]}}, "model.sizes[1]: expected an integer, got string"),
        ({"data": {"split": [0.5, 0.2]}}, "data.split: expected 3 ratios"),
        ({"optimizer": {"weight_decay": 0.1}}, "only adamw has decoupled weight decay"),
        ({"model": {"activation": "rleu"}}, "model.activation: expected a string, one of"),
        ({"model": {"init": "he_norm"}}, "model.init: expected a string, one of auto,"),
        ({"train": {"monitor": "dev_acc", "early_stopping": 3}}, "did you mean 'dev_accuracy'?"),
        ({"data": {"split": [0.8, 0.2, 0]}}, "data.split[2]: expected a number > 0, got 0"),
        (
            {"data": {"n_samples": 50, "split": [0.98, 0.01, 0.01]}},
            "data.split: expected at least one sample in every part, got train 49, dev 1, "
            "test 0 samples from split = [0.98, 0.01, 0.01] of moons",
        ),
        (
            {"data": {"n_samples": 10, "split": [0.9, 0.05, 0.05]}},
            "got train 9, dev 1, test 0 samples",
        ),
        ({"model": {"sizes": [3, 8, 2]}}, "the data (moons) has 2, model.sizes[0] is 3"),
        ({"model": {"sizes": [2, 8, 3]}}, "the number of classes (2 or 1 for a binary task)"),
        ({"optimizer": {"lr": 10**400}}, "optimizer.lr: expected a number within the float"),
        (
            {"optimizer": {"lr": float("inf")}},
            "optimizer.lr: expected a finite number, got float inf",
        ),
        (
            {"optimizer": {"lr": float("nan")}},
            "optimizer.lr: expected a finite number, got float nan",
        ),
        ({"data": {"split": [1, 10**400, 1]}}, "data.split[1]: expected a number within the float"),
        # a checkpoint holds the config's integers as int64: refused only after the data
        ({"train": {"seed": 2**64}}, "train.seed: expected an integer within int64's range"),
        ({"train": {"epochs": 2**63}}, "train.epochs: expected an integer within int64's"),
        (
            {"optimizer": {"params": {"beta1": -(2**63) - 1}}},
            "optimizer.params.beta1: expected an integer within int64's range",
        ),
        (
            {"schedule": {"name": "step_decay", "params": {"every": 2**64}}},
            "schedule.params.every: expected an integer within int64's range",
        ),
        (
            {"model": {"init": {"name": "normal", "std": 2**64}}},
            "model.init.std: expected an integer within int64's range",
        ),
        ({"model": {"sizes": [2, 2**64, 2]}}, "model.sizes[1]: expected an integer within int64"),
        (
            {"model": {"sizes": [2, 8, 2], "dropout": 2.0**-25}},
            "model.dropout: MLP: keep_prob expected a number >= 2**-24",
        ),
        ({"data": {"noise": 1e38}}, "data.noise: expected a number <= 2.12676e+37, got 1e+38"),
    ],
)
def test_bad_configs_name_the_key_and_the_expected_type(sections, expected):
    with pytest.raises(cfg.ConfigError) as info:
        resolve(**sections)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {"loss": {"label_smoothing": 1.0}},
            "loss.label_smoothing: expected a number < 1, got 1.0",
        ),
        (
            {"model": {"sizes": [2, 8, 2], "batch_norm": True}, "train": {"batch_size": 1}},
            "train.batch_size: model.batch_norm needs training batches of at least 2 examples, "
            "but train.batch_size = 1 is 1",
        ),
        (
            {"model": {"sizes": [2, 8, 2], "batch_norm": True}, "train": {"batch_size": 17}},
            "train.batch_size = 17 leaves a last batch of 1 of 800 examples",
        ),
        (
            {"optimizer": {"name": "adamw", "weight_decay": 0.5, "params": {"weight_decay": 0.1}}},
            "optimizer.params: weight_decay is a key of its own; set optimizer.weight_decay",
        ),
        (
            {"optimizer": {"params": {"clip_norm": 0.5}}},
            "optimizer.params: clip_norm is a key of its own; set optimizer.clip_norm instead",
        ),
        (
            {"schedule": {"name": "cosine", "params": {"unit": "epoch"}}},
            "schedule.params: a cosine schedule without a duration runs over the run's steps",
        ),
        (
            {"optimizer": {"params": {"beta_1": 0.9}}},
            "unknown key optimizer.params.beta_1 for optimizer.name = 'adam'; "
            "did you mean 'optimizer.params.beta1'?",
        ),
        (
            {"optimizer": {"name": "sgd", "params": {"beta": 0.9}}},
            "unknown key optimizer.params.beta for optimizer.name = 'sgd'; "
            "valid: optimizer.params.momentum, "
            "optimizer.params.nesterov, optimizer.params.clip_value, optimizer.params.nonfinite",
        ),
        (
            # not "optimizer.params.extra_hyperparameters": Adam's **kwargs is no key
            {"optimizer": {"params": {"zzz": 1}}},
            "unknown key optimizer.params.zzz for optimizer.name = 'adam'; valid: "
            "optimizer.params.beta1, optimizer.params.beta2, optimizer.params.eps, "
            "optimizer.params.bias_correction, optimizer.params.clip_value, "
            "optimizer.params.nonfinite, optimizer.params.fused\n",
        ),
        (
            # it silently replaced schedule.name
            {"schedule": {"name": "exponential", "params": {"name": "cosine", "base": 0.9}}},
            "schedule.params: name is not a schedule parameter; set schedule.name instead "
            "(got params.name = 'cosine')",
        ),
    ],
)
def test_keys_that_training_would_refuse_or_override_are_config_errors(sections, expected):
    """Refused before any data is read or a run directory is made (fit would refuse the
    first two only then, and the others silently lost one of two settings)."""
    with pytest.raises(cfg.ConfigError) as info:
        resolve(**sections)
    assert expected in str(info.value) + "\n"


def test_a_resumed_run_keeps_the_schedule_params_name_it_ran_with():
    schedule = {"name": "exponential", "params": {"name": "cosine", "base": 0.9}}
    config = cfg.resolve({**BASE, "schedule": schedule}, strict=False)
    assert config["schedule"]["params"]["name"] == "cosine"


def test_the_integer_bounds_are_int64s():
    config = resolve(train={"seed": 2**63 - 1}, optimizer={"params": {"beta1": -(2**63)}})
    assert config["train"]["seed"] == 2**63 - 1
    assert resolve(data={"noise": 2**64})["data"]["noise"] == float(2**64)  # a float key


def test_sizes_are_required():
    with pytest.raises(cfg.ConfigError, match="model.sizes: required"):
        cfg.resolve({"data": {"name": "moons"}})


def test_set_parses_toml_values_and_falls_back_to_strings():
    doc = {}
    cfg.apply_override(doc, "model.sizes=[784, 100, 10]")
    cfg.apply_override(doc, "optimizer.lr=3e-4")
    cfg.apply_override(doc, "data.name=moons")
    cfg.apply_override(doc, "optimizer.params={beta1 = 0.8}")
    assert doc == {
        "model": {"sizes": [784, 100, 10]},
        "optimizer": {"lr": 3e-4, "params": {"beta1": 0.8}},
        "data": {"name": "moons"},
    }
    with pytest.raises(cfg.ConfigError, match="expected section.key=value"):
        cfg.apply_override(doc, "epochs=3")


@pytest.mark.parametrize(
    "directory", ['a "quoted" dir', "x\x01y", "cr\rx", "tab\tand\\", "del\x7f"]
)
def test_written_toml_reads_back_to_the_same_config(directory):
    config = resolve(optimizer={"params": {"beta1": 0.8}}, output={"dir": directory})
    assert cfg.resolve(cfg.tomllib.loads(cfg.dumps(config))) == config


def test_model_init_takes_a_table_with_the_initializers_parameters():
    config = resolve(model={"init": {"name": "normal", "std": 1.0}})
    assert config["model"]["init"] == {"name": "normal", "std": 1.0}
    assert cfg.resolve(cfg.tomllib.loads(cfg.dumps(config))) == config
    model = build_model(config, model_seed=0)
    assert model.layers[0].weight.data.std() > 0.5  # N(0, 1), not the default std 0.01


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        ({"name": "normal", "std": -1.0}, "model.init: normal: std expected a finite number >= 0"),
        ({"name": "he_normal", "std": 1.0}, "unknown parameter 'std'; it takes no parameters"),
        ({"std": 1.0}, "model.init: expected an init dict with a 'name' key"),
        ({"name": "auto"}, "model.init: unknown initializer 'auto'"),
        (3, "model.init: expected a string or a table, got integer 3"),
    ],
)
def test_a_bad_model_init_table_is_a_config_error(init, expected):
    with pytest.raises(cfg.ConfigError) as info:
        resolve(model={"init": init})
    assert expected in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(cfg.ConfigError, match="config file not found"):
        cfg.read(tmp_path / "nope.toml")


def test_mnist_split_defaults_to_55k_train_5k_dev():
    config = cfg.resolve({"model": {"sizes": [784, 10]}})
    assert config["data"]["split"] == [55_000 / 60_000, 5_000 / 60_000]
    with pytest.raises(cfg.ConfigError, match=r"expected 2 ratios \[train, dev\] for mnist"):
        cfg.resolve({"model": {"sizes": [784, 10]}, "data": {"split": [0.8, 0.1, 0.1]}})


def test_a_split_that_leaves_every_part_a_sample_is_accepted():
    config = resolve(data={"n_samples": 300, "split": [0.98, 0.01, 0.01]})
    assert config["data"]["split"] == [0.98, 0.01, 0.01]


def test_mnist_sizes_are_bounded_by_the_official_sets():
    mnist = {"model": {"sizes": [784, 10]}}
    with pytest.raises(cfg.ConfigError, match="data.n_train: expected an integer <= 60000"):
        cfg.resolve({**mnist, "data": {"n_train": 60_001}})
    with pytest.raises(cfg.ConfigError, match="data.n_test: expected an integer <= 10000"):
        cfg.resolve({**mnist, "data": {"n_test": 10_001}})
    with pytest.raises(cfg.ConfigError, match="got train 5, dev 0 samples"):
        cfg.resolve({**mnist, "data": {"n_train": 5}})


TWO_D = {"model": {"sizes": [2, 8, 2]}}
MNIST = {"model": {"sizes": [784, 10]}}


@pytest.mark.parametrize(
    ("base", "sections", "expected"),
    [
        (
            TWO_D,
            {"data": {"name": "moons", "n_train": 500}},
            "data.n_train: has no effect: only mnist reads it, data.name is 'moons'",
        ),
        (TWO_D, {"data": {"name": "xor", "n_test": 50}}, "data.n_test: has no effect: only mnist"),
        (MNIST, {"data": {"n_samples": 500}}, "data.n_samples: has no effect: only the generated"),
        (MNIST, {"data": {"noise": 0.3}}, "data.noise: has no effect: only the generated 2-D"),
        (
            {"model": {"sizes": [2, 8, 3]}},
            {"data": {"name": "blobs", "noise": 0.5}},
            "data.noise: has no effect: blobs are drawn with a fixed spread",
        ),
        (
            MNIST,
            {"schedule": {"params": {"alpha0": 0.1}}},
            "schedule.params: has no effect: schedule.name is 'none'",
        ),
        (
            MNIST,
            {"loss": {"name": "mse", "label_smoothing": 0.1}},
            "loss.label_smoothing: has no effect: only cross_entropy smooths labels",
        ),
        (
            MNIST,
            {"train": {"monitor": "dev_accuracy"}},
            "train.monitor: has no effect: only early stopping reads it",
        ),
        (
            MNIST,
            {"model": {"sizes": [784, 10], "dropout": 0.8}},
            "model.dropout: has no effect: model.sizes has no hidden layer; got 0.8",
        ),
        (
            MNIST,
            {"model": {"sizes": [784, 10], "batch_norm": True}},
            "model.batch_norm: has no effect: model.sizes has no hidden layer; got True",
        ),
        (
            MNIST,
            {"model": {"sizes": [784, 10], "activation": "tanh"}},
            "model.activation: has no effect: model.sizes has no hidden layer; got 'tanh'",
        ),
        (
            MNIST,
            {"optimizer": {"lr": 0.5}, "schedule": {"name": "cosine", "params": {"alpha0": 0.1}}},
            "optimizer.lr: has no effect: the schedule sets the rate ('cosine' with",
        ),
        (
            MNIST,
            {
                "optimizer": {"lr": 0.5},
                "schedule": {
                    "name": "piecewise_constant",
                    "params": {"boundaries": [2], "values": [0.1, 0.01]},
                },
            },
            "optimizer.lr: has no effect: the schedule sets the rate ('piecewise_constant'",
        ),
        (
            MNIST,
            {"schedule": {"warmup": 1}},
            "schedule.warmup: has no effect: a warm-up of 1 is at the full rate from t = 1, "
            "the first epoch or step, as without one; use 0 (off) or >= 2; got 1",
        ),
    ],
)
def test_a_key_that_would_do_nothing_is_refused_by_name(base, sections, expected):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.resolve({**base, **sections})
    assert expected in str(info.value)


def test_keys_at_their_defaults_pass_wherever_unused():
    """A run's saved config.toml lists every key: it must resolve again (--resume)."""
    config = resolve(schedule={"name": "none"}, train={"early_stopping": 0})
    assert cfg.resolve(cfg.tomllib.loads(cfg.dumps(config))) == config
    mnist = cfg.resolve(MNIST)
    assert cfg.resolve(cfg.tomllib.loads(cfg.dumps(mnist))) == mnist


@pytest.mark.parametrize(
    ("loss", "output", "expected"),
    [
        (
            "nll",
            "linear",
            "loss.name = 'nll' expects log-probabilities, model.output = "
            "'log_softmax'; got model.output = 'linear'",
        ),
        (
            "cross_entropy",
            "softmax",
            "loss.name = 'cross_entropy' expects logits (it applies "
            "the softmax itself), model.output = 'linear'; got model.output = 'softmax'",
        ),
        (
            "cross_entropy",
            "log_softmax",
            "got model.output = 'log_softmax' (the losses for it: nll)",
        ),
        (
            "bce_with_logits",
            "sigmoid",
            "loss.name = 'bce_with_logits' expects logits (it "
            "applies the sigmoid itself), model.output = 'linear'; got model.output = 'sigmoid'",
        ),
        (
            "bce",
            "linear",
            "loss.name = 'bce' expects probabilities, model.output = 'sigmoid' "
            "or 'softmax'; got model.output = 'linear'",
        ),
        ("mse", "log_softmax", "loss.name = 'mse' expects outputs on the scale of the 0/1 targets"),
    ],
)
def test_a_loss_refuses_the_outputs_it_cannot_take(loss, output, expected):
    with pytest.raises(cfg.ConfigError) as info:
        resolve(loss={"name": loss}, model={"output": output})
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("loss", "output"),
    [
        ("cross_entropy", "linear"),
        ("nll", "log_softmax"),
        ("bce_with_logits", "linear"),
        ("bce", "sigmoid"),
        ("bce", "softmax"),
        ("quadratic", "sigmoid"),
        ("mse", "linear"),
        ("mae", "softmax"),
    ],
)
def test_a_loss_takes_the_outputs_made_for_it(loss, output):
    config = resolve(loss={"name": loss}, model={"output": output})
    assert (config["loss"]["name"], config["model"]["output"]) == (loss, output)


def test_one_output_unit_needs_a_binary_loss_and_no_softmax():
    with pytest.raises(cfg.ConfigError, match="'cross_entropy' expects one output per class"):
        resolve(model={"sizes": [2, 8, 1]})
    with pytest.raises(cfg.ConfigError, match="'softmax' over one output unit is a constant"):
        resolve(model={"sizes": [2, 8, 1], "output": "softmax"}, loss={"name": "bce"})
    config = resolve(model={"sizes": [2, 8, 1]}, loss={"name": "bce_with_logits"})
    assert config["model"]["sizes"] == [2, 8, 1]


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"[data]\nname = '\xfemoons'\n")
    with pytest.raises(cfg.ConfigError, match=r"expected a UTF-8 TOML text file, got byte 0xfe"):
        cfg.read(path)


@pytest.mark.parametrize(
    "name", ["mnist.toml", "moons.toml", "nielsen-ch1.toml", "nielsen-ch3.toml"]
)
def test_packaged_configs_pass_validation(name):
    from chainrule.runs.build import load_config, packaged_config

    config, stem = load_config(str(packaged_config(name)), [])
    assert stem == name.removesuffix(".toml") and config["model"]["sizes"]


def test_a_config_with_a_utf8_byte_order_mark_reads(tmp_path):
    """As Windows Notepad saves "UTF-8 with BOM": it was invalid TOML at line 1, column 1."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[data]\nname = "moons"\n')
    assert cfg.read(path) == {"data": {"name": "moons"}}


def test_the_configs_names_are_the_librarys():
    """The choices of data.normalize, model.output, schedule.name and optimizer.name come
    from the library's registries (a schedule added to chainrule.optim is a schedule.name)."""
    from chainrule import data, nn, optim
    from chainrule.runs import datasets

    assert cfg.SCHEMA["data"]["normalize"].choices == ("standardize", "minmax", "none")
    scalers = datasets.SCALERS
    assert scalers == {"standardize": data.Standardizer, "minmax": data.MinMaxScaler}
    assert cfg.SCHEMA["model"]["output"].choices == ("linear", "sigmoid", "softmax", "log_softmax")
    assert set(cfg.OUTPUTS) == set(nn.OUTPUTS) - {None}
    schedules = cfg.SCHEMA["schedule"]["name"].choices
    assert schedules == ("none", *(name for name in optim.SCHEDULES if name != "linear_warmup"))
    assert schedules[1:] == (
        "inverse_time",
        "exponential",
        "inverse_sqrt",
        "step_decay",
        "piecewise_constant",
        "cosine",
    )
    assert cfg.SCHEMA["optimizer"]["name"].choices == tuple(optim.OPTIMIZERS)


def test_the_optimizers_by_name_are_the_optimizer_classes_and_read_only():
    from chainrule import optim

    assert dict(optim.OPTIMIZERS) == {
        "sgd": optim.SGD,
        "momentum": optim.Momentum,
        "rmsprop": optim.RMSprop,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
    }
    with pytest.raises(TypeError):
        optim.OPTIMIZERS["lion"] = optim.Adam
