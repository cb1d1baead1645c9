import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chainrule.lab import EXPERIMENTS, Result, runner
from chainrule.lab.base import Experiment


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.stack, self.ids = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag in ("link", "script"):
            self.links.append(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])


def _broken(preset, outdir):
    raise RuntimeError("planted failure")


@pytest.fixture
def with_broken(monkeypatch):
    broken = Experiment("broken", 0, "A broken experiment", "claims nothing", "000", _broken)
    monkeypatch.setitem(EXPERIMENTS, "broken", broken)


def test_runner_survives_a_failure_and_writes_a_self_contained_report(
    tmp_path, capsys, with_broken
):
    outcomes = runner.run_experiments(["graph", "broken"], "fast", tmp_path)
    assert [o.experiment.name for o in outcomes] == ["broken", "graph"]  # number order
    assert [o.status for o in outcomes] == ["error", "reproduced"]
    err = capsys.readouterr().err
    assert "[1/2] broken ... done in" in err and "(error)" in err
    assert "[2/2] graph ... done in" in err and "(reproduced)" in err

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.links == []  # no external CSS or JS
    assert len(parser.images) == len(outcomes[1].result.figures)
    assert all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert {"broken", "graph"} <= set(parser.ids)
    assert "planted failure" in page and "(notes 004)" in page

    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["status"] for r in results] == ["error", "reproduced"]
    assert results[1]["figures"] == ["graph/graph.png"]
    assert results[1]["numbers"]["J"] == 33.0


def test_runner_rejects_unknown_names_and_presets(tmp_path):
    with pytest.raises(KeyError, match="nonexistent"):
        runner.run_experiments(["nonexistent"], "fast", tmp_path)
    unknown = re.escape("unknown preset 'slow'; expected one of ('fast', 'full')")
    with pytest.raises(ValueError, match=unknown):
        runner.run_experiments(["graph"], "slow", tmp_path)
    assert not (tmp_path / "report.html").exists()
    with pytest.raises(ValueError, match=unknown):
        EXPERIMENTS["graph"]("slow", tmp_path / "graph")
    assert not (tmp_path / "graph").exists()


def test_result_verdict_not_reproduced_is_reported(tmp_path, monkeypatch):
    def failing_claim(preset, outdir):
        return Result({"x": 1.5}, [], False, "x was 1.5, not 2", "nothing")

    monkeypatch.setitem(
        EXPERIMENTS, "claim", Experiment("claim", 99, "T", "x is 2", "001", failing_claim)
    )
    (outcome,) = runner.run_experiments(["claim"], "fast", tmp_path, progress=False)
    assert outcome.status == "not reproduced"
    assert "not reproduced" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_results_json_is_strict_json_with_non_finite_numbers(tmp_path, monkeypatch):
    import numpy as np

    def infinite(preset, outdir):
        return Result({"ratio": np.float64("inf"), "cost": float("nan")}, [], False, "s", "x")

    monkeypatch.setitem(EXPERIMENTS, "inf", Experiment("inf", 98, "T", "c", "001", infinite))
    runner.run_experiments(["inf"], "fast", tmp_path, progress=False)
    text = (tmp_path / "results.json").read_text(encoding="utf-8")

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    (row,) = json.loads(text, parse_constant=refuse)
    assert row["numbers"] == {"ratio": {"__float__": "inf"}, "cost": {"__float__": "nan"}}


