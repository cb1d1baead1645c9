"""The lab's contract: an experiment is a registered function that measures one claim.

Each experiment module (``chainrule/lab/eNN_*.py``) defines one function decorated with
:func:`experiment`. It receives the preset (``"fast"`` for the test suite, ``"full"`` for
the report) and an output directory, runs its measurement with explicit seeds, draws its
figures with :mod:`chainrule.plots`, and returns a :class:`Result` whose verdict says
whether the claim held on the measured numbers.
"""

from __future__ import annotations

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


def experiment(number: int, name: str, title: str, claim: str, source: str):
    """Register the decorated ``run(preset, outdir) -> Result`` function as an experiment."""

    def register(run):
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = Experiment(name, number, title, claim, source, run)
        return run

    return register
