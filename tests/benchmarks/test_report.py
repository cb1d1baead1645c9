"""The benchmark report's tables, from hand-made results (nothing is measured)."""

from chainrule.bench import memory, report


def _results(**reps):
    systems = {
        name: {"samples_per_s": sorted(r)[len(r) // 2], "reps": r} for name, r in reps.items()
    }
    return {"systems": list(reps), "configs": {"a": {"systems": systems}}}


def test_paired_ratios_pair_each_repetition_with_the_fastest_peers():
    results = _results(chainrule=[10.0, 12.0, 9.0], torch=[5.0, 5.0, 5.0], jax=[10.0, 10.0, 10.0])
    assert report.fastest_peer(results["configs"]["a"], ["torch", "jax"]) == "jax"
    row = report.paired_table(results).splitlines()[2]
    assert row == "| (a) | JAX jit | 1.00x | 0.90x - 1.20x | 2 of 3 |"


def test_paired_ratios_cope_with_a_missing_peer_or_a_failed_chainrule():
    results = _results(chainrule=[8.0, 8.0], numpy=[4.0, 2.0])
    results["systems"].append("torch")
    results["configs"]["a"]["systems"]["torch"] = {"missing": "torch missing (no module)"}
    assert report.paired_table(results).splitlines()[2] == (
        "| (a) | hand NumPy | 3.00x | 2.00x - 4.00x | 2 of 2 |"
    )
    results["configs"]["a"]["systems"]["chainrule"] = {"error": "RuntimeError: broke"}
    assert report.paired_table(results).splitlines()[2] == "| (a) | hand NumPy | - | - | - |"


def test_throughput_table_divides_by_the_fastest_peers_median():
    results = _results(chainrule=[10.0, 12.0, 9.0], torch=[5.0, 5.0, 5.0], jax=[10.0, 10.0, 11.0])
    row = report.throughput_table(results).splitlines()[2]
    assert row.endswith("| 2.00x | 1.00x | 1.00x |")


def test_a_ratio_that_two_decimals_would_round_to_one_keeps_its_side_of_one():
    assert [report.ratio(x) for x in (0.9954, 1.0, 1.0049, 1.0051, 0.994, 0.9996, 1.0004)] == [
        "0.995x",
        "1.00x",
        "1.005x",
        "1.01x",
        "0.99x",
        "0.9996x",
        "1.0004x",
    ]
    results = _results(chainrule=[77585.0], jax=[77945.0])  # run AF's (c)
    assert report.throughput_table(results).splitlines()[2].endswith("| 0.995x | 0.995x |")
    assert "| 0.995x | 0.995x - 0.995x | 0 of 1 |" in report.paired_table(results)


def _whole(systems: dict) -> dict:
    """Results of config (a) holding ``systems`` (name -> entry), with what a whole report
    reads beside them."""
    return {
        "systems": list(systems),
        "peak_gflops": 100.0,
        "configs": {"a": {"key": "a", "weights": 1, "systems": systems}},
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


def test_a_failed_memory_probe_shows_error_in_its_cell_and_its_message_below():
    entry = {"samples_per_s": 10.0, "reps": [10.0], "gflops": 1.0, "pct_peak": 1.0}
    results = _whole(
        {
            "chainrule": {**entry, "memory": {"peak_mib": 1.5, "state_mib": 0.25}},
            "numpy": {**entry, "memory": {"error": "MemoryError: cannot allocate"}},
            "torch": {"missing": "torch missing (no module named 'torch')"},
            "sklearn": {"error": "ValueError: broke"},  # not probed
        }
    )
    text = report.markdown(results)
    row = report.memory_table(results).splitlines()[2]
    assert row == "| (a) | 1.5 (0.2) | error | missing | error |"
    assert "Memory errors: numpy (a): MemoryError: cannot allocate" in text.splitlines()


def _probed(method: str) -> dict:
    probed = {"peak_mib": 1.5, "state_mib": 0.25, "method": method}
    entry = {"samples_per_s": 10.0, "reps": [10.0], "memory": probed}
    return _whole({"chainrule": entry, "numpy": entry})


def test_the_report_marks_the_peaks_of_probes_that_could_not_reset():
    # the JSON said "method", the markdown gave no sign of the weaker bound
    results = _probed(memory.NOT_RESET)
    assert report.memory_table(results).splitlines()[2] == "| (a) | 1.5* (0.2) | 1.5* (0.2) |"
    footnote = [line for line in report.markdown(results).splitlines() if "marked `*`" in line]
    assert footnote and "upper bound" in footnote[0]
    results = _probed(memory.RESET)
    assert report.memory_table(results).splitlines()[2] == "| (a) | 1.5 (0.2) | 1.5 (0.2) |"
    assert "marked `*`" not in report.markdown(results)
