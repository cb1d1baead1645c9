"""chainrule.save / chainrule.load: bit-identical round trips, safe failures."""

import json
import pickle
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import MinMaxScaler, Standardizer
from chainrule.files import FormatError, read_tree, split_tree, write_tree

MODELS = {
    "linear": lambda: nn.Linear(4, 3, rng=0),
    "sequential-activations": lambda: nn.Sequential(
        nn.Linear(4, 5, rng=1),
        nn.Tanh(),
        nn.Linear(5, 5, rng=2),
        nn.Sigmoid(),
        nn.Linear(5, 5, rng=3),
        nn.ReLU(),
        nn.Linear(5, 5, rng=4),
        nn.LeakyReLU(0.2),
        nn.Identity(),
        nn.Linear(5, 3, rng=5),
        nn.Softmax(),
    ),
    "mlp-dropout-batchnorm": lambda: nn.MLP(
        [4, 8, 8, 3], activation="relu", dropout=0.7, batch_norm=True, seed=0
    ),
    "mlp-sigmoid-output": lambda: nn.MLP([4, 6, 1], activation="sigmoid", output="sigmoid", seed=2),
    "float64": lambda: nn.MLP([4, 6, 3], activation="tanh", seed=1, dtype="float64"),
}


def trained(make):
    """A model whose buffers moved too (batch-norm running statistics)."""
    model = make()
    dtype = model.parameters()[0].dtype
    x = cr.tensor(np.random.default_rng(0).standard_normal((16, 4)).astype(dtype))
    model.train()
    with cr.no_grad():
        model(x)
    model.eval()
    return model, x


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_is_bit_identical(name, tmp_path):
    model, x = trained(MODELS[name])
    path = cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    # the count a file's tensors are checked against before building is exact
    needed = nn.registry.values_needed(model.get_config())
    assert needed == sum(v.size for v in model.state_dict().values())
    for key, value in model.state_dict().items():
        other = loaded.state_dict()[key]
        assert other.dtype == value.dtype and np.array_equal(other, value), key
    with cr.no_grad():
        assert np.array_equal(loaded(x).data, model(x).data)
    assert not loaded.training


def test_a_sequential_grown_by_append_round_trips(tmp_path):
    # layers registered after construction were trained and saved, but the config left
    # them out, so the file could not be loaded
    model = nn.Sequential(nn.Linear(4, 3, rng=1)).append(nn.ReLU()).append(nn.Linear(3, 5, rng=2))
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    loaded = cr.load(cr.save(model, tmp_path / "m.safetensors"))
    assert len(loaded) == 3 and loaded.get_config() == model.get_config()
    with cr.no_grad():
        assert loaded(x).shape == (6, 5)
        assert np.array_equal(loaded(x).data, model(x).data)


def test_scaler_labels_and_metadata_round_trip(tmp_path):
    X = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32) * 3 + 1
    for scaler in (Standardizer().fit(X), MinMaxScaler().fit(X)):
        model = nn.MLP([4, 3], seed=0)
        cr.save(
            model,
            tmp_path / "m.safetensors",
            scaler=scaler,
            labels=["a", "b", "c"],
            metadata={"test_accuracy": 0.5, "config": {"epochs": 3}},
        )
        bundle = cr.load_bundle(tmp_path / "m.safetensors")
        assert type(bundle.scaler) is type(scaler)
        assert np.array_equal(bundle.scaler.transform(X), scaler.transform(X))
        assert bundle.labels == ["a", "b", "c"]
        assert bundle.metadata == {"test_accuracy": 0.5, "config": {"epochs": 3}}


def saved_tree(tmp_path):
    path = cr.save(nn.MLP([4, 5, 3], seed=0), tmp_path / "m.safetensors")
    return read_tree(path)


