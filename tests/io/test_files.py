"""Pure-data files: safetensors codec, JSON trees, atomic writes, hostile input."""

import json
import os
import pickle
import re
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import files
from chainrule.files import FormatError, read_tree, write_tree

TREE = {
    "weights": np.arange(12, dtype=np.float32).reshape(3, 4),
    "nested": {"v": np.linspace(0, 1, 5), "labels": np.array([3, 1, 2], dtype=np.int64)},
    "list": [1, 2.5, "three", None, True, {"mask": np.array([True, False])}],
    "rng_state": 2**127 + 12345,  # PCG64 states are 128-bit integers
    "empty": np.zeros((0, 3), np.float32),
}


def assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_tree_round_trips_bit_for_bit(tmp_path):
    path = tmp_path / "t.safetensors"
    write_tree(path, TREE)
    assert_same(TREE, read_tree(path))


def test_non_finite_floats_round_trip(tmp_path):
    # JSON has no inf or NaN: a best score still at inf, a dev loss gone NaN
    path = tmp_path / "t.safetensors"
    tree = {"best": float("inf"), "row": [float("-inf"), np.float32("nan"), 0.5]}
    write_tree(path, tree)
    loaded = read_tree(path)
    assert loaded["best"] == float("inf") and loaded["row"][0] == float("-inf")
    assert type(loaded["row"][1]) is float and np.isnan(loaded["row"][1])
    assert loaded["row"][2] == 0.5


def test_a_hostile_non_finite_float_is_a_format_error(tmp_path):
    path = tmp_path / "t.safetensors"
    tree = '{"x": {"__float__": "1e999"}}'
    path.write_bytes(files.encode_safetensors({}, {"chainrule.tree": tree}))
    with pytest.raises(FormatError, match="expected a non-finite float 'inf', '-inf' or 'nan'"):
        read_tree(path)


def test_an_array_whose_dotted_path_is_taken_keeps_its_own_data(tmp_path):
    path = tmp_path / "t.safetensors"
    tree = {"a.b": np.zeros(2), "a": {"b": np.ones(3)}, "s.0": np.full(1, 7.0), "s": [np.eye(2)]}
    write_tree(path, tree)
    assert_same(tree, read_tree(path))


@pytest.mark.parametrize("marker", ["__tensor__", "__float__"])
def test_a_dict_that_would_read_back_as_a_marker_is_refused(tmp_path, marker):
    with pytest.raises(TypeError, match=f"only key is '{marker}' at user: the file uses it"):
        write_tree(tmp_path / "x", {"user": {marker: "inf"}})
    assert not (tmp_path / "x").exists()


def test_loaded_arrays_are_writable_copies(tmp_path):
    path = tmp_path / "t.safetensors"
    write_tree(path, TREE)
    loaded = read_tree(path)
    loaded["weights"][0, 0] = 99.0
    assert read_tree(path)["weights"][0, 0] == 0.0


def test_non_data_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="not pure data"):
        write_tree(tmp_path / "x", {"f": lambda: 0})
    with pytest.raises(TypeError, match="keys must be strings"):
        write_tree(tmp_path / "x", {1: 2})
    assert not (tmp_path / "x").exists()


def test_an_array_of_a_dtype_the_file_cannot_store_is_refused_by_key(tmp_path):
    with pytest.raises(
        TypeError,
        match=r"^cannot store tensor 'a.b' of dtype uint32: expected one of float64, float32, "
        r"float16, int64, int32, int16, int8, uint8, bool$",
    ):
        write_tree(tmp_path / "x", {"a": {"b": np.zeros(2, np.uint32)}})
    assert not (tmp_path / "x").exists()


