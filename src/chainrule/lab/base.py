"""The lab's contract: an experiment is a registered function that measures one claim.

Each experiment module (``chainrule/lab/eNN_*.py``) defines one function decorated with
:func:`experiment`. It receives the preset (``"fast"`` for the test suite, ``"full"`` for
the report) and an output directory, runs its measurement with explicit seeds, draws its
figures with :mod:`chainrule.plots`, and returns a :class:`Result` whose verdict says
whether the claim held on the measured numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chainrule import _checks

PRESETS = ("fast", "full")


def check_preset(preset) -> str:
    """``preset`` when it is one of :data:`PRESETS`; ``ValueError`` otherwise."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {PRESETS}")
    return preset


@dataclass
class Result:
    """What an experiment measured and concluded.

    Attributes
    ----------
    numbers : dict
        The measured values the verdict rests on (JSON-able: floats, ints, strings, lists).
    figures : list of Path
        PNG files written into the output directory (SVG twins may sit beside them).
    verdict : bool
        True when the claim was reproduced.
    summary : str
        One or two sentences: what was measured and why the verdict follows from it.
    setup : str
        Data, model, optimizer, seeds: enough to rerun the experiment by hand.
    """

    numbers: dict
    figures: list[Path]
    verdict: bool
    summary: str
    setup: str


@dataclass
class Experiment:
    """A registered experiment: its claim (in English), the seed file it comes from, its run."""

    name: str
    number: int
    title: str
    claim: str
    source: str
    run: Callable[[str, Path], Result] = field(repr=False)

    def __call__(self, preset: str = "fast", outdir=None) -> Result:
        """Run the experiment into ``outdir`` (made when missing; ``lab-output/<name>`` when
        None). ``ValueError`` for an unknown preset, ``TypeError`` for an ``outdir`` that is
        neither None nor a ``str`` or ``os.PathLike``, both before anything is run."""
        check_preset(preset)
        if outdir is None:
            outdir = Path("lab-output") / self.name
        outdir = _checks.path(f"experiment {self.name}", "outdir", outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        result = self.run(preset, outdir)
        if not isinstance(result, Result):
            raise TypeError(f"experiment {self.name} returned {type(result).__name__}, not Result")
        return result


EXPERIMENTS: dict[str, Experiment] = {}

_NAME = re.compile(r"[A-Za-z0-9_]+")
_SOURCE = re.compile(r"\d{3}(, \d{3})*")


def experiment(number: int, name: str, title: str, claim: str, source: str):
    """Register the decorated ``run(preset, outdir) -> Result`` function as an experiment.

    ``number`` is an integer >= 1 and ``name`` a non-empty string of letters, digits and
    underscores (it names the experiment's output directory and its report section), both
    not yet held by a registered experiment; ``title`` and ``claim`` are non-empty strings
    and ``source`` names the seed files, three digits each, separated by ``", "``
    (``"002, 003"``). ``TypeError`` or ``ValueError`` naming ``experiment()`` otherwise, and
    for a decorated object that cannot be called as ``run(preset, outdir)``: before
    anything is registered.
    """
    owner = "experiment()"
    number = _checks.integer(owner, "number", number, low=1)
    for argument, value in (("name", name), ("title", title), ("claim", claim), ("source", source)):
        if not isinstance(value, str):
            raise TypeError(
                f"{owner}: {argument} expected a str, got {type(value).__name__} {value!r:.80}"
            )
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{owner}: name expected a non-empty string of letters, digits and underscores, "
            f"got {name!r}"
        )
    for argument, value in (("title", title), ("claim", claim)):
        if not value.strip():
            raise ValueError(f"{owner}: {argument} expected a non-empty string, got {value!r}")
    if not _SOURCE.fullmatch(source):
        raise ValueError(
            f"{owner}: source expected seed-file numbers of three digits separated by ', ' "
            f"(like '002, 003'), got {source!r}"
        )

    def register(run):
        _checks.function(owner, "the decorated run", run, "(preset, outdir) -> Result", args=2)
        if name in EXPERIMENTS:
            raise ValueError(
                f"{owner}: name expected a name no experiment holds, got {name!r}, which "
                f"experiment {EXPERIMENTS[name].number} already holds"
            )
        holder = next((e.name for e in EXPERIMENTS.values() if e.number == number), None)
        if holder is not None:
            raise ValueError(
                f"{owner}: number expected an integer >= 1 no experiment holds, got {number}, "
                f"which experiment {holder!r} already holds"
            )
        EXPERIMENTS[name] = Experiment(name, number, title, claim, source, run)
        return run

    return register