def test_pickle_payload_is_a_format_error_and_runs_nothing(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(FormatError):
        cr.load(path)
    assert not marker.exists()


def test_unknown_layer_name_is_a_format_error(tmp_path):
    tree = saved_tree(tmp_path)
    tree["architecture"]["type"] = "os.system"
    write_tree(tmp_path / "x.safetensors", tree)
    with pytest.raises(FormatError, match="unknown layer type 'os.system'"):
        cr.load(tmp_path / "x.safetensors")


def test_mismatched_shapes_are_a_format_error(tmp_path):
    tree = saved_tree(tmp_path)
    name = next(iter(tree["state"]))
    tree["state"][name] = np.zeros((5, 5), np.float32)  # more values: the model is built
    write_tree(tmp_path / "x.safetensors", tree)
    with pytest.raises(FormatError, match="mis-shaped"):
        cr.load(tmp_path / "x.safetensors")


def test_truncated_tensors_are_a_format_error(tmp_path):
    path = cr.save(nn.MLP([4, 5, 3], seed=0), tmp_path / "m.safetensors")
    blob = path.read_bytes()
    path.write_bytes(blob[:-7])
    with pytest.raises(FormatError, match="bytes"):
        cr.load(path)


def test_malformed_json_and_wrong_format_are_format_errors(tmp_path):
    path = cr.save(nn.MLP([4, 5, 3], seed=0), tmp_path / "m.safetensors")
    blob = bytearray(path.read_bytes())
    start = blob.index(b'\\"architecture')  # the tree's JSON sits escaped in the header
    blob[start : start + 2] = b"xx"  # the header stays valid JSON, the tree does not
    path.write_bytes(bytes(blob))
    with pytest.raises(FormatError, match="JSON"):
        cr.load(path)
    write_tree(tmp_path / "other.safetensors", {"format": "something.else"})
    with pytest.raises(FormatError, match="not a chainrule model file"):
        cr.load(tmp_path / "other.safetensors")
    tree = saved_tree(tmp_path)
    tree["scaler"] = {"type": "Evil", "config": {}, "state": {}}
    write_tree(tmp_path / "s.safetensors", tree)
    with pytest.raises(FormatError, match="unknown scaler 'Evil'"):
        cr.load_bundle(tmp_path / "s.safetensors")


def _raw_file(path, tree_json: str, tensors=None):
    from chainrule.files import encode_safetensors

    path.write_bytes(encode_safetensors(tensors or {}, {"chainrule.tree": tree_json}))
    return path


def _architecture_file(path, architecture):
    """A model file of ``architecture`` without tensors, scaler, labels or metadata."""
    tree = {"format": "chainrule.model", "version": 1, "architecture": architecture}
    tree.update(state={}, scaler=None, labels=None, metadata={})
    return _raw_file(path, json.dumps(tree))


@pytest.fixture
def unbuilt(monkeypatch):
    """Fail the test when a model is built from a config: the check that refuses the
    file or model must come first."""
    import chainrule.io

    def build(config, rng=None):
        raise AssertionError("the model was built before the check that refuses it")

    monkeypatch.setattr(chainrule.io.nn, "from_config", build)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t["metadata"].update(x={"__tensor__": [1]}), "missing tensor \\[1\\]"),
        (lambda t: t.update(state=[]), "the state to map names to tensors, got \\[\\]"),
        (lambda t: t.update(state="abc"), "the state to map names to tensors, got 'abc'"),
        (lambda t: t.update(labels=5), "labels to be a list of strings, got 5"),
        (lambda t: t.update(metadata=[1]), "metadata to be an object, got \\[1\\]"),
        (
            lambda t: t["architecture"].update(sizes=[1 << 20, 1 << 20]),
            "the architecture needs 1,099,512,676,352 parameter and buffer values, the "
            "file's tensors hold 43",
        ),
    ],
    ids=[
        "reference",
        "state-list",
        "state-str",
        "labels",
        "metadata",
        "huge-architecture",
    ],
)
def test_hostile_trees_are_format_errors(tmp_path, change, match):
    tree = saved_tree(tmp_path)
    skeleton, arrays = split_tree(tree)
    change(skeleton)
    text = json.dumps(skeleton)  # the file holds the tensors still referred to, no others
    arrays = {name: a for name, a in arrays.items() if json.dumps(name) in text}
    path = _raw_file(tmp_path / "x.safetensors", text, arrays)
    with pytest.raises(FormatError, match=match):
        cr.load_bundle(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.update(version=2), "model file version 2, expected 1"),
        (lambda t: t.update(version="1"), "model file version '1', expected 1"),
        (lambda t: t.update(version=1.0), "model file version 1.0, expected 1"),  # was read
        (lambda t: t.update(version=True), "model file version True, expected 1"),  # was read
        (
            lambda t: t.update(extra=1, notes="x"),  # was read, the entries ignored
            "model file has unknown entries ['extra', 'notes']; expected only ['format', "
            "'version', 'architecture', 'state', 'scaler', 'labels', 'metadata']",
        ),
        (lambda t: t.pop("labels"), "model file lacks ['labels']"),
        (
            lambda t: [t.pop(k) for k in ("state", "metadata")],
            "model file lacks ['state', 'metadata']",
        ),
    ],
    ids=[
        "future-version",
        "version-str",
        "version-float",
        "version-bool",
        "unknown-entries",
        "no-labels",
        "no-state-or-metadata",
    ],
)
def test_another_version_or_a_missing_key_is_a_format_error_naming_the_file(
    tmp_path, change, message
):
    tree = saved_tree(tmp_path)
    change(tree)
    write_tree(path := tmp_path / "x.safetensors", tree)
    with pytest.raises(FormatError, match=f"^{re.escape(f'{path}: {message}')}$"):
        cr.load_bundle(path)


@pytest.mark.parametrize("kind", [Standardizer, MinMaxScaler])
@pytest.mark.parametrize("shape", [(3,), (5,), (2, 2)])
def test_a_file_whose_scaler_does_not_fit_the_models_input_is_a_format_error(tmp_path, kind, shape):
    # save refuses such a scaler; a file holding one made every prediction fail in the
    # scaler, with an error that blamed the input data and named no file
    X = np.random.default_rng(0).standard_normal((10, 4))
    tree = read_tree(
        cr.save(nn.MLP([4, 5, 3], seed=0), tmp_path / "m.safetensors", scaler=kind().fit(X))
    )
    other = kind().fit(np.random.default_rng(0).standard_normal((10, *shape)))
    tree["scaler"] = {
        "type": kind.__name__,
        "config": other.get_config(),
        "state": other.state_dict(),
    }
    write_tree(path := tmp_path / "x.safetensors", tree)
    expected = (
        f"{path}: scaler expected one fitted on 4 features (the model's input), got one "
        f"fitted on features of shape {shape}"
    )
    with pytest.raises(FormatError, match=f"^{re.escape(expected)}$"):
        cr.load_bundle(path)
    with pytest.raises(FormatError, match=re.escape(expected)):
        cr.load(path)


