"""``chainrule predict``: the output file is checked before any work (an existing one is
replaced only with ``--force``) and written atomically; a model file whose labels do not fit
its outputs (as ``save`` once let through) still loads, and predict refuses it before reading
the input."""

import io
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main


@pytest.fixture
def model_and_input(tmp_path):
    model = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", labels=["a", "b"])
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float32))
    return model, tmp_path / "x.npy"


def test_an_output_that_cannot_be_a_file_exits_2_before_predicting(
    capsys, monkeypatch, model_and_input, tmp_path
):
    from chainrule.cli import commands

    def load_model(path):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(commands, "load_model", load_model)
    model, x = model_and_input
    (tmp_path / "notes").write_text("mine")
    assert main(["predict", str(model), str(x), "-o", str(tmp_path / "notes" / "p.csv")]) == 2
    expected = f"--output {tmp_path / 'notes' / 'p.csv'}: expected a file path, but "
    assert expected + f"{tmp_path / 'notes'} is a file" in capsys.readouterr().err
    assert main(["predict", str(model), str(x), "-o", str(tmp_path)]) == 2
    expected = f"--output {tmp_path}: expected a file path, but {tmp_path} is a directory"
    assert expected in capsys.readouterr().err


def _no_model(monkeypatch):
    from chainrule.cli import commands

    def load_model(path):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(commands, "load_model", load_model)


@pytest.mark.parametrize("denied", ["p.csv", "."])
def test_an_output_this_process_may_not_write_exits_2_before_predicting(
    capsys, monkeypatch, model_and_input, tmp_path, denied
):
    # the model ran, then the write failed: exit 1 with a PermissionError
    model, x = model_and_input
    out = tmp_path / "p.csv"
    out.write_text("earlier predictions\n")
    _no_model(monkeypatch)
    real, blocked = os.access, tmp_path / denied  # as root, this process may write anything
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != blocked and real(p, mode))
    assert main(["predict", str(model), str(x), "-o", str(out)]) == 2
    why = f"{out} is read-only" if denied == "p.csv" else f"{tmp_path} is not writable"
    assert f"--output {out}: expected a file path, but {why}" in capsys.readouterr().err
    assert out.read_text() == "earlier predictions\n"


def test_an_output_naming_a_directory_by_its_separator_exits_2(
    capsys, monkeypatch, model_and_input, tmp_path
):
    # "-o out/" wrote a file named out
    model, x = model_and_input
    _no_model(monkeypatch)
    out = f"{tmp_path}/out/"
    assert main(["predict", str(model), str(x), "-o", out]) == 2
    says = f"--output {out}: expected a file path, but {out} ends with '/' and so names a dir"
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _special(kind, path):
    if kind == "fifo":
        os.mkfifo(path)
    else:  # a copy of /dev/null: the real one is not to be touched
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("fifo", "is a FIFO (named pipe), not a regular file"),
        pytest.param(
            "char",
            "is a character device, not a regular file",
            marks=pytest.mark.skipif(
                not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root"
            ),
        ),
    ],
)
def test_an_output_that_is_a_special_file_exits_2_and_keeps_its_type(
    capsys, monkeypatch, model_and_input, tmp_path, kind, says
):
    # -o /dev/null (as root) or a FIFO was replaced by a regular file holding the CSV
    model, x = model_and_input
    out = tmp_path / "out"
    _special(kind, out)
    _no_model(monkeypatch)
    assert main(["predict", str(model), str(x), "-o", str(out)]) == 2
    assert f"--output {out}: expected a file path, but {out} {says}" in capsys.readouterr().err
    mode = os.lstat(out).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)


def test_output_into_missing_folders_makes_them_as_bench_json_does(model_and_input, tmp_path):
    """predict -o refused a missing folder that bench --json (and atomic_write) makes."""
    model, x = model_and_input
    out = tmp_path / "a" / "missing" / "p.csv"
    assert main(["predict", str(model), str(x), "-o", str(out), "-q"]) == 0
    assert out.read_text().startswith("index,prediction,p_a,p_b\n")