def test_interoperates_with_the_reference_safetensors_library(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "t.safetensors"
    write_tree(path, TREE)
    theirs = st.load_file(str(path))
    assert np.array_equal(theirs["weights"], TREE["weights"])
    st.save_file({"a": np.ones((2, 2), np.float32)}, str(tmp_path / "ref.safetensors"))
    arrays, meta = files.decode_safetensors((tmp_path / "ref.safetensors").read_bytes())
    assert np.array_equal(arrays["a"], np.ones((2, 2), np.float32)) and meta == {}


def corrupt(tmp_path, blob: bytes):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    return path


def good_blob(tmp_path):
    path = tmp_path / "good.safetensors"
    write_tree(path, TREE)
    return path.read_bytes()


def test_truncated_file_is_rejected(tmp_path):
    blob = good_blob(tmp_path)
    for cut in (0, 5, 20, len(blob) - 1):
        with pytest.raises(FormatError):
            read_tree(corrupt(tmp_path, blob[:cut]))


def test_trailing_bytes_are_rejected(tmp_path):
    with pytest.raises(FormatError, match="trailing bytes"):
        read_tree(corrupt(tmp_path, good_blob(tmp_path) + b"\0" * 8))


def test_pickle_payload_is_rejected_without_being_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    for payload in (pickle.dumps(Boom()), pickle.dumps({"weights": [1, 2]}, protocol=2)):
        with pytest.raises(FormatError):
            read_tree(corrupt(tmp_path, payload))
    assert not (tmp_path / "pwned").exists()


def header_blob(header: dict, data: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + data


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"__metadata__": {"chainrule.tree": "{not json"}}, b"", "not valid JSON"),
        ({"__metadata__": {"other": "x"}}, b"", "not one written by chainrule"),
        ({"w": {"dtype": "OBJ", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "dtype"),
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 16"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "shape"),
        ({"w": {"dtype": "F32", "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}}, b"", "shape"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "gap"),
        ({"w": {"dtype": "F32", "shape": [1]}}, b"", "exactly dtype"),
        ({"__metadata__": {"chainrule.tree": "[1]"}}, b"", "expected a JSON object"),
        (
            {"__metadata__": {"chainrule.tree": '{"a": {"__tensor__": "zz"}}'}},
            b"",
            "missing tensor",
        ),
        ({"w": {"dtype": [], "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, r"dtype \[\]"),
        ({"w": {"dtype": {}, "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, r"dtype \{\}"),
    ],
)
def test_malformed_headers_raise_format_error(tmp_path, header, data, message):
    with pytest.raises(FormatError, match=message):
        read_tree(corrupt(tmp_path, header_blob(header, data)))


def test_integers_beyond_pythons_digit_limit_are_format_errors(tmp_path):
    """Python refuses to parse an integer of more than 4300 digits (a ValueError of its
    own, not a JSONDecodeError): in the header or in the tree, it is a damaged file."""
    huge = "1" * 5000
    head = ('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":' + huge + "}").encode()
    path = corrupt(tmp_path, struct.pack("<Q", len(head)) + head + b"\0" * 4)
    with pytest.raises(FormatError, match=f"{path}: the header is not valid JSON"):
        read_tree(path)
    blob = header_blob({"__metadata__": {"chainrule.tree": '{"step": ' + huge + "}"}})
    path = corrupt(tmp_path, blob)
    with pytest.raises(FormatError, match=f"{path}: the chainrule metadata is not valid JSON"):
        read_tree(path)


def _dtype_list(header):
    header["w"]["dtype"] = []


def _huge_int_in_header(header):
    header["x"] = "@huge@"


def _huge_int_in_tree(header):
    tree = json.loads(header["__metadata__"]["chainrule.tree"])
    tree["step"] = "@huge@"
    header["__metadata__"]["chainrule.tree"] = json.dumps(tree).replace('"@huge@"', "1" * 5000)


@pytest.mark.parametrize("damage", [_dtype_list, _huge_int_in_header, _huge_int_in_tree])
def test_resume_falls_back_past_a_checkpoint_with_a_malformed_header(tmp_path, damage):
    """``load_latest`` skips only FormatError and OSError: any other error from a damaged
    file would stop a resume that an older checkpoint could serve."""
    from chainrule.train.checkpoint import CheckpointDir

    directory = CheckpointDir(tmp_path)
    directory.save({"step": 1, "w": np.ones(3)})
    newest = directory.save({"step": 2, "w": np.full(3, 2.0)})
    blob = newest.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    damage(header)
    head = json.dumps(header).replace('"@huge@"', "1" * 5000).encode()
    newest.write_bytes(struct.pack("<Q", len(head)) + head + blob[8 + n :])
    with pytest.warns(RuntimeWarning, match=f"checkpoint {newest} is unreadable"):
        path, state = directory.load_latest()
    assert path.name == "checkpoint-00000000.safetensors"
    assert state["step"] == 1 and np.array_equal(state["w"], np.ones(3))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_tree(tmp_path / "absent.safetensors")


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from chainrule.files import write_tree
    path = sys.argv[1]
    rng = np.random.default_rng(0)
    big = rng.standard_normal((1000, 1000))
    i = 0
    while True:
        write_tree(path, {"step": i, "w": big + i})
        i += 1
    """
)


def test_sigkill_during_writes_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    write_tree(path, {"step": -1, "w": np.zeros((1000, 1000))})
    big = np.random.default_rng(0).standard_normal((1000, 1000))  # what the writer writes
    rng = np.random.default_rng(1)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        time.sleep(0.3 + rng.random() * 0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        tree = read_tree(path)  # the old file or a new one, never a torn one
        expected = np.zeros((1000, 1000)) if tree["step"] == -1 else big + tree["step"]
        assert np.array_equal(tree["w"], expected)


def test_atomic_writes_get_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")  # 0o666 less the umask (0o644 under the usual 0o022)
    files.atomic_write(tmp_path / "atomic", b"x")  # through a 0o600 temporary file
    assert (tmp_path / "atomic").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_an_overwrite_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o600)
    files.atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o600


def test_atomic_writes_leave_the_process_umask_alone(tmp_path, monkeypatch):
    """Setting the umask to read it races with other threads creating files."""

    def umask(mask):
        raise AssertionError("atomic_write changed the umask")

    monkeypatch.setattr(os, "umask", umask)
    files.atomic_write(tmp_path / "new", b"x")
    assert (tmp_path / "new").read_bytes() == b"x"


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("fsync", OSError(28, "No space left on device")),
        ("replace", OSError(18, "Invalid cross-device link")),
        ("fsync", KeyboardInterrupt()),  # Ctrl-C mid-write: cleaned up as well
    ],
)
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path, monkeypatch, step, error
):
    path = tmp_path / "model.bin"
    files.atomic_write(path, b"old")

    def fail(*args):
        assert [p.name for p in tmp_path.iterdir()] != [path.name]  # the temporary file exists
        raise error

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(type(error)):
        files.atomic_write(path, b"new" * 1000)
    assert [p.name for p in tmp_path.iterdir()] == [path.name] and path.read_bytes() == b"old"


def test_a_symbolic_link_keeps_pointing_at_the_new_content(tmp_path):
    target, link = tmp_path / "target", tmp_path / "link"
    target.write_bytes(b"old")
    link.symlink_to(target)
    files.atomic_write(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_a_name_of_the_longest_legal_length_can_be_written(tmp_path):
    path = tmp_path / ("m" * 255)
    files.atomic_write(path, b"x")
    assert path.read_bytes() == b"x" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_path_that_cannot_hold_a_file_is_refused_by_name(tmp_path):
    (tmp_path / "file").write_bytes(b"mine")
    with pytest.raises(NotADirectoryError, match=f"cannot write .*: {tmp_path / 'file'} is a file"):
        files.atomic_write(tmp_path / "file" / "m.safetensors", b"x")
    with pytest.raises(IsADirectoryError, match=f"cannot write {tmp_path}: {tmp_path} is a dir"):
        files.atomic_write(tmp_path, b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"mine")
    _deny(monkeypatch, path)  # root may write anything
    assert files.file_blocker(path) == f"{path} is read-only"
    with pytest.raises(PermissionError, match=f"cannot write {path}: {path} is read-only"):
        files.atomic_write(path, b"x")
    assert path.read_bytes() == b"mine" and [p.name for p in tmp_path.iterdir()] == [path.name]


def _deny(monkeypatch, *paths):
    """``os.access`` says no for ``paths`` (this process, as root, may write anything)."""
    real = os.access
    denied = {Path(p) for p in paths}
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) not in denied and real(p, mode))


def test_a_file_in_a_folder_this_process_cannot_write_is_refused_before_anything_is_made(
    tmp_path, monkeypatch
):
    # the pre-checks passed, and the write failed after the work it was to save
    folder = tmp_path / "ro"
    folder.mkdir()
    _deny(monkeypatch, folder)
    target = folder / "new" / "m.safetensors"
    assert files.file_blocker(target) == f"{folder} is not writable"
    with pytest.raises(PermissionError, match=f"cannot write {target}: {folder} is not writable"):
        files.atomic_write(target, b"x")
    with pytest.raises(PermissionError, match=f"{folder} is not writable"):
        write_tree(folder / "t.safetensors", {"a": 1})
    assert list(folder.iterdir()) == []
    says = f"expected a directory or a path where one can be made, but {folder} is not writable"
    assert files.directory_blocker(folder) == says
    assert files.directory_blocker(folder / "new" / "deeper") == says
    assert files.directory_blocker(folder, writable=False) is None
    assert files.directory_blocker(tmp_path) is None and files.file_blocker(tmp_path / "f") is None


def _kind(path) -> str:
    mode = os.lstat(path).st_mode
    return "fifo" if stat.S_ISFIFO(mode) else "char" if stat.S_ISCHR(mode) else "other"


def test_a_fifo_is_refused_before_writing_and_stays_a_fifo(tmp_path):
    # it was replaced by a regular file (its reader hung), also through a link to it
    fifo, link = tmp_path / "out.fifo", tmp_path / "link"
    os.mkfifo(fifo)
    link.symlink_to(fifo)
    says = f"{fifo} is a FIFO (named pipe), not a regular file"
    assert files.file_blocker(fifo) == files.file_blocker(link) == says
    for path in (fifo, link):
        with pytest.raises(FileExistsError, match=rf"cannot write {fifo}: {re.escape(says)}"):
            files.atomic_write(path, b"x")
    with pytest.raises(FileExistsError, match=re.escape(says)):
        write_tree(fifo, {"a": 1})
    assert _kind(fifo) == "fifo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "out.fifo"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_a_character_device_is_refused_and_stays_a_device(tmp_path):
    # as root, `predict -o /dev/null` replaced the system's null device with a CSV
    null = tmp_path / "null"  # a copy of /dev/null: the real one is not to be touched
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    says = f"{null} is a character device, not a regular file"
    assert files.file_blocker(null) == says
    with pytest.raises(FileExistsError, match=f"cannot write {null}: {says}"):
        files.atomic_write(null, b"x")
    assert _kind(null) == "char" and [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_str_path_ending_in_a_separator_is_not_written_as_a_file(tmp_path):
    # Path drops the separator: "models/" was written as a file named models
    path = f"{tmp_path}/models/"
    assert files.file_blocker(path) == f"{path} ends with '/' and so names a directory"
    for owner, write in (
        ("atomic_write", lambda p: files.atomic_write(p, b"x")),
        ("write_tree", lambda p: write_tree(p, {"a": 1})),
    ):
        with pytest.raises(ValueError, match=f"^{owner}: path expected a file path, got "):
            write(path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", ["text", [1, 2], None])
def test_data_that_is_not_bytes_is_refused_before_any_folder_is_made(tmp_path, data):
    # the folders were made, then writing the temporary file failed
    expected = rf"atomic_write: data expected bytes, got {type(data).__name__}"
    with pytest.raises(TypeError, match=expected):
        files.atomic_write(tmp_path / "new" / "f.txt", data)
    assert list(tmp_path.iterdir()) == []


def test_bytes_like_data_is_written(tmp_path):
    for data in (bytearray(b"ab"), memoryview(b"ab")):
        files.atomic_write(tmp_path / "f.bin", data)
        assert (tmp_path / "f.bin").read_bytes() == b"ab"


@pytest.mark.parametrize("tree", [[1, 2], "tree", None])
def test_a_tree_that_is_not_a_dict_is_refused_before_anything_is_written(tmp_path, tree):
    # the file was written and read_tree refused it: "expected a JSON object, got list"
    with pytest.raises(
        TypeError, match=rf"write_tree: tree expected a dict, got {type(tree).__name__}"
    ):
        write_tree(tmp_path / "t.safetensors", tree)
    assert list(tmp_path.iterdir()) == []


NOT_PATHS = [123, None, b"f.bin", ["f.bin"]]
PATH_TAKERS = {
    "atomic_write": lambda path: files.atomic_write(path, b"x"),
    "write_tree": lambda path: write_tree(path, {"a": np.ones(2)}),
    "read_tree": read_tree,
}


@pytest.mark.parametrize("owner", PATH_TAKERS)
@pytest.mark.parametrize("path", NOT_PATHS, ids=lambda p: type(p).__name__)
def test_a_path_that_is_not_a_path_is_refused_by_name(tmp_path, monkeypatch, owner, path):
    # pathlib's "argument should be a str or an os.PathLike object ...", naming nothing
    monkeypatch.chdir(tmp_path)
    expected = rf"{owner}: path expected a path \(str or os.PathLike\), got {type(path).__name__}"
    with pytest.raises(TypeError, match=expected):
        PATH_TAKERS[owner](path)
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_refused_as_one(tmp_path):
    # "FileNotFoundError: no such file" for a directory that exists
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path}: expected a file, got a directory$"):
        read_tree(tmp_path)


def test_an_integer_json_cannot_read_back_is_refused_before_writing(tmp_path):
    # json.dumps raised its own "Exceeds the limit (4300 digits)", naming no key
    path = tmp_path / "t.safetensors"
    write_tree(path, {"step": 10**4300 - 1})  # 4300 digits: the most that reads back
    assert read_tree(path)["step"] == 10**4300 - 1
    for huge in (10**4300, -(10**4300)):
        with pytest.raises(
            ValueError, match=r"^cannot store an integer of more than 4300 digits at a\.0: "
        ):
            write_tree(path, {"a": [huge]})
    assert read_tree(path)["step"] == 10**4300 - 1


def _nested(depth: int) -> list:
    """Lists nested ``depth`` deep, the outermost counting one."""
    node: list = []
    for _ in range(depth - 1):
        node = [node]
    return node


def test_a_tree_nested_deeper_than_max_depth_is_refused_before_writing(tmp_path):
    # an untyped RecursionError at ~500 deep, naming nothing; now one documented limit
    path = tmp_path / "t.safetensors"
    deepest = {"a": _nested(files.tree.MAX_DEPTH - 1)}
    write_tree(path, deepest)
    assert read_tree(path) == deepest
    says = (
        r"^cannot store dicts and lists nested more than 100 deep \(the root counting one\) "
        r"at a(\.0){99}: "
    )
    with pytest.raises(ValueError, match=says):
        write_tree(path, {"a": _nested(files.tree.MAX_DEPTH)})
    assert read_tree(path) == deepest


def test_a_tree_that_holds_itself_is_refused_before_writing(tmp_path):
    # RecursionError, naming nothing
    tree: dict = {"config": {}}
    tree["config"]["parent"] = tree
    with pytest.raises(
        ValueError, match=r"nested more than 100 deep .* at config\.parent\.config\."
    ):
        write_tree(tmp_path / "t.safetensors", tree)
    assert list(tmp_path.iterdir()) == []


def test_an_array_named_like_the_headers_metadata_is_refused_before_a_file_is_replaced(tmp_path):
    # the file was written (replacing a good one) and read_tree refused it
    path = tmp_path / "t.safetensors"
    write_tree(path, {"a": 1})
    with pytest.raises(ValueError, match=r"^cannot store tensor '__metadata__': expected another"):
        write_tree(path, {"__metadata__": np.zeros(3)})
    assert read_tree(path) == {"a": 1}


@pytest.mark.parametrize(
    ("tensors", "metadata", "says"),
    [
        (
            {"a": np.zeros(1)},
            {"k": 1},
            r"metadata expected a dict of str to str, got str 'k': int 1",
        ),
        ({}, [("k", "v")], r"metadata expected a dict of str to str, got list"),
        ({1: np.zeros(1)}, {}, r"^cannot store tensor 1: expected a str name, got int$"),
    ],
    ids=["int-value", "list", "int-name"],
)
def test_encode_safetensors_refuses_what_a_reader_would_refuse(tensors, metadata, says):
    # a value was written as a JSON number, which decode refuses; an int name read back a str
    with pytest.raises(TypeError, match=says):
        files.encode_safetensors(tensors, metadata)


def test_a_header_bigger_than_readers_take_is_refused_before_writing(tmp_path, monkeypatch):
    # the file was written, and every read refused its header as too long
    monkeypatch.setattr(files.safetensors, "_MAX_HEADER", 1024)
    path = tmp_path / "t.safetensors"
    write_tree(path, {"losses": [0.5] * 100})
    with pytest.raises(
        ValueError, match=r"^cannot store a header of \d+ bytes: expected at most 1024"
    ):
        write_tree(path, {"losses": [0.5] * 300})
    assert read_tree(path) == {"losses": [0.5] * 100}


def test_a_masked_array_is_refused_before_writing(tmp_path):
    # it was written without its mask and read back as a plain array
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(
        TypeError, match=r"^cannot store tensor 'x' of type MaskedArray: expected a plain"
    ):
        write_tree(tmp_path / "t.safetensors", {"x": masked})
    assert list(tmp_path.iterdir()) == []


def test_a_tensor_nothing_refers_to_is_refused_before_any_tensor_is_copied(
    tmp_path, no_tensor_copies
):
    # it was accepted silently, and copied into memory though nothing could reach it
    tree = '{"a": {"__tensor__": "a"}}'
    blob = files.encode_safetensors(
        {"a": np.ones(2), "extra": np.zeros(1000)}, {"chainrule.tree": tree}
    )
    path = corrupt(tmp_path, blob)

    says = (
        r"expected every tensor to be referred to by the chainrule tree, got 1 that are not: "
        r"\['extra'\]"
    )
    with pytest.raises(FormatError, match=f"^{re.escape(str(path))}: {says}$"):
        read_tree(path)


def test_overlapping_tensors_are_refused_before_any_is_copied(tmp_path):
    # 200 tensors each spanning the whole 1 MB data were all copied before the overlap was found
    import tracemalloc

    entry = {"dtype": "U8", "shape": [2**20], "data_offsets": [0, 2**20]}
    path = corrupt(tmp_path, header_blob({f"t{i}": entry for i in range(200)}, b"\0" * 2**20))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="gap or overlap"):
            read_tree(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_other_entries_of_the_safetensors_metadata_are_ignored(tmp_path):
    # safetensors leaves __metadata__ free for any tool to add to (a license, a format tag)
    path = tmp_path / "t.safetensors"
    write_tree(path, {"w": np.ones(2)})
    arrays, metadata = files.decode_safetensors(path.read_bytes())
    path.write_bytes(files.encode_safetensors(arrays, {**metadata, "format": "np"}))
    assert_same(read_tree(path), {"w": np.ones(2)})