@pytest.mark.parametrize(
    "architecture",
    [
        nn.MLP([1, 4, 4, 1], seed=0, dtype="float64").get_config()
        | {"sizes": [1, 16000, 16000, 1]},
        nn.MLP([2, 3, 2], batch_norm=True, seed=0).get_config(),
        nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3), nn.ReLU()).get_config(),
        nn.Linear(2, 3, rng=0).get_config() | {"in_features": 10**9},
    ],
    ids=["mlp-16000", "mlp-batch-norm", "sequential", "linear"],
)
def test_an_architecture_bigger_than_the_files_tensors_is_refused_before_building(
    tmp_path, unbuilt, architecture
):
    """A few hundred bytes of config could ask for gigabytes of randomly initialised
    weights: the file is refused from the config and the tensors' sizes alone."""
    path = _architecture_file(tmp_path / "big.safetensors", architecture)
    assert path.stat().st_size < 1000
    with pytest.raises(FormatError, match=f"{path}: the architecture needs [0-9,]+ parameter"):
        cr.load_bundle(path)


@pytest.mark.parametrize(
    "malformed",
    [{"type": "Linear", "in_features": 2}, {"type": "Conv2d"}, {"type": "MLP", "sizes": [4]}],
    ids=["linear-missing-size", "unknown-type", "mlp-one-size"],
)
def test_a_huge_layer_before_a_malformed_one_is_not_built(tmp_path, no_huge_linear, malformed):
    """The malformed layer makes the architecture uncountable, so the size check cannot
    refuse it: the Sequential refuses it before building the 10**12 weights before it."""
    huge = {"type": "Linear", "in_features": 10**6, "out_features": 10**6}
    tree = {"format": "chainrule.model", "version": 1, "scaler": None, "labels": None}
    tree.update(architecture={"type": "Sequential", "layers": [huge, malformed]})
    tree.update(state={}, metadata={})
    path = _raw_file(tmp_path / "big.safetensors", json.dumps(tree))
    assert path.stat().st_size < 1000
    with pytest.raises(FormatError, match=f"{re.escape(str(path))}: the architecture or weights"):
        cr.load_bundle(path)