def test_evaluate_on_mnist_test_checks_the_models_width_before_loading_mnist(
    capsys, monkeypatch, model_and_input
):
    import chainrule.data

    def load_mnist(*args, **kwargs):
        raise AssertionError("MNIST was loaded for a model that cannot take it")

    monkeypatch.setattr(chainrule.data, "load_mnist", load_mnist)
    model, _ = model_and_input
    assert main(["evaluate", str(model), "--data", "mnist-test"]) == 2
    assert (
        "MNIST test (10,000): the model expects 2 features per sample, the input has 784"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize("link", [False, True], ids=["file", "link-to-file"])
def test_an_existing_output_is_refused_before_predicting_and_kept(
    capsys, monkeypatch, model_and_input, tmp_path, link
):
    # it was replaced without a word: the user's file was lost
    model, x = model_and_input
    saved = tmp_path / "mine.csv"
    saved.write_text("my notes\n")
    out = tmp_path / "p.csv" if link else saved
    if link:
        out.symlink_to(saved)
    _no_model(monkeypatch)
    assert main(["predict", str(model), str(x), "-o", str(out)]) == 2
    assert (
        f"error: --output {out}: expected a new file, but {out} exists; pass --force to "
        "replace it, or choose another FILE\n"
    ) in capsys.readouterr().err
    assert saved.read_text() == "my notes\n" and out.is_symlink() is link


def test_force_without_an_output_is_refused(capsys, monkeypatch, model_and_input):
    model, x = model_and_input
    _no_model(monkeypatch)
    assert main(["predict", str(model), str(x), "--force"]) == 2
    says = "--force: expected with -o FILE, which it lets replace a file, got no -o"
    assert says in capsys.readouterr().err


def test_force_replaces_an_existing_output_whole(model_and_input, tmp_path):
    model, x = model_and_input
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "pred.csv").write_text("old predictions\n")
    args = ["predict", str(model), str(x), "-o", str(out_dir / "pred.csv"), "--force", "-q"]
    assert main(args) == 0
    lines = (out_dir / "pred.csv").read_text().splitlines()
    assert lines[0] == "index,prediction,p_a,p_b" and len(lines) == 5
    assert [p.name for p in out_dir.iterdir()] == ["pred.csv"]  # no temporary file left