@pytest.mark.parametrize(
    ("names", "error", "says"),
    [
        ("graph", TypeError, "got str 'graph'"),  # once run as ['g', 'r', 'a', 'p', 'h']
        ([], ValueError, "at least one experiment name"),
        ([["graph"]], TypeError, r"expected experiment names \(str\), got \[\['graph'\]\]"),
    ],
)
def test_runner_names_must_be_a_list_of_names(tmp_path, names, error, says):
    with pytest.raises(error, match=says):
        runner.run_experiments(names, "fast", tmp_path, progress=False)
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("figure", ["missing.png", "not-a-png.png"])
def test_a_result_whose_figure_the_report_cannot_show_is_an_error_outcome(
    tmp_path, monkeypatch, figure
):
    def bad_figure(preset, outdir):
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "not-a-png.png").write_text("text")
        return Result({}, [outdir / figure], True, "claims a figure", "nothing")

    monkeypatch.setitem(
        EXPERIMENTS, "figure", Experiment("figure", 98, "T", "c", "001", bad_figure)
    )
    (outcome,) = runner.run_experiments(["figure"], "fast", tmp_path, progress=False)
    assert outcome.status == "error"
    assert figure in outcome.error
    assert "figure" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_results_json_writes_numpy_values_tuples_and_keys_as_plain_json(tmp_path):
    import numpy as np

    from chainrule.lab.report import write_report
    from chainrule.lab.runner import Outcome

    numbers = {
        "f32": np.float32(0.1),
        "n": np.int64(7),
        "ok": np.bool_(True),
        "curve": np.array([[1.5, np.inf], [-np.inf, np.nan]], np.float32),
        "pair": (1, None),
        3: {"path": Path("a/b"), 2.5: [np.int8(3), float("-inf")]},
        None: "\u00e9",
    }
    exp = Experiment("x", 5, "T", "c", "001", _broken)
    outcome = Outcome(exp, "fast", 1.23456, Result(numbers, [], True, "s", "u"))
    _, results = write_report([outcome], tmp_path)
    inf, ninf, nan = ({"__float__": s} for s in ("inf", "-inf", "nan"))
    row = {
        "number": 5,
        "name": "x",
        "title": "T",
        "claim": "c",
        "source": "001",
        "preset": "fast",
        "status": "reproduced",
        "seconds": 1.235,
        "verdict": True,
        "summary": "s",
        "setup": "u",
        "numbers": {
            "f32": 0.10000000149011612,  # the float32's value, not 0.1
            "n": 7,
            "ok": True,
            "curve": [[1.5, inf], [ninf, nan]],
            "pair": [1, None],
            "3": {"path": "a/b", "2.5": [3, ninf]},  # keys as JSON writes them
            "null": "\u00e9",
        },
        "figures": [],
    }
    # the exact bytes: strict JSON, indented by 2, ASCII with escapes
    assert results.read_bytes() == json.dumps([row], indent=2).encode("ascii")