def test_deeply_nested_json_is_a_format_error(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(FormatError, match="RecursionError"):
        cr.load(_raw_file(tmp_path / "tree.safetensors", deep))
    head = b'{"a":' + deep.encode() + b"}"
    path = tmp_path / "header.safetensors"
    path.write_bytes(len(head).to_bytes(8, "little") + head)
    with pytest.raises(FormatError, match="RecursionError"):
        cr.load(path)


@pytest.mark.parametrize(
    "shape", [[1] * 65, [2**62, 2**62, 0], [2**40, 2**40]], ids=["65-dims", "empty", "huge"]
)
def test_impossible_shapes_are_format_errors(tmp_path, shape):
    head = json.dumps({"t": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
    path = tmp_path / "x.safetensors"
    path.write_bytes(len(head).to_bytes(8, "little") + head)
    with pytest.raises(FormatError, match="invalid"):
        read_tree(path)


def test_saving_writes_atomically_over_an_existing_file(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save(nn.MLP([4, 3], seed=0), path)
    cr.save(nn.MLP([4, 3], seed=1), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert json.loads(json.dumps(read_tree(path)["architecture"]))["seed"] == 1


def test_labels_name_each_output_or_both_classes_of_one(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save(nn.MLP([4, 5, 1], seed=0), path, labels=["no", "yes"])
    assert cr.load_bundle(path).labels == ["no", "yes"]
    cr.save(nn.Sequential(nn.Linear(4, 3, rng=0), nn.Softmax()), path, labels=["a", "b", "c"])
    assert cr.load_bundle(path).labels == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"save: labels expected 2 labels, one per output"):
        cr.save(nn.MLP([4, 5, 2], seed=0), tmp_path / "bad.safetensors", labels=["a"])
    with pytest.raises(ValueError, match=r"expected 2 labels, the classes of the model's one"):
        cr.save(nn.MLP([4, 5, 1], seed=0), tmp_path / "bad.safetensors", labels=["yes"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


class _Scale(nn.Module):
    def forward(self, x):
        return x * 2.0

    def get_config(self):
        return {"type": "Scale"}


class _MyLinear(nn.Linear):
    """Inherits Linear's config: load would build a plain Linear."""


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: nn.Sequential(nn.Linear(2, 3, rng=0), _Scale()), "1 (_Scale)"),
        (lambda: nn.Sequential(_MyLinear(2, 3, rng=0)), "0 (_MyLinear)"),
        (lambda: _Scale(), "the model (_Scale)"),
    ],
)
def test_a_layer_load_cannot_build_is_refused_before_anything_is_written(tmp_path, make, named):
    # the file was written and every load of it raised "unknown layer type"
    expected = rf"expected layers of the types load can build .* got {re.escape(named)};"
    with pytest.raises(ValueError, match=expected):
        cr.save(make(), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("labels", "got"),
    [
        ("ab", "str 'ab'"),  # was saved as the labels ['a', 'b']
        ({0: "no", 1: "yes"}, "dict"),  # was saved as its keys, ['0', '1']
        ([0, 1], "list"),  # was saved as ['0', '1']
        (["no", None], "list"),  # was saved as ['no', 'None']
        (np.array("no"), "ndarray"),  # NumPy's "iteration over a 0-d array"
        (np.array([["no", "yes"]]), "ndarray"),  # a row of names, not one per output
    ],
)
def test_labels_of_another_type_are_refused_before_anything_is_written(tmp_path, labels, got):
    expected = rf"save: labels expected a list of str, one class name per output, got {got}"
    with pytest.raises(TypeError, match=expected):
        cr.save(nn.MLP([4, 5, 1], seed=0), tmp_path / "m.safetensors", labels=labels)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("labels", [("no", "yes"), np.array(["no", "yes"])])
def test_a_tuple_or_array_of_labels_is_saved_as_a_list_of_str(tmp_path, labels):
    path = cr.save(nn.MLP([4, 5, 1], seed=0), tmp_path / "m.safetensors", labels=labels)
    saved = cr.load_bundle(path).labels
    assert saved == ["no", "yes"] and all(type(label) is str for label in saved)


@pytest.mark.parametrize(
    ("metadata", "error", "says"),
    [
        ([("epochs", 3)], TypeError, r"save: metadata expected a dict, got list"),  # was a dict
        ("", TypeError, r"save: metadata expected a dict, got str ''"),  # was saved as {}
        (0, TypeError, r"save: metadata expected a dict, got int 0"),  # was saved as {}
        ({1: "a"}, TypeError, r"keys must be strings, got 1 at metadata"),
        ({"a": {1, 2}}, TypeError, r"save: metadata expected pure data, but cannot store set at"),
    ],
)
def test_metadata_of_another_type_is_refused_before_anything_is_written(
    tmp_path, metadata, error, says
):
    with pytest.raises(error, match=says):
        cr.save(nn.MLP([4, 3], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


STORABLE = "float64, float32, float16, int64, int32, int16, int8, uint8, bool"


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(2, np.uint32),
        np.zeros(2, np.uint16),
        np.zeros(2, np.uint64),
        np.array(["cat", "dog"]),
        np.zeros(2, np.complex128),
        np.array([1, "a"], dtype=object),
        np.zeros(2, "datetime64[s]"),
    ],
    ids=lambda a: str(a.dtype),
)
def test_metadata_arrays_a_file_cannot_store_are_refused_by_check_extras(tmp_path, array):
    # check_extras passed them, and save (ModelCheckpoint's, after an epoch) refused them
    model = nn.MLP([4, 3], seed=0)
    says = (
        rf"save: metadata expected pure data, but cannot store tensor 'metadata.run.x' of "
        rf"dtype {re.escape(str(array.dtype))}: expected one of {STORABLE}$"
    )
    with pytest.raises(TypeError, match=says):
        cr.io.check_extras(model, metadata={"run": {"x": array}})
    with pytest.raises(TypeError, match=says):
        cr.save(model, tmp_path / "m.safetensors", metadata={"run": {"x": array}})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [">f8", ">i4", "<f2", "?", "u1"])
def test_metadata_arrays_of_every_storable_dtype_pass_check_extras_and_load_back(tmp_path, dtype):
    array = np.arange(3).astype(dtype)
    model = nn.MLP([4, 3], seed=0)
    cr.io.check_extras(model, metadata={"x": array})
    cr.save(model, tmp_path / "m.safetensors", metadata={"x": array})
    loaded = cr.load_bundle(tmp_path / "m.safetensors").metadata["x"]
    assert loaded.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("kind", [Standardizer, MinMaxScaler])
@pytest.mark.parametrize(
    ("make", "width"),
    [
        (lambda: nn.MLP([4, 5, 3], seed=0), 4),
        (lambda: nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 3, rng=0)), 4),
    ],
    ids=["mlp", "batch-norm-first"],
)
@pytest.mark.parametrize("shape", [(3,), (5,), (2, 2)])
def test_a_scaler_fitted_on_another_width_than_the_models_input_is_refused(
    tmp_path, kind, make, width, shape
):
    # the file was written, and every prediction from it failed in the scaler or the model
    scaler = kind().fit(np.random.default_rng(0).standard_normal((10, *shape)))
    expected = (
        rf"save: scaler expected one fitted on {width} features \(the model's input\), "
        rf"got one fitted on features of shape {re.escape(str(shape))}"
    )
    with pytest.raises(ValueError, match=expected):
        cr.save(make(), tmp_path / "m.safetensors", scaler=scaler)
    assert list(tmp_path.iterdir()) == []


class _ClippedStandardizer(Standardizer):
    """Standardizer's name and state, another transform: load would build a plain one."""

    def transform(self, X):
        return np.clip(super().transform(X), -3.0, 3.0)


@pytest.mark.parametrize(
    ("scaler", "got"),
    [
        (type("Standardizer", (_ClippedStandardizer,), {})(), "Standardizer"),
        (_ClippedStandardizer(), "_ClippedStandardizer"),
        ("standardize", "str"),
    ],
)
def test_a_scaler_load_cannot_build_is_refused_before_anything_is_written(tmp_path, scaler, got):
    if isinstance(scaler, Standardizer):
        scaler.fit(np.random.default_rng(0).standard_normal((10, 4)))
    expected = rf"save: scaler expected a Standardizer or MinMaxScaler, got {got} \("
    with pytest.raises(TypeError, match=expected):
        cr.save(nn.MLP([4, 3], seed=0), tmp_path / "m.safetensors", scaler=scaler)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize == 8, reason="long double is float64")