def test_labels_that_do_not_fit_the_outputs_load_but_predict_refuses_them(
    capsys, model_and_input, tmp_path
):
    from chainrule.files import read_tree, write_tree

    model, x = model_and_input
    tree = read_tree(model)
    tree["labels"] = ["a", "b", "c"]
    write_tree(model, tree)
    assert cr.load_bundle(model).labels == ["a", "b", "c"]  # the weights stay the user's
    assert main(["info", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "not-read.npy")]) == 1
    err = capsys.readouterr().err
    assert "FormatError" in err and "expected 2 labels, one per output of the model, got 3" in err


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_sequential_model_predicts_and_evaluates(capsys, tmp_path):
    """Not only MLPs: the input width and dtype come from the first Linear, the output
    width from the last, the output kind from the last layer."""
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    path = cr.save(seq, tmp_path / "seq.safetensors")
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    expected = _softmax(cr.predict(seq, X).astype(np.float64))
    np.testing.assert_allclose([[float(p) for p in r[2:]] for r in rows], expected, atol=1e-6)
    assert [int(r[1]) for r in rows] == list(expected.argmax(axis=1))
    np.savez(tmp_path / "d.npz", X=X, y=expected.argmax(axis=1))
    assert main(["evaluate", str(path), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    assert '"accuracy": 1.0' in capsys.readouterr().out

    sig = nn.Sequential(nn.Linear(2, 1, rng=0, dtype="float64"), nn.Sigmoid())
    path = cr.save(sig, tmp_path / "sig.safetensors")
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    p1 = cr.predict(sig, X.astype(np.float64))[:, 0]
    np.testing.assert_allclose([float(r[3]) for r in rows], p1, atol=1e-6)
    assert [int(r[1]) for r in rows] == list((p1 > 0.5).astype(int))


def test_probabilities_followed_by_an_identity_are_not_softmaxed_again(capsys, tmp_path):
    # the last layer, an Identity, made the outputs logits: p was softmax(softmax(z))
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Softmax(), nn.Identity(), nn.Dropout(0.5))
    path = cr.save(seq, tmp_path / "seq.safetensors")
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    expected = cr.predict(seq, X).astype(np.float64)
    np.testing.assert_allclose([[float(p) for p in r[2:]] for r in rows], expected, atol=1e-6)


def test_bce_with_logits_probabilities_are_its_sigmoids_normalized(capsys, tmp_path):
    """They were the softmax of the logits, as for cross_entropy: bce_with_logits applies
    a sigmoid to each output, as a sigmoid output layer with bce does."""
    mlp = nn.MLP([2, 3, 2], seed=0)
    path = cr.save(mlp, tmp_path / "m.safetensors", metadata={"loss": "bce_with_logits"})
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    s = 1.0 / (1.0 + np.exp(-cr.predict(mlp, X).astype(np.float64)))
    expected = s / s.sum(axis=1, keepdims=True)
    np.testing.assert_allclose([[float(p) for p in r[2:]] for r in rows], expected, atol=1e-6)
    assert not np.allclose(expected, _softmax(cr.predict(mlp, X).astype(np.float64)), atol=1e-3)


def test_a_model_without_a_linear_layer_is_a_usage_error(capsys, tmp_path):
    path = cr.save(nn.Sequential(nn.ReLU()), tmp_path / "relu.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 2
    assert "expected a model with a Linear layer" in capsys.readouterr().err


# -- inputs ---------------------------------------------------------------------------------
def _predictions(capsys, model, path) -> list[str]:
    assert main(["predict", str(model), str(path)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()[1:]


def test_a_csv_with_a_byte_order_mark_keeps_its_first_row(capsys, model_and_input, tmp_path):
    """Excel's "CSV UTF-8" starts with U+FEFF, which made the first row a 'header'."""
    model, _ = model_and_input
    rows = "0.5,0.2\r\n1.0,-0.3\r\n-1.0,0.4\r\n"
    (tmp_path / "plain.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "bom.csv").write_text(rows, encoding="utf-8-sig")
    plain = _predictions(capsys, model, tmp_path / "plain.csv")
    assert len(plain) == 3
    assert _predictions(capsys, model, tmp_path / "bom.csv") == plain
    (tmp_path / "header.csv").write_text("\ufeffx1,x2\r\n" + rows, encoding="utf-8")
    assert _predictions(capsys, model, tmp_path / "header.csv") == plain


def _header_alone(line: int, cells: str) -> str:
    return (
        f"line {line} was taken as a header, as none of its cells {cells} is a number, and no "
        "data rows follow it"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,abc\n2,3\n", "expected a number at line 1, column 2, got 'abc'"),
        ("x1,x2\n1,2\n\n3,\n", "expected a number at line 4, column 2, got ''"),
        ("a,b\n1,2\n3\n", "expected 2 cells on every line (as on line 2), got 1 on line 3"),
        # a header alone was "expected at least one sample, got an empty array (0, 0)"
        ("0.5;0.2\n", _header_alone(1, "['0.5;0.2']")),
        ('"0.5,0.2\n0.1,0.3\n', _header_alone(1, "['0.5,0.2\\n0.1,0.3\\n']")),
        ("\nx1,x2\n", _header_alone(2, "['x1', 'x2']")),
    ],
    ids=["number-and-word", "empty-cell", "ragged", "semicolons", "unbalanced-quote",
         "header-only"],
)  # fmt: skip
def test_a_csv_row_that_is_not_numbers_is_refused(capsys, model_and_input, tmp_path, text, message):
    """A first row with a number in it is data, never a header to drop; a header alone is
    said to be one."""
    model, _ = model_and_input
    (tmp_path / "bad.csv").write_text(text)
    assert main(["predict", str(model), str(tmp_path / "bad.csv")]) == 2
    assert f"bad.csv: {message}" in capsys.readouterr().err


def test_a_csv_row_over_lines_is_named_by_its_first_line(capsys, model_and_input, tmp_path):
    model, _ = model_and_input
    (tmp_path / "q.csv").write_text('1,2\n"x\ny",4\n')
    assert main(["predict", str(model), str(tmp_path / "q.csv")]) == 2
    assert "q.csv: expected a number at line 2, column 1" in capsys.readouterr().err


def test_a_csv_cell_beyond_the_csv_modules_limit_is_a_usage_error(
    capsys, model_and_input, tmp_path
):
    # a bare _csv.Error, exit 1
    model, _ = model_and_input
    (tmp_path / "long.csv").write_text("1,2\n3," + "9" * 200_000 + "\n")
    assert main(["predict", str(model), str(tmp_path / "long.csv")]) == 2
    assert (
        "long.csv: expected CSV the csv module reads, got an error on line 2: field larger "
        "than field limit" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("x.npy", "nan at row 2, column 1 (2 in all)"),
        ("x.csv", "nan at line 4, column 2 (2 in all)"),
    ],
)
def test_non_finite_inputs_are_refused_naming_where(capsys, tmp_path, name, where):
    """The model has no scaler, which would have refused them: NaN probabilities."""
    model = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors")
    X = np.zeros((4, 2), np.float32)
    X[2, 1], X[3, 0] = np.nan, np.inf
    if name.endswith(".npy"):
        np.save(tmp_path / name, X)
    else:
        np.savetxt(tmp_path / name, X, delimiter=",", header="a,b", comments="")
    assert main(["predict", str(model), str(tmp_path / name)]) == 2
    assert f"{name}: expected finite numbers within the range of float32, got {where}" in (
        capsys.readouterr().err
    )


def test_values_beyond_the_models_dtype_are_refused(capsys, model_and_input, tmp_path):
    model, _ = model_and_input
    np.save(tmp_path / "big.npy", np.array([[1.0, 1e300]]))
    assert main(["predict", str(model), str(tmp_path / "big.npy")]) == 2
    assert "got 1e+300 at row 0, column 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((0, 2), np.float32), "expected at least one sample, got an empty array (0, 2)"),
        (np.array([["a", "b"]]), "expected numbers, got an array of dtype <U1"),
    ],
)
def test_empty_or_non_numeric_input_is_refused(capsys, model_and_input, tmp_path, array, message):
    model, _ = model_and_input
    np.save(tmp_path / "in.npy", array)
    assert main(["predict", str(model), str(tmp_path / "in.npy")]) == 2
    assert f"in.npy: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "y", "message"),
    [
        ("d.csv", [0, 1.7, 1], "got 1.7 at line 3"),
        ("d.npz", [0, 1, 0.5], "got 0.5 at row 2"),
        ("d.npz", [0, -1, 1], "got -1 at row 1"),
        ("d.npz", [0, 1, 2], "got 2 at row 2"),
    ],
)
def test_labels_that_are_not_classes_are_refused(
    capsys, model_and_input, tmp_path, name, y, message
):
    """They were truncated to integers (1.7 counted as class 1)."""
    model, _ = model_and_input
    X = np.zeros((3, 2))
    if name.endswith(".csv"):
        table = np.column_stack([X, y])
        np.savetxt(tmp_path / name, table, delimiter=",", header="a,b,y", comments="")
    else:
        np.savez(tmp_path / name, X=X, y=np.array(y))
    assert main(["evaluate", str(model), "--data", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert f"{name}: expected class labels, whole numbers from 0 to 1, {message}" in err


def test_an_npz_without_x_and_y_is_not_called_damaged(capsys, model_and_input, tmp_path):
    model, _ = model_and_input
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)))
    assert main(["evaluate", str(model), "--data", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'd.npz'}: expected arrays named X and y, found ['X']\n" in err
    assert "damaged" not in err


def test_one_label_per_sample(capsys, model_and_input, tmp_path):
    model, _ = model_and_input
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.array([0, 1]))
    assert main(["evaluate", str(model), "--data", str(tmp_path / "d.npz")]) == 2
    assert "d.npz: expected 3 labels, one per sample, got 2" in capsys.readouterr().err


