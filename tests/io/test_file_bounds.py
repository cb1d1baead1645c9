"""What a file may cost to read, and what a write must refuse so that every file it makes
reads back: tensors referred to twice, shapes, header size in JSON values, integers beyond
int64, file names and strings that are not UTF-8."""

import json
import os
import re
import struct
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
import chainrule.io
from chainrule import files, nn, optim
from chainrule.files import FormatError, read_tree, write_tree
from chainrule.train import fit


def _raw_model_file(path, tree: dict, tensors: dict) -> os.PathLike:
    text = json.dumps(tree, separators=(",", ":"))
    path.write_bytes(files.encode_safetensors(tensors, {"chainrule.tree": text}))
    return path


def _no_build(monkeypatch):
    def build(config, rng=None):
        raise AssertionError("the model was built before the file was refused")

    monkeypatch.setattr(chainrule.io.nn, "from_config", build)


def _peak(call) -> int:
    """The most memory (bytes, as tracemalloc counts) ``call()`` held at once."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- a tensor referred to twice --------------------------------------------------------


def test_write_tree_stores_an_array_held_twice_as_two_tensors(tmp_path):
    # what makes refusing a tensor referred to twice safe: write_tree never writes one
    shared = np.arange(3.0)
    write_tree(path := tmp_path / "t.safetensors", {"a": shared, "b": [shared]})
    tree = read_tree(path)
    assert np.array_equal(tree["a"], shared) and np.array_equal(tree["b"][0], shared)
    assert not np.shares_memory(tree["a"], tree["b"][0])


def test_a_tensor_referred_to_twice_is_refused_before_any_tensor_is_copied(
    tmp_path, no_tensor_copies
):
    # it was joined as one array at both places
    tree = '{"a": {"__tensor__": "t"}, "b": [{"__tensor__": "t"}, {"__tensor__": "t"}]}'
    path = tmp_path / "t.safetensors"
    path.write_bytes(files.encode_safetensors({"t": np.ones(2)}, {"chainrule.tree": tree}))

    says = (
        r"expected each tensor to be referred to once by the chainrule tree, got 1 referred "
        r"to more than once: \['t'\]"
    )
    with pytest.raises(FormatError, match=f"^{re.escape(str(path))}: {says}$"):
        read_tree(path)


def test_a_model_file_whose_state_repeats_one_tensor_is_refused_before_building(
    tmp_path, monkeypatch
):
    # 3000 keys referring to one tensor of 3000 bytes counted as 9,000,000 values held: a
    # 100 KB file built a Linear(3000 -> 3000), 108 MB, before its keys were found wrong
    n = 300
    tree = {"format": "chainrule.model", "version": 1, "scaler": None, "labels": None}
    tree["architecture"] = {"type": "Linear", "in_features": n, "out_features": n, "bias": False}
    tree.update(state={f"k{i}": {"__tensor__": "t"} for i in range(n)}, metadata={})
    path = _raw_model_file(tmp_path / "bomb.safetensors", tree, {"t": np.zeros(n, np.uint8)})
    _no_build(monkeypatch)
    with pytest.raises(FormatError, match="got 1 referred to more than once: \\['t'\\]"):
        cr.load_bundle(path)


# --- shapes a reader refuses ------------------------------------------------------------


SHAPES = {
    "33-dims": np.zeros((1,) * 33),
    "empty-wide": np.zeros((0, 2**47)),  # 2**50 bytes but for its empty dimension
}


@pytest.mark.parametrize("array", SHAPES.values(), ids=SHAPES)
def test_a_shape_a_reader_refuses_is_refused_before_writing(tmp_path, array):
    # save and every checkpoint wrote it, and load refused the file ("invalid shape")
    shape = re.escape(str(array.shape))
    says = (
        rf"cannot store tensor 'metadata\.x' of shape {shape}: expected at most 32 dimensions, "
        r"each and the product of the nonzero ones in bytes at most 2\*\*48"
    )
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    with pytest.raises(ValueError, match=f"^save: metadata expected pure data, but {says}$"):
        cr.io.check_extras(model, metadata={"x": array})
    with pytest.raises(ValueError, match=f"^save: metadata expected pure data, but {says}$"):
        cr.save(model, tmp_path / "m.safetensors", metadata={"x": array})
    with pytest.raises(ValueError, match="^" + says.replace(r"metadata\.x", "x") + "$"):
        files.encode_safetensors({"x": array}, {})
    assert list(tmp_path.iterdir()) == []


def test_a_run_whose_extras_a_checkpoint_could_not_read_back_is_refused_before_training(tmp_path):
    # the run trained, wrote checkpoints it could not resume from, and a resume failed
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    with pytest.raises(ValueError, match=r"^Trainer: save_extras: metadata expected pure data"):
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.parameters(), lr=0.1),
            x,
            y,
            epochs=1,
            progress=False,
            checkpoint_dir=tmp_path / "ck",
            save_extras={"metadata": {"mask": np.zeros((1,) * 33, np.float32)}},
        )
    assert list(tmp_path.iterdir()) == []


def test_32_dimensions_and_an_empty_array_of_a_sane_shape_round_trip(tmp_path):
    tree = {"x": np.zeros((1,) * 32), "e": np.zeros((0, 2**40), np.uint8)}
    write_tree(path := tmp_path / "t.safetensors", tree)
    back = read_tree(path)
    assert back["x"].shape == (1,) * 32 and back["e"].shape == (0, 2**40)


# --- what reading a header costs ----------------------------------------------------------


def test_a_bad_header_length_is_refused_without_reading_the_file(tmp_path):
    # read_tree read the whole file (a sparse 1 GB one: 1 GB) before checking the length
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 2**40))
        f.truncate(64 * 2**20)

    def read():
        with pytest.raises(FormatError, match="header length 1099511627776 exceeds"):
            read_tree(path)

    assert _peak(read) < 2**20


def test_the_data_is_read_once_into_the_arrays(tmp_path):
    # the file's bytes were read whole, then each tensor copied out of them: twice its size
    write_tree(path := tmp_path / "t.safetensors", {"w": np.ones(2**20)})  # 8 MiB
    tree = {}
    assert _peak(lambda: tree.update(read_tree(path))) < 9 * 2**20
    assert np.array_equal(tree["w"], np.ones(2**20))


def test_a_file_that_shrinks_after_its_header_is_read_is_a_format_error(tmp_path):
    write_tree(path := tmp_path / "t.safetensors", {"w": np.ones(2**16)})
    with open(path, "rb") as f:
        layout, _ = files.decode_header(f, source="t")
        os.truncate(path, path.stat().st_size - 8)
        with pytest.raises(FormatError, match=r"^t: the file ended within tensor 'w'"):
            files.decode_tensors(f, layout, source="t")


def _tree_file(path, tree_text: str) -> os.PathLike:
    head = json.dumps({"__metadata__": {"chainrule.tree": tree_text}}).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head)
    return path


def test_a_header_of_millions_of_json_values_is_refused_before_parsing(tmp_path):
    # 3.3 million {} in the metadata: a 9.9 MB file took 497 MB to parse, and was loaded
    path = tmp_path / "m.safetensors"
    cr.save(nn.Sequential(nn.Linear(3, 2, rng=0)), path)
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    tree = json.loads(header["__metadata__"]["chainrule.tree"])
    tree["metadata"] = {"x": "@@"}
    bomb = "[" + ",".join(["{}"] * 3_300_000) + "]"
    header["__metadata__"]["chainrule.tree"] = json.dumps(tree).replace('"@@"', bomb)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + blob[8 + n :])
    says = (
        rf"^{re.escape(str(path))}: the header holds 6,600,0\d\d of the characters '\{{', "
        r"'\[' and ',', expected at most 2,097,152"
    )

    def load():
        with pytest.raises(FormatError, match=says):
            cr.load_bundle(path)

    assert _peak(load) < 64 * 2**20


def test_a_tree_of_too_many_json_values_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(files.safetensors, "MAX_MARKS", 100)
    path = _tree_file(tmp_path / "t.safetensors", '{"x": [' + "1," * 99 + "1]}")
    with pytest.raises(FormatError, match="the header holds 103 of the characters"):
        read_tree(path)
    # escaped in the header, the tree's commas are not the header's: each text is counted
    text = json.dumps('{"x": [' + "1@" * 99 + "1]}").replace("@", "\\u002c")
    head = ('{"__metadata__": {"chainrule.tree": ' + text + "}}").encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head)
    with pytest.raises(
        FormatError, match="the chainrule metadata holds 101 of the characters '{', '\\[' and ','"
    ):
        read_tree(path)


def test_a_header_of_too_many_json_values_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(files.safetensors, "MAX_MARKS", 100)
    path = tmp_path / "t.safetensors"
    write_tree(path, {"losses": [0.5] * 80})
    says = (
        r"^cannot store a header of 1\d\d of the characters '\{', '\[' and ',': expected at "
        r"most 100, the most a reader takes"
    )
    with pytest.raises(ValueError, match=says):
        write_tree(path, {"losses": [0.5] * 101})
    assert read_tree(path) == {"losses": [0.5] * 80}


def test_a_header_at_the_json_value_limit_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr(files.safetensors, "MAX_MARKS", 100)
    blob = files.encode_safetensors({}, {"k": "," * 98})  # {"__metadata__":{"k":",,,..."}}
    assert files.decode_safetensors(blob) == ({}, {"k": "," * 98})


# --- integers beyond int64 ----------------------------------------------------------------


def test_a_metadata_integer_beyond_int64_is_a_format_error(tmp_path):
    # it loaded, and `chainrule info` crashed on it with a bare OverflowError
    path = cr.save(nn.Sequential(nn.Linear(3, 2, rng=0)), tmp_path / "m.safetensors")
    tree = read_tree(path)
    tree["metadata"] = {"metrics": {"test": {"accuracy": 10**400}, "n": [1, -(2**63) - 1]}}
    write_tree(path, tree)
    says = (
        r"metadata expected integers within int64's range \[-9223372036854775808, "
        r"9223372036854775807\], got 1{1}0{39} at metadata\.metrics\.test\.accuracy$"
    )
    with pytest.raises(FormatError, match=f"^{re.escape(str(path))}: {says}"):
        cr.load_bundle(path)


def test_the_int64_check_finds_an_integer_deep_in_a_loaded_metadata(tmp_path):
    path = cr.save(nn.Sequential(nn.Linear(3, 2, rng=0)), tmp_path / "m.safetensors")
    tree = read_tree(path)
    text = json.dumps({**tree, "state": "@@", "metadata": "@@"})
    deep = "[" * 400 + str(2**63) + "]" * 400
    text = text.replace('"@@"', json.dumps(files.split_tree(tree)[0]["state"]), 1)
    text = text.replace('"@@"', '{"x": ' + deep + "}", 1)
    state = {f"state.{k}": v for k, v in tree["state"].items()}
    path.write_bytes(files.encode_safetensors(state, {"chainrule.tree": text}))
    with pytest.raises(FormatError, match=r"got 9223372036854775808 at metadata\.x(\.0){400}$"):
        cr.load_bundle(path)


# --- file names and strings that are not UTF-8 -------------------------------------------


def test_a_file_name_that_is_not_utf8_is_written_as_open_writes_it(tmp_path):
    # the temporary file's name raised UnicodeEncodeError
    name = os.fsdecode(b"pred-\xff.csv")  # how Python hands over a file name not in UTF-8
    files.atomic_write(tmp_path / name, b"data")
    assert os.listdir(os.fsencode(tmp_path)) == [b"pred-\xff.csv"]
    model = cr.save(nn.Sequential(nn.Linear(2, 2, rng=0)), tmp_path / os.fsdecode(b"m\xfe"))
    assert cr.load(model).get_config() == nn.Sequential(nn.Linear(2, 2, rng=0)).get_config()


def test_the_longest_name_that_is_not_utf8_is_written(tmp_path):
    name = os.fsdecode("é".encode() * 127 + b"\xff")  # 255 bytes, the most a name holds
    files.atomic_write(tmp_path / name, b"data")
    assert (tmp_path / name).read_bytes() == b"data"
    assert len(os.listdir(tmp_path)) == 1


LONE = os.fsdecode(b"scan\xff.png")  # 'scan\udcff.png'
UTF8 = r"expected text UTF-8 can encode, got "


@pytest.mark.parametrize(
    ("extras", "says"),
    [
        (
            {"labels": ["cat", "dog\udcff"]},
            rf"labels expected text, but cannot store the string at labels\.1: {UTF8}'dog\\udcff'",
        ),
        (
            {"metadata": {LONE: 1}},
            rf"metadata expected pure data, but cannot store the key at metadata: {UTF8}'scan",
        ),
        (
            {"metadata": {"files": ["a.png", LONE]}},
            rf"metadata expected pure data, but cannot store the string at metadata\.files\.1: "
            rf"{UTF8}'scan",
        ),
    ],
    ids=["label", "metadata-key", "metadata-value"],
)
def test_a_string_utf8_cannot_encode_is_refused_before_writing(tmp_path, extras, says):
    # save wrote it (JSON escaped it as \udcff), and the safetensors library refused the
    # file ("lone leading surrogate")
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    with pytest.raises(ValueError, match=f"^save: {says}.*the lone surrogate '\\\\udcff'"):
        cr.io.check_extras(model, **extras)
    with pytest.raises(ValueError, match=f"^save: {says}"):
        cr.save(model, tmp_path / "m.safetensors", **extras)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("tensors", "metadata", "says"),
    [
        ({"w\ud800": np.ones(1)}, {}, rf"^cannot store a tensor's name: {UTF8}'w\\ud800'"),
        ({}, {"k\udcff": "v"}, rf"^cannot store a metadata key: {UTF8}'k\\udcff'"),
        ({}, {"k": "v\udcff"}, rf"^cannot store the metadata value at key 'k': {UTF8}'v\\udcff'"),
    ],
    ids=["tensor-name", "metadata-key", "metadata-value"],
)
def test_encode_safetensors_refuses_a_string_utf8_cannot_encode(tensors, metadata, says):
    with pytest.raises(ValueError, match=says):
        files.encode_safetensors(tensors, metadata)


def test_write_tree_refuses_a_key_or_string_utf8_cannot_encode(tmp_path):
    path = tmp_path / "t.safetensors"
    with pytest.raises(ValueError, match=rf"^cannot store the key at a\.0: {UTF8}'w\\udcff'"):
        write_tree(path, {"a": [{"w\udcff": np.ones(2)}]})
    with pytest.raises(ValueError, match=rf"^cannot store the string at a: {UTF8}'x\\udcff'"):
        write_tree(path, {"a": "x\udcff"})
    assert list(tmp_path.iterdir()) == []


def test_text_beyond_ascii_round_trips(tmp_path):
    labels = ["chien 🐶", "Katze — ö"]
    path = cr.save(nn.Sequential(nn.Linear(3, 2, rng=0)), tmp_path / "m.safetensors", labels=labels)
    assert cr.load_bundle(path).labels == labels