@pytest.mark.parametrize(
    ("scaler", "key"),
    [
        (MinMaxScaler().fit(np.arange(12.0).reshape(3, 4).astype(np.longdouble)), "min"),
        (Standardizer(), "mean"),
    ],
    ids=["minmax-fitted", "standardizer-loaded"],
)
def test_a_scaler_of_statistics_a_file_cannot_store_is_refused_by_name(tmp_path, scaler, key):
    # check_saveable passed it; save then failed naming only the tensor, not the argument
    if isinstance(scaler, Standardizer):  # load_state_dict keeps the precision it is given
        scaler.load_state_dict({"mean": np.zeros(4, np.longdouble), "std": np.ones(4)})
    expected = (
        rf"^save: scaler expected statistics a file can store, but cannot store tensor "
        rf"'scaler.state.{key}' of dtype {np.dtype(np.longdouble).name}: expected one of "
    )
    model = nn.MLP([4, 3], seed=0)
    with pytest.raises(TypeError, match=expected):
        cr.io.check_saveable(model, scaler=scaler)
    with pytest.raises(TypeError, match=expected):
        cr.save(model, tmp_path / "m.safetensors", scaler=scaler)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("model", ["model.safetensors", {"layers.0.weight": np.ones((2, 2))}])
def test_a_model_that_is_not_a_module_is_refused_by_type(tmp_path, model):
    expected = rf"save: model expected a chainrule.nn.Module, got {type(model).__name__}"
    with pytest.raises(TypeError, match=expected):
        cr.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", [Standardizer, MinMaxScaler])
def test_an_unfitted_scaler_is_refused_as_a_value_before_anything_is_written(tmp_path, kind):
    expected = rf"save: scaler expected a fitted scaler, got {kind.__name__} is not fitted"
    with pytest.raises(ValueError, match=expected):
        cr.save(nn.MLP([4, 3], seed=0), tmp_path / "m.safetensors", scaler=kind())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("owner", "call"),
    [
        ("save", lambda path: cr.save(nn.MLP([4, 3], seed=0), path)),
        ("load", cr.load),
        ("load_bundle", cr.io.load_bundle),
    ],
)
@pytest.mark.parametrize("path", [7, None, b"m.safetensors", ["m.safetensors"]])
def test_a_path_that_is_not_a_path_is_refused_by_name(tmp_path, monkeypatch, owner, call, path):
    # pathlib's TypeError naming no argument, after save had built the whole tree
    monkeypatch.chdir(tmp_path)
    expected = rf"{owner}: path expected a path \(str or os.PathLike\), got {type(path).__name__}"
    with pytest.raises(TypeError, match=expected):
        call(path)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_path_ending_in_a_separator(tmp_path, monkeypatch):
    # "models/" was written as a FILE named models
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^save: path expected a file path, got 'models/'"):
        cr.save(nn.MLP([2, 2], seed=0), "models/")
    assert list(tmp_path.iterdir()) == []


FINE_TUNE = """
import hashlib, sys
import chainrule as cr
from chainrule import optim
X, y = cr.data.make_moons(200, seed=0)
m = cr.load(sys.argv[1]).train()
cr.fit(m, "cross_entropy", optim.SGD(m.parameters(), 0.1), X, y, epochs=2, batch_size=20,
       seed=0, progress=False)
print(hashlib.sha256(b"".join(v.tobytes() for _, v in sorted(m.state_dict().items()))).hexdigest())
"""


def _dropout_model():
    return nn.Sequential(nn.Linear(2, 16, rng=1), nn.ReLU(), nn.Dropout(0.5, rng=2),
                         nn.Linear(16, 2, rng=3))  # fmt: skip