def _object_npz(path):
    np.savez(path, X=np.array([{"a": 1}], dtype=object), y=np.array([1]))


def _reading(command: str, model, path) -> list[str]:
    """The arguments of ``command`` (predict or evaluate) reading the array file ``path``."""
    if command == "predict":
        return [command, str(model), str(path)]
    return [command, str(model), "--data", str(path)]


@pytest.mark.parametrize(
    ("command", "name", "write", "message"),
    [
        ("predict", "in.npy", lambda p: p.write_text("garbage"), "not a .npy file"),
        ("evaluate", "in.npz", lambda p: p.write_text("garbage"), "not a .npz file"),
        (
            "predict",
            "in.npy",
            lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
            "holds Python objects, which chainrule never unpickles",
        ),
        ("evaluate", "in.npz", _object_npz, "holds Python objects"),
        ("predict", "in.npy", lambda p: p.write_bytes(b"\x93NUMPY\x01\x00zz"), "a damaged .npy"),
        ("predict", "in-idx3-ubyte", lambda p: p.write_text("junkjunkjunk"), "bad magic number"),
        (
            "predict",
            "in-idx3-ubyte.gz",
            lambda p: p.write_bytes(b"\x1f\x8b\x08junk"),
            "corrupt gzip",
        ),
    ],
)
def test_a_file_numpy_cannot_read_without_pickle_is_a_usage_error(
    capsys, model_and_input, tmp_path, command, name, write, message
):
    """NumPy's message suggested loading it with allow_pickle=True, and the exit was 1."""
    model, _ = model_and_input
    path = tmp_path / name
    write(path)
    assert main(_reading(command, model, path)) == 2
    err = capsys.readouterr().err
    assert f"{name}: {message}" in err and "allow_pickle" not in err


