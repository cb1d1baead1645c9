"""The lab: every claim of the course notes as a reproducible, self-checking experiment.

Experiment modules are the files ``eNN_<name>.py`` of this package; importing the package
imports them all, and each registers itself in :data:`EXPERIMENTS` (ordered by number).
An experiment registered later with :func:`experiment` joins the same dict, at its end;
the runner orders what it runs by number.
"""

import importlib
import pkgutil

from chainrule.lab.base import EXPERIMENTS, PRESETS, Experiment, Result, experiment

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module[:1] == "e" and _module[1:3].isdigit():
        importlib.import_module(f"{__name__}.{_module}")

# in place: the decorator and the runner share this one dict
_ordered = sorted(EXPERIMENTS.items(), key=lambda item: item[1].number)
EXPERIMENTS.clear()
EXPERIMENTS.update(_ordered)

__all__ = ["EXPERIMENTS", "PRESETS", "Experiment", "Result", "experiment"]
