"""The lab report: one self-contained HTML page plus ``results.json``.

The page needs nothing but itself: figures are inlined as base64 ``data:`` URIs and the
style sheet is inline, so it opens offline and survives being mailed around. At the top a
table gives every experiment's verdict; below, one section per experiment shows the claim
(citing the seed file of the notes it comes from), the setup, the figures, the measured
numbers and the verdict.
"""

from __future__ import annotations

import html
from pathlib import Path

from chainrule import _checks
from chainrule.files import atomic_write, json_text
from chainrule.lab.plain import plain_data
from chainrule.plots import png_data_uri

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.reproduced { color: #007a55; font-weight: bold; }
.not-reproduced { color: #b34700; font-weight: bold; }
.error { color: #b00020; font-weight: bold; }
section { border-top: 2px solid #ddd; margin-top: 2em; padding-top: 0.5em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
blockquote { border-left: 4px solid #56B4E9; margin: 0.5em 0; padding: 0.2em 1em;
             background: #f5fbff; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
"""


def write_report(outcomes, outdir) -> tuple[Path, Path]:
    """Write ``report.html`` and ``results.json`` for ``outcomes`` into ``outdir``.

    ``outcomes`` are :class:`chainrule.lab.runner.Outcome` objects. Returns the two paths.
    Refused before anything is written: an ``outdir`` that is not a ``str`` or
    ``os.PathLike`` and a results key JSON cannot hold (``TypeError``), results that contain
    themselves (``ValueError`` naming where).
    """
    outdir = _checks.path("write_report", "outdir", outdir)
    # NumPy values to Python ones, then strict JSON: a non-finite number is written as
    # {"__float__": "inf"}, as in metrics.json, not as the Infinity strict parsers refuse
    rows = [plain_data(o.to_json(), o.experiment.name, "write_report") for o in outcomes]
    data = json_text(rows, indent=2).encode("utf-8")
    outdir.mkdir(parents=True, exist_ok=True)
    results = outdir / "results.json"
    page = outdir / "report.html"
    # the page first: a page that cannot be written leaves the earlier pair as it was
    atomic_write(page, render(outcomes).encode("utf-8"))
    atomic_write(results, data)
    return page, results


def render(outcomes) -> str:
    """The report's HTML text."""
    n_ok = sum(o.status == "reproduced" for o in outcomes)
    presets = sorted({o.preset for o in outcomes})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>chainrule lab report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>chainrule lab report</h1>",
        f"<p>{n_ok} of {len(outcomes)} claims reproduced (preset: {_e(', '.join(presets))}). "
        "Each section states a claim of the course notes, the seed file it comes from, how "
        "it was measured, and whether the measured numbers bear it out.</p>",
        _summary_table(outcomes),
    ]
    parts.extend(_section(o) for o in outcomes)
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary_table(outcomes) -> str:
    rows = [
        "<table><tr><th>#</th><th>experiment</th><th>source</th><th>verdict</th><th>time</th></tr>"
    ]
    for o in outcomes:
        exp = o.experiment
        rows.append(
            f'<tr><td class="num">{exp.number}</td>'
            f'<td><a href="#{_e(exp.name)}">{_e(exp.title)}</a></td>'
            f"<td>{_e(exp.source)}</td>{_status_cell(o)}"
            f'<td class="num">{o.seconds:.1f} s</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _section(o) -> str:
    exp, res = o.experiment, o.result
    out = [
        f'<section id="{_e(exp.name)}">',
        f"<h2>{exp.number}. {_e(exp.title)} <small>({_e(exp.name)})</small></h2>",
        f"<blockquote><b>Claim</b> (notes {_e(exp.source)}): {_e(exp.claim)}</blockquote>",
    ]
    if res is None:
        out.append('<p class="error">The experiment raised an error:</p>')
        out.append(f"<pre>{_e(o.error or '')}</pre></section>")
        return "\n".join(out)
    out.append(f"<p><b>Setup.</b> {_e(res.setup)}</p>")
    for path in res.figures:
        path = Path(path)
        out.append(
            f'<figure><img src="{png_data_uri(path)}" alt="{_e(path.stem)}">'
            f"<figcaption>{_e(path.name)}</figcaption></figure>"
        )
    out.append(_numbers_table(res.numbers))
    css = "reproduced" if res.verdict else "not-reproduced"
    out.append(
        f'<p><b>Verdict:</b> <span class="{css}">{_e(o.status)}</span>. {_e(res.summary)}</p>'
    )
    out.append(f"<p><small>{o.preset} preset, {o.seconds:.1f} s</small></p></section>")
    return "\n".join(out)


def _numbers_table(numbers: dict) -> str:
    rows = ["<table><tr><th>measured</th><th>value</th></tr>"]
    for key, value in numbers.items():
        rows.append(f'<tr><td>{_e(key)}</td><td class="num">{_e(_fmt(value))}</td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _status_cell(o) -> str:
    css = o.status.replace(" ", "-")
    return f'<td class="{css}">{_e(o.status)}</td>'


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        shown = ", ".join(_fmt(v) for v in value[:12])
        return f"[{shown}{', ...' if len(value) > 12 else ''}]"
    return str(value)


def _e(text) -> str:
    return html.escape(str(text), quote=True)