# -- uint8 pixels -------------------------------------------------------------------------------
@pytest.fixture
def pixels(tmp_path):
    """A model on 4 inputs and uint8 pixels for it, with the [0, 1] floats training makes of
    them (``load_mnist``: divided by 255 into float32)."""
    model = cr.save(nn.MLP([4, 3, 2], seed=0), tmp_path / "m.safetensors")
    raw = np.random.default_rng(0).integers(0, 256, (6, 2, 2), dtype=np.uint8)
    return model, raw, np.divide(raw, np.float32(255.0), dtype=np.float32)


@pytest.mark.parametrize("form", ["npy", "idx", "idx.gz"])
def test_uint8_pixels_are_divided_by_255_as_in_training(capsys, tmp_path, pixels, form):
    """A .npy of uint8 pixels went in unscaled (0-255) where IDX was divided by 255."""
    from chainrule.data import write_idx

    model, raw, scaled = pixels
    np.save(tmp_path / "scaled.npy", scaled)
    expected = _predictions(capsys, model, tmp_path / "scaled.npy")
    path = tmp_path / f"raw.{form}"
    if form == "npy":
        np.save(path, raw)
    else:
        write_idx(path, raw, compress=form.endswith(".gz"))
    assert _predictions(capsys, model, path) == expected
    np.save(tmp_path / "unscaled.npy", raw.astype(np.float32))  # what it was given
    assert _predictions(capsys, model, tmp_path / "unscaled.npy") != expected


@pytest.mark.parametrize("form", ["npz", "npy"])
def test_evaluate_divides_uint8_pixels_by_255_but_not_their_labels(capsys, tmp_path, pixels, form):
    model, raw, scaled = pixels
    y = np.array([0, 1, 1, 0, 1, 0], np.uint8)

    def results(X, name):
        X = X.reshape(len(X), -1)
        if form == "npz":
            np.savez(tmp_path / name, X=X, y=y)
        else:
            np.save(tmp_path / name, np.column_stack([X, y.astype(X.dtype)]))
        assert main(["evaluate", str(model), "--data", str(tmp_path / name), "--json"]) == 0
        return capsys.readouterr().out

    expected = results(scaled, f"scaled.{form}")
    assert '"n": 6' in expected
    assert results(raw, f"raw.{form}") == expected
    assert results(raw.astype(np.float32), f"unscaled.{form}") != expected