def test_a_results_key_json_cannot_hold_is_refused_before_anything_is_written(tmp_path):
    from chainrule.lab.report import write_report
    from chainrule.lab.runner import Outcome

    exp = Experiment("x", 5, "T", "c", "001", _broken)
    outcome = Outcome(exp, "fast", 1.0, Result({(1, 2): 3.0}, [], True, "s", "u"))
    with pytest.raises(
        TypeError, match=r"write_report: a results key expected .*got tuple \(1, 2\)"
    ):
        write_report([outcome], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _noop(preset, outdir):
    return Result({}, [], True, "s", "u")


@pytest.mark.parametrize("outdir", [7, b"out", ["out"]], ids=lambda o: type(o).__name__)
def test_an_outdir_that_is_not_a_path_is_refused_by_name_before_anything_is_done(
    tmp_path, monkeypatch, outdir
):
    # pathlib's TypeError naming nothing (write_report: after the results were converted)
    from chainrule.lab.report import write_report
    from chainrule.lab.runner import Outcome

    monkeypatch.chdir(tmp_path)
    ran = []
    exp = Experiment("x", 5, "T", "c", "001", lambda p, o: ran.append(o) or _noop(p, o))
    monkeypatch.setitem(EXPERIMENTS, "x", exp)
    expected = rf"outdir expected a path \(str or os.PathLike\), got {type(outdir).__name__}"
    with pytest.raises(TypeError, match="experiment x: " + expected):
        exp("fast", outdir)
    with pytest.raises(TypeError, match="run_experiments: " + expected):
        runner.run_experiments(["x"], "fast", outdir, progress=False)
    outcome = Outcome(exp, "fast", 1.0, _noop("fast", tmp_path))
    with pytest.raises(TypeError, match="write_report: " + expected):
        write_report([outcome], outdir)
    with pytest.raises(TypeError, match="Outcome: " + expected):
        Outcome(exp, "fast", 1.0, outdir=outdir)
    assert ran == [] and list(tmp_path.iterdir()) == []


def test_an_outcomes_outdir_may_be_a_str(tmp_path):
    # a str outdir failed in to_json: 'str' object has no attribute 'parent'
    from chainrule.lab.runner import Outcome

    exp = Experiment("x", 5, "T", "c", "001", _noop)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = Result({}, [tmp_path / "x" / "f.png"], True, "s", "u")
    outcome = Outcome(exp, "fast", 1.0, result, outdir=str(tmp_path / "x"))
    assert outcome.outdir == tmp_path / "x"
    assert outcome.to_json()["figures"] == ["x/f.png"]


def test_a_figure_that_is_not_a_path_is_an_error_outcome_and_no_descriptor_is_touched(
    tmp_path, monkeypatch
):
    # open() took the int for a file descriptor: read from it, then closed it
    with open(tmp_path / "mine", "wb+") as f:
        fd = f.fileno()

        def by_descriptor(preset, outdir):
            return Result({}, [fd], True, "claims a figure", "nothing")

        monkeypatch.setitem(EXPERIMENTS, "fd", Experiment("fd", 97, "T", "c", "001", by_descriptor))
        (outcome,) = runner.run_experiments(["fd"], "fast", tmp_path / "out", progress=False)
        assert os.fstat(fd).st_size == 0  # still open
    assert outcome.status == "error"
    assert f"the Result's figure 0 expected a path (str or os.PathLike), got int {fd}" in (
        outcome.error
    )


@pytest.mark.parametrize("where", ["dict", "list"])
def test_circular_numbers_are_refused_by_where_before_anything_is_written(tmp_path, where):
    # json.dumps said "Circular reference detected"; the walker recursed into a RecursionError
    from chainrule.lab.report import write_report
    from chainrule.lab.runner import Outcome

    loop: dict | list = {"a": 1} if where == "dict" else [1]
    if where == "dict":
        loop["self"] = loop
    else:
        loop.append([loop])
    shared = [1.0, 2.0]  # one list in two places is not a cycle
    numbers = {"curve": shared, "again": shared, "loop": loop}
    exp = Experiment("x", 5, "T", "c", "001", _broken)
    outcome = Outcome(exp, "fast", 1.0, Result(numbers, [], True, "s", "u"))
    at = "['loop']['self']" if where == "dict" else "['loop'][1][0]"
    expected = (
        f"write_report: results expected data without circular references, got a {where} "
        f"at x['numbers']{at} that contains itself"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        write_report([outcome], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _loop():
    loop = {"a": 1}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (
            Result({("lr", "beta"): 0.1}, [], True, "s", "u"),
            r"TypeError: run_experiments: a results key expected .*got tuple \('lr', 'beta'\)",
        ),
        (
            Result([1], [], True, "s", "u"),
            r"TypeError: run_experiments: the Result's numbers expected a dict, got list \[1\]",
        ),
        (
            Result(_loop(), [], True, "s", "u"),
            r"ValueError: run_experiments: results expected data without circular references, "
            r"got a dict at bad\['numbers'\]\['self'\] that contains itself",
        ),
        (
            Result({}, [], [True, False], "s", "u"),
            r"TypeError: run_experiments: the Result's verdict expected True or False, got "
            r"\[True, False\]",
        ),
    ],
    ids=["tuple-key", "list-numbers", "circular", "list-verdict"],
)
def test_a_malformed_result_is_an_error_outcome_and_the_report_is_still_written(
    tmp_path, monkeypatch, result, says
):
    # the numbers were first converted by write_report, after every experiment had run:
    # run_experiments raised and neither report.html nor results.json was written
    monkeypatch.setitem(
        EXPERIMENTS, "bad", Experiment("bad", 99, "T", "c", "001", lambda p, o: result)
    )
    outcomes = runner.run_experiments(["graph", "bad"], "fast", tmp_path, progress=False)
    assert [o.status for o in outcomes] == ["reproduced", "error"]
    assert re.search(says, outcomes[1].error)
    assert "graph" in (tmp_path / "report.html").read_text(encoding="utf-8")
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in results] == ["reproduced", "error"]


