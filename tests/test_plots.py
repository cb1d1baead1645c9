"""Saving figures: PNG (and SVG), rendered in memory and written atomically."""

import pytest

pytest.importorskip("matplotlib")

from chainrule import plots  # noqa: E402  (after the skip: matplotlib is the plot extra)


def figure():
    fig, ax = plots.pyplot().subplots()
    ax.plot([0, 1], [1, 0])
    return fig


def test_save_writes_png_and_svg_and_closes_the_figure(tmp_path):
    fig = figure()
    written = plots.save(fig, tmp_path / "sub" / "curve.pdf", svg=True)
    assert written == [tmp_path / "sub" / "curve.png", tmp_path / "sub" / "curve.svg"]
    assert written[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in written[1].read_bytes()
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["curve.png", "curve.svg"]
    assert not plots.pyplot().fignum_exists(fig.number)


@pytest.mark.parametrize(
    ("name", "png"),
    [
        ("loss_lr0.01", "loss_lr0.01.png"),  # was loss_lr0.png, as was loss_lr0.001's
        ("run.v2", "run.v2.png"),
        ("curve", "curve.png"),
        ("curve.png", "curve.png"),
        ("curve.SVG", "curve.png"),
        ("curve.jpeg", "curve.png"),
        ("loss_lr0.01.pdf", "loss_lr0.01.png"),
    ],
)
def test_only_an_image_suffix_is_replaced(tmp_path, name, png):
    written = plots.save(figure(), tmp_path / name, svg=True)
    svg = png.removesuffix(".png") + ".svg"
    assert written == [tmp_path / png, tmp_path / svg]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([png, svg])


def test_figures_whose_names_differ_after_a_dot_do_not_overwrite_each_other(tmp_path):
    for lr in ("0.01", "0.001"):
        plots.save(figure(), tmp_path / f"loss_lr{lr}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss_lr0.001.png", "loss_lr0.01.png"]


def test_a_figure_that_fails_to_render_leaves_the_file_there_whole(tmp_path, monkeypatch):
    path = tmp_path / "curve.png"
    path.write_bytes(b"the figure of an earlier run")
    fig = figure()

    def fails_half_way(target, **kwargs):
        if hasattr(target, "write"):
            target.write(b"half a figure")
        else:
            with open(target, "wb") as f:
                f.write(b"half a figure")
        raise RuntimeError("the renderer failed")

    monkeypatch.setattr(fig, "savefig", fails_half_way)
    with pytest.raises(RuntimeError, match="the renderer failed"):
        plots.save(fig, path)
    assert path.read_bytes() == b"the figure of an earlier run"
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]
    assert not plots.pyplot().fignum_exists(fig.number)


def test_a_figure_whose_layout_fails_is_closed_all_the_same(tmp_path, monkeypatch):
    fig = figure()

    def fails():
        raise RuntimeError("layout failed")

    monkeypatch.setattr(fig, "tight_layout", fails)
    with pytest.raises(RuntimeError, match="layout failed"):
        plots.save(fig, tmp_path / "curve.png")
    assert not plots.pyplot().fignum_exists(fig.number)


def test_the_same_figure_saved_twice_gives_the_same_bytes(tmp_path):
    # the SVG held the save time and random element ids
    outputs = []
    for name in ("a", "b"):
        plt = plots.pyplot()
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2])
        ax.set_title("loss")
        outputs.append([p.read_bytes() for p in plots.save(fig, tmp_path / name, svg=True)])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "path", [7, None, b"curve.png", ["curve.png"]], ids=lambda p: type(p).__name__
)
def test_a_path_that_is_not_a_path_is_refused_by_name(tmp_path, monkeypatch, path):
    # pathlib's TypeError naming nothing
    monkeypatch.chdir(tmp_path)
    expected = rf"path expected a path \(str or os.PathLike\), got {type(path).__name__}"
    fig = figure()
    with pytest.raises(TypeError, match="plots.save: " + expected):
        plots.save(fig, path)
    plots.pyplot().close(fig)
    with pytest.raises(TypeError, match="png_data_uri: " + expected):
        plots.png_data_uri(path)
    assert list(tmp_path.iterdir()) == []


def test_a_path_ending_in_a_separator_is_refused_as_a_directory(tmp_path):
    # Path dropped the "/" and saved a file "figs.png" beside the folder meant
    fig = figure()
    with pytest.raises(ValueError, match="plots.save: path expected a file path, got .* names a"):
        plots.save(fig, f"{tmp_path / 'figs'}/")
    plots.pyplot().close(fig)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ncols": 2.0}, TypeError, "ncols expected an integer >= 1, got float 2.0"),
        ({"ncols": True}, TypeError, "ncols expected an integer >= 1, got bool True"),
        ({"nrows": -1}, ValueError, "nrows expected an integer >= 1, got -1"),
        ({"width": None}, TypeError, r"width expected a real number > 0, got NoneType None"),
        ({"width": "5"}, TypeError, r"width expected a real number > 0, got str '5'"),
        ({"width": 0}, ValueError, r"width expected a finite number > 0, got 0"),
        ({"height": False}, TypeError, r"height expected a real number > 0, got bool False"),
        ({"height": float("inf")}, ValueError, r"height expected a finite number > 0, got inf"),
    ],
)
def test_figure_refuses_bad_sizes_by_name(kwargs, error, message):
    # matplotlib's errors (or none: width=0, height=False drew a 0x0 figure)
    before = plots.pyplot().get_fignums()
    with pytest.raises(error, match=rf"^plots.figure: {message}$"):
        plots.figure(**kwargs)
    assert plots.pyplot().get_fignums() == before


def test_figure_sizes_each_panel():
    fig, axes = plots.figure(ncols=3, nrows=2, width=2, height=1.5)
    assert tuple(fig.get_size_inches()) == (6.0, 3.0)
    assert axes.shape == (2, 3)
    plots.pyplot().close(fig)


@pytest.mark.parametrize(
    ("fig", "svg", "message"),
    [
        (None, False, r"fig expected a matplotlib Figure, got NoneType None"),
        ("figure", False, r"fig expected a matplotlib Figure, got str 'figure'"),
        (figure, "no", r"svg expected True or False, got 'no'"),  # wrote an SVG all the same
        (figure, 1, r"svg expected True or False, got 1"),
    ],
)
def test_save_refuses_bad_arguments_before_writing(tmp_path, fig, svg, message):
    # save(None, ...) raised AttributeError
    fig = fig() if callable(fig) else fig
    try:
        with pytest.raises(TypeError, match=rf"^plots.save: {message}$"):
            plots.save(fig, tmp_path / "curve.png", svg=svg)
    finally:  # a figure save refused is still open
        if not isinstance(fig, str | None):
            plots.pyplot().close(fig)
    assert list(tmp_path.iterdir()) == []