def test_other_integer_arrays_are_taken_as_they_are(capsys, tmp_path, pixels):
    model, raw, _ = pixels
    np.save(tmp_path / "int16.npy", raw.astype(np.int16))
    np.save(tmp_path / "float.npy", raw.astype(np.float32))
    assert _predictions(capsys, model, tmp_path / "int16.npy") == _predictions(
        capsys, model, tmp_path / "float.npy"
    )


def _with_labels(path, labels):
    """Rewrite the model file's labels byte by byte, as a file of an earlier chainrule
    held them (one whose save let lone surrogates through)."""
    import json
    import struct

    blob = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    tree = json.loads(header["__metadata__"]["chainrule.tree"])
    tree["labels"] = labels
    header["__metadata__"]["chainrule.tree"] = json.dumps(tree)
    head = json.dumps(header).encode("ascii")
    head += b" " * (-len(head) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(head)) + head + blob[8 + n :])


@pytest.mark.parametrize("label", ["b\udcff", "b\ud800"])
def test_labels_with_lone_surrogates_are_written_escaped(cli, model_and_input, tmp_path, label):
    # UTF-8 cannot encode them: the CSV, on stdout and in -o FILE, was a bare
    # UnicodeEncodeError after the predictions were made
    model, x = model_and_input
    _with_labels(model, ["a", label])
    header = f"index,prediction,p_a,p_b\\u{ord(label[1]):x}\n"
    result = cli("predict", model, x)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(header)
    result = cli("predict", model, x, "-o", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.csv").read_text(encoding="utf-8").startswith(header)


def _huge_header(f):
    """An .npy header declaring 80 TB of float64 and no data after it."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**6)}
    np.lib.format.write_array_header_1_0(f, header)


def _huge_npy(path):
    with path.open("wb") as f:
        _huge_header(f)


def _huge_npz(compression):
    def write(path):
        data = io.BytesIO()
        _huge_header(data)
        with zipfile.ZipFile(path, "w", compression) as archive:
            archive.writestr("X.npy", data.getvalue())
            archive.writestr("y.npy", data.getvalue())

    return write


def _forged_npz(path):
    """A deflated member whose zip entries declare 4 GB uncompressed: it holds at most
    what its 100 or so compressed bytes expand to."""
    _huge_npz(zipfile.ZIP_DEFLATED)(path)
    blob = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = blob.find(signature)
        while at >= 0:
            blob[at + offset : at + offset + 4] = (2**32 - 2).to_bytes(4, "little")
            at = blob.find(signature, at + 1)
    path.write_bytes(blob)


@pytest.mark.parametrize(
    ("command", "name", "write"),
    [
        ("predict", "huge.npy", _huge_npy),
        ("evaluate", "huge.npz", _huge_npz(zipfile.ZIP_STORED)),
        ("evaluate", "huge.npz", _huge_npz(zipfile.ZIP_DEFLATED)),
        ("evaluate", "huge.npz", _forged_npz),
    ],
)
def test_a_header_declaring_more_than_the_file_holds_is_refused_before_allocating(
    capsys, model_and_input, tmp_path, command, name, write
):
    # NumPy allocated the declared array first: a bare MemoryError
    model, _ = model_and_input
    path = tmp_path / name
    write(path)
    assert main(_reading(command, model, path)) == 2
    err = capsys.readouterr().err
    member = "" if name.endswith(".npy") else "member 'X.npy': "
    assert f"{name}: {member}a damaged or truncated file: its header declares an array of " in err
    assert "shape (10000000, 1000000) and dtype float64, 80,000,000,000,000 bytes" in err
    # what the file holds, or a member's compressed data expands to: not the 4 GB forged
    assert int(re.search(r"but at most ([\d,]+) follow it", err)[1].replace(",", "")) < 10**6
