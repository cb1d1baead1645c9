"""``chainrule.runs`` sits below the CLI and the benchmarks: neither it nor the race's
recipe, which builds its chainrule system from it, imports ``chainrule.cli``."""

import subprocess
import sys

import pytest

_LOADED = """
import sys
import {module}
print(" ".join(sorted(m for m in sys.modules if m.startswith("chainrule."))))
"""


def _loaded_after_importing(module: str) -> set[str]:
    """The ``chainrule.*`` modules a fresh interpreter holds after ``import module``."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(module=module)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split())


def _under(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


@pytest.mark.parametrize("module", ["chainrule.runs", "chainrule.runs.build"])
def test_runs_imports_neither_the_cli_nor_the_bench(module):
    loaded = _loaded_after_importing(module)
    assert module in loaded
    assert _under(loaded, "chainrule.cli") == []
    assert _under(loaded, "chainrule.bench") == []


def test_the_race_recipe_does_not_import_the_cli():
    loaded = _loaded_after_importing("chainrule.bench.accuracy.recipe")
    assert "chainrule.runs.build" in loaded
    assert _under(loaded, "chainrule.cli") == []