def test_fine_tuning_a_loaded_model_with_dropout_is_the_same_in_every_process(tmp_path):
    # the Dropout of a loaded Sequential drew its masks from OS entropy: fit(seed=0) gave
    # another model in each process
    import os
    import subprocess
    import sys

    path = cr.save(_dropout_model(), tmp_path / "m.safetensors")
    digests = {
        subprocess.run(
            [sys.executable, "-c", FINE_TUNE, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("0", "1")
    }
    assert len(digests) == 1 and len(next(iter(digests)).strip()) == 64


def _masks(model, n=5):
    x = cr.tensor(np.ones((8, 16), np.float32))
    dropout = model[2]
    return [dropout(x).data.copy() for _ in range(n)]


def test_load_seeds_the_generators_of_layers_without_a_seed_of_their_own(tmp_path):
    path = cr.save(_dropout_model(), tmp_path / "m.safetensors")
    masks = {}
    for seed in (0, 0, 7):
        model = cr.load(path, seed=seed).train()
        masks.setdefault(seed, []).append(_masks(model))
    default = cr.io.load_bundle(path).model.train()
    assert all(np.array_equal(a, b) for a, b in zip(*masks[0], strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(masks[0][0], _masks(default), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(masks[0][0], masks[7][0], strict=True))


@pytest.mark.parametrize(
    ("seed", "error", "shown"),
    [(-1, ValueError, "-1"), (1.5, TypeError, "float 1.5"), (None, TypeError, "NoneType None")],
)
@pytest.mark.parametrize("owner", ["load", "load_bundle"])
def test_a_load_seed_that_is_not_a_seed_is_refused_by_name(tmp_path, owner, seed, error, shown):
    path = cr.save(nn.MLP([2, 2], seed=0), tmp_path / "m.safetensors")
    call = cr.load if owner == "load" else cr.io.load_bundle
    with pytest.raises(error, match=rf"^{owner}: seed expected an integer >= 0, got {shown}$"):
        call(path, seed=seed)


def test_a_tensor_the_model_file_does_not_refer_to_is_a_format_error(tmp_path):
    # it was accepted silently, and copied into memory however big, though nothing reached it
    tree = saved_tree(tmp_path)
    skeleton, arrays = split_tree(tree)
    path = _raw_file(tmp_path / "x.safetensors", json.dumps(skeleton), arrays | {"x": np.zeros(10)})
    says = (
        "expected every tensor to be referred to by the chainrule tree, got 1 that are not: ['x']"
    )
    with pytest.raises(FormatError, match=f"^{re.escape(f'{path}: {says}')}$"):
        cr.load_bundle(path)


def test_loading_a_directory_says_it_is_one(tmp_path):
    # "FileNotFoundError: no such file" for a directory that exists
    for load in (cr.load, cr.io.load_bundle):
        with pytest.raises(
            IsADirectoryError, match=f"^{tmp_path}: expected a file, got a directory$"
        ):
            load(tmp_path)


INT64 = r"expected integers within int64's range \[-9223372036854775808, 9223372036854775807\]"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (2**63, rf"{INT64}, got 9223372036854775808 at metadata\.run\.id$"),
        (-(2**63) - 1, rf"{INT64}, got -9223372036854775809 at metadata\.run\.id$"),
        (np.uint64(2**64 - 1), rf"{INT64}, got 18446744073709551615 at metadata\.run\.id$"),
        (
            10**5000,
            r"expected pure data, but cannot store an integer of more than 4300 digits "
            r"at metadata\.run\.id: ",
        ),
    ],
    ids=["int64-max+1", "int64-min-1", "uint64", "5001-digits"],
)
def test_metadata_integers_beyond_int64_are_refused_by_check_extras(tmp_path, value, says):
    # check_extras passed them, and save (ModelCheckpoint's, after an epoch) raised
    # json.dumps's bare "Exceeds the limit (4300 digits)", or wrote what other parsers misread
    model, metadata = nn.MLP([4, 3], seed=0), {"run": {"id": value}}
    with pytest.raises(ValueError, match=f"^save: metadata {says}"):
        cr.io.check_extras(model, metadata=metadata)
    with pytest.raises(ValueError, match=f"^save: metadata {says}"):
        cr.save(model, tmp_path / "m.safetensors", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_metadata_integers_at_int64s_bounds_round_trip(tmp_path):
    metadata = {"ids": [2**63 - 1, -(2**63), np.int64(7)], "flag": True}
    path = cr.save(nn.MLP([4, 3], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert cr.load_bundle(path).metadata == {"ids": [2**63 - 1, -(2**63), 7], "flag": True}


def _nested(depth: int) -> dict:
    """Dicts nested ``depth`` deep, the outermost counting one."""
    node: dict = {}
    for _ in range(depth - 1):
        node = {"a": node}
    return node


def test_metadata_nested_deeper_than_a_file_holds_is_refused_by_check_extras(tmp_path):
    # an untyped RecursionError from check_extras and save (~500 deep)
    model = nn.MLP([4, 3], seed=0)
    deepest = _nested(cr.files.tree.MAX_DEPTH - 1)  # the file's tree holds it one level down
    path = cr.save(model, tmp_path / "m.safetensors", metadata=deepest)
    assert cr.load_bundle(path).metadata == deepest
    says = (
        r"^save: metadata expected pure data, but cannot store dicts and lists nested more "
        r"than 100 deep \(the root counting one\) at metadata(\.a){99}: "
    )
    for metadata in (_nested(cr.files.tree.MAX_DEPTH), _nested(500)):
        with pytest.raises(ValueError, match=says):
            cr.io.check_extras(model, metadata=metadata)
        with pytest.raises(ValueError, match=says):
            cr.save(model, tmp_path / "other.safetensors", metadata=metadata)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_metadata_that_holds_itself_is_refused_by_check_extras(tmp_path):
    # an untyped RecursionError from check_extras and save
    metadata: dict = {"config": {}}
    metadata["config"]["run"] = metadata
    says = (
        r"^save: metadata expected pure data, but cannot store dicts and lists nested more "
        r"than 100 deep .* at metadata\.config\.run\.config\."
    )
    with pytest.raises(ValueError, match=says):
        cr.io.check_extras(nn.MLP([4, 3], seed=0), metadata=metadata)
    with pytest.raises(ValueError, match=says):
        cr.save(nn.MLP([4, 3], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_a_masked_metadata_array_is_refused_by_check_extras(tmp_path):
    # it was saved without its mask and loaded back as a plain array
    model, masked = nn.MLP([4, 3], seed=0), np.ma.masked_array([1.0, 2.0], mask=[False, True])
    says = (
        r"^save: metadata expected pure data, but cannot store tensor 'metadata.x' of type "
        r"MaskedArray: expected a plain array"
    )
    with pytest.raises(TypeError, match=says):
        cr.io.check_extras(model, metadata={"x": masked})
    with pytest.raises(TypeError, match=says):
        cr.save(model, tmp_path / "m.safetensors", metadata={"x": masked})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("layers.1.running_var", -0.5, "expected variances >= 0, got 1 negative among 5"),
        ("layers.1.running_mean", np.nan, "expected finite values, got 1 NaN among 5"),
        ("layers.0.weight", np.inf, "expected finite values, got 1 inf among 20"),
    ],
    ids=["negative-var", "nan-mean", "inf-weight"],
)
def test_a_file_whose_values_the_model_refuses_is_a_format_error_naming_the_key(
    tmp_path, key, value, says
):
    # it loaded, and the model predicted NaN in eval mode
    path = cr.save(nn.MLP([4, 5, 3], batch_norm=True, seed=0), tmp_path / "m.safetensors")
    tree = read_tree(path)
    tree["state"][key].flat[1] = value
    write_tree(path, tree)
    with pytest.raises(
        FormatError, match=f"^{re.escape(f'{path}: ')}.*{re.escape(f'{key} ({says}')}"
    ):
        cr.load(path)


def test_a_model_holding_values_load_refuses_is_not_saved(tmp_path):
    model = nn.MLP([4, 5, 3], batch_norm=True, seed=0)
    model.layers[1].running_var[2] = -1.0
    says = "layers.1.running_var (expected variances >= 0, got 1 negative among 5 values"
    with pytest.raises(ValueError, match=f"^save: .*{re.escape(says)}"):
        cr.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []
    model.layers[1].running_var[2] = 1.0
    model.layers[0].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layers\.0\.weight \(expected finite values, got 1 NaN"):
        cr.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("architecture", "modules"),
    [
        ({"type": "Sequential", "layers": [{"type": "ReLU"}] * cr.io.MAX_LAYERS}, "10,001"),
        ({"type": "MLP", "sizes": [1] * 6_000}, "11,999"),
    ],
    ids=["relus", "mlp"],
)
def test_an_architecture_of_too_many_layers_is_refused_before_building(
    tmp_path, unbuilt, architecture, modules
):
    """A few bytes per layer could take minutes and gigabytes to build: the file is
    refused from its architecture alone."""
    path = _architecture_file(tmp_path / "deep.safetensors", architecture)
    says = f"{path}: the architecture builds {modules} modules, expected at most "
    with pytest.raises(FormatError, match=f"^{re.escape(says)}MAX_LAYERS = 10,000$"):
        cr.load_bundle(path)


def test_a_model_of_max_layers_modules_round_trips_and_one_more_is_not_saved(tmp_path):
    relus = [nn.ReLU() for _ in range(cr.io.MAX_LAYERS - 2)]
    model = nn.Sequential(nn.Linear(2, 2, rng=0), *relus)
    assert len(list(model.named_modules())) == cr.io.MAX_LAYERS
    loaded = cr.load(cr.save(model, tmp_path / "m.safetensors"))
    assert len(loaded) == cr.io.MAX_LAYERS - 1
    model.append(nn.ReLU())
    says = "save: expected a model of at most MAX_LAYERS = 10,000 modules, which load builds"
    with pytest.raises(ValueError, match=f"^{says}, got 10,001$"):
        cr.save(model, tmp_path / "n.safetensors")
    assert not (tmp_path / "n.safetensors").exists()


class Affine(nn.Module):
    """A layer a user registers in nn.LAYERS: ``y = x * scale + shift`` per feature. Its
    get_config is right with ``forgets=()``; each name in ``forgets`` is left out of it."""

    def __init__(self, n: int = 1, dtype: str = "float32", bias: bool = True, forgets=()):
        super().__init__()
        self.n, self.dtype, self.bias, self.forgets = n, dtype, bias, tuple(forgets)
        self.register_parameter("scale", cr.Tensor(np.ones(n, dtype), requires_grad=True))
        if bias:
            self.register_parameter("shift", cr.Tensor(np.zeros(n, dtype), requires_grad=True))

    def forward(self, x):
        return x * self.scale + self.shift if self.bias else x * self.scale

    def get_config(self):
        config = {"n": self.n, "dtype": self.dtype, "bias": self.bias}
        return {"type": "Affine", **{k: v for k, v in config.items() if k not in self.forgets}}


@pytest.fixture
def affine(monkeypatch):
    monkeypatch.setitem(nn.LAYERS, "Affine", Affine)
    return Affine


def test_a_registered_layer_whose_config_rebuilds_its_state_round_trips(tmp_path, affine):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), affine(3, "float64"))
    model[1].scale.data[:] = [1.0, 2.0, 3.0]
    loaded = cr.load(cr.save(model, tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(loaded[1].scale.data, [1.0, 2.0, 3.0])
    assert loaded[1].scale.dtype == np.float64


def _counted(affine):
    """An Affine given a buffer after it was built, which its config knows nothing of."""
    layer = affine(3)
    layer.register_buffer("count", np.zeros(1))
    return layer


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda a: a(3, forgets=("n",)), "1.scale (expected (1,) float32, got (3,) float32), "
                                         "1.shift (expected (1,) float32, got (3,) float32)"),
        (lambda a: a(3, "float64", forgets=("dtype",)),
         "1.scale (expected (3,) float32, got (3,) float64), "
         "1.shift (expected (3,) float32, got (3,) float64)"),
        (lambda a: a(3, bias=False, forgets=("bias",)),
         "1.shift (expected (3,) float32, got no such key)"),
        (_counted, "1.count (expected no such key, got (1,) float64)"),
    ],
    ids=["size", "dtype", "missing-key", "unexpected-key"],
)  # fmt: skip
def test_a_config_that_does_not_rebuild_the_state_is_refused_before_writing(
    tmp_path, affine, make, says
):
    """The file was written, and every load of it failed: the saved work was lost."""
    path = tmp_path / "m.safetensors"
    cr.save(nn.MLP([2, 3], seed=0), path)
    before = path.read_bytes()
    model = nn.Sequential(nn.Linear(2, 3, rng=0), make(affine))
    expected = "save: expected model.get_config() to rebuild the model's state"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}.*: {re.escape(says)}$"):
        cr.save(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


class _Huge(Affine):
    """An Affine that counts its values, whose config asks for a trillion features."""

    @classmethod
    def values_needed(cls, config):
        return 2 * config["n"]

    def get_config(self):
        return {"type": "_Huge", "n": 10**12}


def test_a_config_asking_for_more_values_than_the_model_holds_is_refused_unbuilt(
    tmp_path, monkeypatch, unbuilt
):
    monkeypatch.setitem(nn.LAYERS, "_Huge", _Huge)
    says = "but it builds 2,000,000,000,000 parameter and buffer values, the model holds 6"
    with pytest.raises(ValueError, match=f"^save: expected model.get_config.*{says}$"):
        cr.save(_Huge(3), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


class _Misspelt(Affine):
    def get_config(self):
        return {"type": "_Misspelt", "size": self.n}


def test_a_config_that_does_not_build_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setitem(nn.LAYERS, "_Misspelt", _Misspelt)
    says = "but it does not build: ValueError(\"bad _Misspelt config {'type': '_Misspelt', 'size'"
    with pytest.raises(ValueError, match=f"^save: expected model.get_config.*{re.escape(says)}"):
        cr.save(_Misspelt(3), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_a_model_found_to_rebuild_is_built_again_only_when_its_layout_changes(
    tmp_path, monkeypatch
):
    """ModelCheckpoint saves one model each epoch: it is built once, not at every save."""
    import chainrule.io

    built, from_config = [], nn.from_config

    def build(config, rng=None):
        built.append(config["type"])
        return from_config(config, rng=rng)

    monkeypatch.setattr(chainrule.io.nn, "from_config", build)
    model = nn.MLP([2, 3, 2], seed=0)
    for _ in range(3):
        cr.save(model, tmp_path / "m.safetensors")
    assert built == ["MLP"]
    model.layers[0].weight.data = np.zeros((2, 4), np.float32)  # the config says (2, 3)
    with pytest.raises(ValueError, match=r"layers\.0\.weight \(expected \(2, 3\) float32"):
        cr.save(model, tmp_path / "m.safetensors")
    assert built == ["MLP", "MLP"]


class _Compared(Affine):
    """A layer with an ``__eq__`` of its own, which makes it unhashable."""

    def __eq__(self, other):
        return isinstance(other, _Compared) and self.n == other.n

    __hash__ = None

    def get_config(self):
        return {"type": "_Compared", "n": self.n}


def test_an_unhashable_layer_is_still_checked_and_saved(tmp_path, monkeypatch):
    monkeypatch.setitem(nn.LAYERS, "_Compared", _Compared)
    layer = _Compared(3)
    assert cr.load(cr.save(layer, tmp_path / "m.safetensors")) == layer
