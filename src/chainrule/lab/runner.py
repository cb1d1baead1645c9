"""Run lab experiments in number order, survive failures, and write the report.

An experiment that raises does not stop the others: it becomes a failed section of the
report carrying its traceback, so one broken claim never hides the rest.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from chainrule import _checks
from chainrule.files import directory_blocker, file_blocker
from chainrule.lab.base import Experiment, Result, check_preset
from chainrule.lab.plain import plain_data
from chainrule.lab.report import write_report
from chainrule.train.diagnostics import GradientWarning

_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Outcome:
    """One experiment's run: its result, or the error it raised, and how long it took.

    ``status`` is ``"reproduced"``, ``"not reproduced"`` or ``"error"``. ``outdir`` (the
    experiment's output directory) is kept as a ``Path``; ``TypeError`` when it is not a
    ``str`` or ``os.PathLike``.
    """

    experiment: Experiment
    preset: str
    seconds: float
    result: Result | None = None
    error: str | None = None
    outdir: Path = field(default_factory=Path)

    def __post_init__(self) -> None:
        self.outdir = _checks.path("Outcome", "outdir", self.outdir)

    @property
    def status(self) -> str:
        if self.result is None:
            return "error"
        return "reproduced" if self.result.verdict else "not reproduced"

    def to_json(self) -> dict:
        exp, res = self.experiment, self.result
        row = {
            "number": exp.number,
            "name": exp.name,
            "title": exp.title,
            "claim": exp.claim,
            "source": exp.source,
            "preset": self.preset,
            "status": self.status,
            "seconds": round(self.seconds, 3),
        }
        if res is not None:
            row.update(
                verdict=bool(res.verdict),
                summary=res.summary,
                setup=res.setup,
                numbers=res.numbers,
                figures=[_relative(p, self.outdir.parent) for p in res.figures],
            )
        else:
            row.update(verdict=False, error=self.error)
        return row


def select(names: list[str] | None) -> list[Experiment]:
    """The experiments called ``names`` (all registered ones when None, those registered
    after import included), in number order.

    Raises ``TypeError`` unless ``names`` is None or a list or tuple of strings,
    ``ValueError`` when it is empty, and ``KeyError`` naming the unknown ones and listing
    the known ones.
    """
    from chainrule.lab import EXPERIMENTS

    if names is None:
        return sorted(EXPERIMENTS.values(), key=lambda e: e.number)
    if not isinstance(names, (list, tuple)):
        raise TypeError(
            "expected names to be None (all) or a list of experiment names, got "
            f"{type(names).__name__} {names!r}"
        )
    if not names:
        raise ValueError("expected at least one experiment name (None runs them all), got none")
    not_names = [n for n in names if not isinstance(n, str)]
    if not_names:
        raise TypeError(f"expected experiment names (str), got {not_names!r}")
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise KeyError(f"unknown experiment(s) {unknown}; expected names from {list(EXPERIMENTS)}")
    return sorted((EXPERIMENTS[n] for n in dict.fromkeys(names)), key=lambda e: e.number)


def run_experiments(
    names: list[str] | None, preset: str, outdir: Path, progress: bool = True
) -> list[Outcome]:
    """Run experiments in number order into ``outdir``; write ``report.html`` and ``results.json``.

    Parameters
    ----------
    names : list of str or None
        Experiment names (see ``chainrule.lab.EXPERIMENTS``); None runs them all.
    preset : {"fast", "full"}
        "fast" for a quick check, "full" for the report's numbers and figures.
    outdir : Path
        Each experiment writes its figures into ``outdir / name``; the report and the
        JSON results go to ``outdir`` itself.
    progress : bool
        Print one line per experiment to stderr: ``[3/18] name ... done in 2.1 s (reproduced)``.

    Returns
    -------
    list of Outcome
        One per experiment, in the order run; failures are outcomes with ``status ==
        "error"``, never exceptions: an experiment that raises, and one whose Result the
        report cannot show (see :func:`_checked`).

    Raises
    ------
    ValueError, TypeError, KeyError
        An unknown preset, an ``outdir`` that is not a ``str`` or ``os.PathLike``,
        ``names`` refused by :func:`select`, or a place in ``outdir`` the run could not
        write (see :func:`check_outdir`); before anything is run.
    """
    check_preset(preset)
    outdir = _checks.path("run_experiments", "outdir", outdir)
    chosen = select(names)
    check_outdir(outdir, [exp.name for exp in chosen])
    outdir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for i, exp in enumerate(chosen, start=1):
        if progress:
            print(f"[{i}/{len(chosen)}] {exp.name} ...", end=" ", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result, error = None, None
        try:
            # Several experiments provoke vanishing or exploding gradients on purpose and
            # measure them; fit's advice to the user would only be noise here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GradientWarning)
                result = _checked(exp(preset, outdir / exp.name), exp.name)
        except Exception:  # noqa: BLE001 - one failing experiment must not abort the rest
            error = traceback.format_exc()
        outcome = Outcome(
            exp, preset, time.perf_counter() - start, result, error, outdir / exp.name
        )
        outcomes.append(outcome)
        if progress:
            print(f"done in {outcome.seconds:.1f} s ({outcome.status})", file=sys.stderr)
    write_report(outcomes, outdir)
    return outcomes


def check_outdir(
    outdir, names: list[str], owner: str = "run_experiments", argument: str = "outdir"
) -> None:
    """Refuse, with ``ValueError("<owner>: <argument> <outdir>: <why>")``, an ``outdir``
    where :func:`run_experiments` could not write all it writes for the experiments
    ``names``: ``outdir`` and each ``outdir / name`` must be directories it can write in
    or paths where such can be made (see :func:`chainrule.files.directory_blocker`), and
    ``report.html`` and ``results.json`` in it files it can write (see
    :func:`chainrule.files.file_blocker`). ``TypeError`` for an ``outdir`` that is not a
    ``str`` or ``os.PathLike``."""
    outdir = _checks.path(owner, argument, outdir)
    for folder in (outdir, *(outdir / name for name in names)):
        blocked = directory_blocker(folder)
        if blocked is not None:
            raise ValueError(f"{owner}: {argument} {outdir}: {blocked}")
    for page in ("report.html", "results.json"):
        blocked = file_blocker(outdir / page)
        if blocked is not None:
            raise ValueError(f"{owner}: {argument} {outdir}: cannot write {page}: {blocked}")


def _checked(result, name: str) -> Result:
    """``result`` (of the experiment ``name``) when the report can show it, with its
    numbers as plain JSON data and its verdict as a ``bool``: a Result whose numbers are a
    dict JSON can hold (keys of str, int, float, bool or None, no dict or list inside
    itself), whose verdict is True or False (NumPy's too), and whose figures are paths (not
    file descriptors, which ``open`` would read and close) of PNG files. Raises otherwise,
    inside the runner's per-experiment ``try``, so a malformed Result is an error outcome."""
    if not isinstance(result, Result):
        raise TypeError(f"expected the experiment to return a Result, got {type(result).__name__}")
    if not isinstance(result.numbers, dict):
        raise TypeError(
            "run_experiments: the Result's numbers expected a dict, got "
            f"{type(result.numbers).__name__} {result.numbers!r:.80}"
        )
    numbers = plain_data(result.numbers, f"{name}['numbers']", "run_experiments")
    verdict = _checks.boolean("run_experiments", "the Result's verdict", result.verdict)
    for i, path in enumerate(result.figures):
        path = _checks.path("run_experiments", f"the Result's figure {i}", path)
        try:
            with open(path, "rb") as f:
                head = f.read(len(_PNG))
        except OSError as exc:
            raise ValueError(
                f"the Result lists figure {path}, which cannot be read: {exc}"
            ) from exc
        if head != _PNG:
            raise ValueError(f"the Result lists figure {path}, which is not a PNG file")
    return replace(result, numbers=numbers, verdict=verdict)


def _relative(path, root: Path) -> str:
    """``path`` relative to ``root`` when it lies inside it (portable results.json)."""
    path, root = Path(path).resolve(), Path(root).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
