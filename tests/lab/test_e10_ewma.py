"""Experiment 10: EWMA smoothing, lag and bias correction, on the fast preset."""

import pytest

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return EXPERIMENTS["ewma"]("fast", tmp_path_factory.mktemp("e10"))


def test_larger_beta_is_smoother_and_lags_more(result):
    n = result.numbers
    rough = [n[f"beta={b}"]["roughness"] for b in (0.5, 0.9, 0.98)]
    lags = [n[f"beta={b}"]["lag_days"] for b in (0.5, 0.9, 0.98)]
    assert n["raw_roughness"] > rough[0] > rough[1] > rough[2]
    assert lags[0] < lags[1] < lags[2]
    assert n["beta=0.9"]["window_1_over_1_minus_beta"] == 10


def test_the_value_one_window_back_weighs_about_1_over_e_of_the_newest(result):
    n = result.numbers
    assert n["beta=0.9"]["weight_at_window_over_newest"] == pytest.approx(0.9**10)
    assert n["beta=0.98"]["weight_at_window_over_newest"] == pytest.approx(0.98**50)
    for beta in (0.9, 0.98):
        assert abs(n[f"beta={beta}"]["weight_at_window_over_newest"] - 0.3679) < 0.03


def test_bias_correction_fixes_the_start_and_fades_later(result):
    big = result.numbers["beta=0.98"]
    assert big["head_error_corrected"] < big["head_error_uncorrected"] / 3
    assert big["late_gap_corrected_vs_not"] < 0.05
    assert result.verdict is True


def test_figures_are_pngs_with_svg_twins(result):
    assert len(result.figures) == 2
    for path in result.figures:
        assert path.read_bytes()[:8] == PNG
        assert path.with_suffix(".svg").exists()
