"""The memory probe where the high-water mark cannot be reset, and how the report marks it."""

import json
import os
import subprocess
import sys

from chainrule.bench import memory, report, threads

# /proc/self/clear_refs refused (as where it is not writable): the probe falls back
_PROBE_WITHOUT_RESET = """
import builtins, json
from chainrule.bench import memory

def refuse_clear_refs(path, *args, **kwargs):
    if str(path) == "/proc/self/clear_refs":
        raise PermissionError(13, "Permission denied", str(path))
    return builtins.open(path, *args, **kwargs)

memory.open = refuse_clear_refs
print(json.dumps(memory.probe("chainrule", "a", 5)))
"""


def test_a_probe_that_cannot_reset_the_high_water_mark_reports_an_upper_bound():
    # peak came from ru_maxrss, base from VmRSS: counted otherwise, the "upper bound" came
    # out below the state resident before the measured steps (0.39 vs 0.66 MiB)
    env = {**os.environ, **threads.thread_env(1)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE_WITHOUT_RESET], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak_mib"] >= result["state_mib"] > 0
    assert result["method"] == memory.NOT_RESET


def _results(method: str) -> dict:
    probed = {"peak_mib": 1.5, "state_mib": 0.25, "method": method}
    return {
        "systems": ["chainrule", "numpy"],
        "peak_gflops": 100.0,
        "configs": {
            "a": {
                "key": "a",
                "weights": 1,
                "systems": {
                    name: {"samples_per_s": 10.0, "reps": [10.0], "memory": probed}
                    for name in ("chainrule", "numpy")
                },
            }
        },
        "meta": {
            "threads": 2,
            "reps": 1,
            "peak_n": 64,
            "memory": True,
            "thread_settings": {},
            "loadavg_before_after": [0.0, 0.0],
            "versions": {"numpy": "numpy 2"},
            "machine": "m",
        },
    }


def test_the_report_marks_the_peaks_of_probes_that_could_not_reset():
    # the JSON said "method", the markdown gave no sign of the weaker bound
    results = _results(memory.NOT_RESET)
    assert report.memory_table(results).splitlines()[2] == "| (a) | 1.5* (0.2) | 1.5* (0.2) |"
    footnote = [line for line in report.markdown(results).splitlines() if "marked `*`" in line]
    assert footnote and "upper bound" in footnote[0]
    results = _results(memory.RESET)
    assert report.memory_table(results).splitlines()[2] == "| (a) | 1.5 (0.2) | 1.5 (0.2) |"
    assert "marked `*`" not in report.markdown(results)