def test_the_runner_keeps_a_results_numbers_as_plain_data(tmp_path, monkeypatch):
    import numpy as np

    def numpy_numbers(preset, outdir):
        return Result({"x": np.float32(0.5), 3: (1, 2)}, [], np.bool_(True), "s", "u")

    monkeypatch.setitem(EXPERIMENTS, "np", Experiment("np", 99, "T", "c", "001", numpy_numbers))
    (outcome,) = runner.run_experiments(["np"], "fast", tmp_path, progress=False)
    assert outcome.status == "reproduced"
    assert outcome.result.numbers == {"x": 0.5, "3": [1, 2]}
    assert type(outcome.result.numbers["x"]) is float and outcome.result.verdict is True


def test_an_experiment_registered_after_import_reaches_the_runner_in_number_order(
    tmp_path, registry
):
    # chainrule.lab.EXPERIMENTS was a sorted copy: the decorator wrote into another dict
    import chainrule.lab
    from chainrule.lab import base, experiment

    assert chainrule.lab.EXPERIMENTS is base.EXPERIMENTS
    numbers = [e.number for e in registry.values()]
    assert numbers == sorted(numbers)
    del registry["graph"]  # frees number 1: the new experiment joins the dict at its end

    @experiment(1, "first", "Before the others", "1 + 1 = 2", "000")
    def run(preset, outdir):
        return Result({"sum": 2}, [], True, "1 + 1 = 2", "none")

    assert list(chainrule.lab.EXPERIMENTS)[-1] == "first"
    assert runner.select(None)[0].name == "first"
    (outcome,) = runner.run_experiments(["first"], "fast", tmp_path, progress=False)
    assert outcome.status == "reproduced" and outcome.result.numbers == {"sum": 2}


@pytest.mark.parametrize(
    ("blocker", "says"),
    [
        ("report.html/", "cannot write report.html: {out}/report.html is a directory"),
        ("results.json/", "cannot write results.json: {out}/results.json is a directory"),
        ("x", "expected a directory or a path where one can be made, but {out}/x exists and"),
        ("readonly", "cannot write report.html: {out}/report.html is read-only"),
        ("unwritable", "expected a directory or a path where one can be made, but {out} is not "),
    ],
)
def test_what_the_runner_writes_is_checked_before_any_experiment_runs(
    tmp_path, monkeypatch, blocker, says
):
    # the report's path was found blocked after every experiment had run: the outcomes
    # were lost with the exception
    out = tmp_path / "out"
    out.mkdir()
    ran = []
    exp = Experiment("x", 5, "T", "c", "001", lambda p, o: ran.append(o) or _noop(p, o))
    monkeypatch.setitem(EXPERIMENTS, "x", exp)
    if blocker.endswith("/"):
        (out / blocker).mkdir()
    elif blocker == "x":
        (out / "x").write_text("mine")
    else:  # this process may not write there (as root it may write anything)
        denied = out / "report.html" if blocker == "readonly" else out
        (out / "report.html").write_text("an earlier report")
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != denied and real(p, mode))
    before = sorted(p.name for p in out.iterdir())
    expected = f"run_experiments: outdir {out}: " + says.format(out=out)
    with pytest.raises(ValueError, match=re.escape(expected)):
        runner.run_experiments(["x"], "fast", out, progress=False)
    assert ran == [] and sorted(p.name for p in out.iterdir()) == before
