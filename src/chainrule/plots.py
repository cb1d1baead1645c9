"""Figures for reports and the lab: one look, readable, colour-blind safe.

Needs matplotlib (the ``plot`` extra: ``pip install 'chainrule[plot]'``). Every figure
uses the Okabe-Ito palette, which stays distinguishable under the common forms of colour
blindness, has a title and labelled axes, and is saved as PNG (and optionally SVG) with
the non-interactive Agg backend, so nothing needs a display.

Every figure chainrule draws or saves switches the process's matplotlib to that backend
and sets this style in its ``rcParams`` (grid, no top and right spines, the palette as the
colour cycle), again each time: figures a program draws afterwards, in a notebook say, get
them too. Call ``matplotlib.use`` and ``matplotlib.rcdefaults()`` (or your own settings)
after chainrule's last figure to go back.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from chainrule import _checks
from chainrule.files import atomic_write

# Okabe & Ito (2008): orange, sky blue, bluish green, yellow, blue, vermillion, purple, grey
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")
SEQUENTIAL = "viridis"  # perceptually uniform and colour-blind safe, for heat maps
_IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")  # replaced by .png in save


def _matplotlib():
    """matplotlib, with its ``figure`` module (which picks no backend); a clear ImportError
    without it."""
    try:
        import matplotlib
        import matplotlib.figure
    except ImportError:
        raise ImportError(
            "figures need matplotlib: pip install 'chainrule[plot]' (or pip install matplotlib)"
        ) from None
    return matplotlib


def pyplot():
    """matplotlib.pyplot on the Agg backend, styled (for the whole process: see the module
    docstring); a clear ImportError without matplotlib."""
    matplotlib = _matplotlib()
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=PALETTE),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.dpi": 120,
            "font.size": 10,
            "axes.titlesize": 11,
            "legend.frameon": False,
            "image.cmap": SEQUENTIAL,
            "svg.hashsalt": "chainrule",  # the SVGs' element ids: the same run, the same bytes
        }
    )
    return plt


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.6):
    """A new figure and its axes (a single Axes when 1x1), sized per panel: ``ncols`` and
    ``nrows`` are integers >= 1, ``width`` and ``height`` (inches) finite numbers > 0, else
    ``TypeError`` / ``ValueError`` before anything is drawn."""
    ncols = _checks.integer("plots.figure", "ncols", ncols, low=1)
    nrows = _checks.integer("plots.figure", "nrows", nrows, low=1)
    width = _checks.real("plots.figure", "width", width, low=0.0, low_open=True)
    height = _checks.real("plots.figure", "height", height, low=0.0, low_open=True)
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, (axes[0, 0] if nrows == ncols == 1 else axes)


def save(fig, path, svg: bool = False) -> list[Path]:
    """Save ``fig`` as PNG at ``path``, plus the same name with ``.svg`` if asked; close it.

    An image suffix of ``path`` (``.png``, ``.svg``, ``.pdf``, ``.jpg`` or ``.jpeg``, in
    any case) is replaced by ``.png``; any other name gets ``.png`` appended, so that
    ``loss_lr0.01`` and ``loss_lr0.001`` are saved as ``loss_lr0.01.png`` and
    ``loss_lr0.001.png``, not both as ``loss_lr0.png``. Returns the paths written.

    Each file is rendered in memory and written atomically: a figure that fails to render
    leaves the file already there as it was. ``TypeError`` when ``fig`` is not a matplotlib
    ``Figure``, ``path`` not a ``str`` or ``os.PathLike``, or ``svg`` not a bool (before
    anything is drawn; ``fig`` is left open)."""
    if not isinstance(fig, _matplotlib().figure.Figure):
        raise TypeError(
            f"plots.save: fig expected a matplotlib Figure, got {type(fig).__name__} {fig!r:.80}"
        )
    path = _checks.path("plots.save", "path", path, file=True)
    svg = _checks.boolean("plots.save", "svg", svg)
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        path = path.with_suffix(".png")
    else:
        path = path.with_name(path.name + ".png")
    plt = pyplot()
    written = [path, path.with_suffix(".svg")] if svg else [path]
    try:
        fig.tight_layout()
        for target in written:
            buf = io.BytesIO()
            fig.savefig(buf, format=target.suffix[1:], metadata={"Date": None})
            atomic_write(target, buf.getvalue())
    finally:
        plt.close(fig)
    return written


def png_data_uri(path) -> str:
    """A PNG file as a ``data:`` URI, to inline images in a self-contained HTML report;
    ``TypeError`` when ``path`` is not a ``str`` or ``os.PathLike``."""
    data = _checks.path("png_data_uri", "path", path).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
