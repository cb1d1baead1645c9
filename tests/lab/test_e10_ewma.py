"""Experiment 10: EWMA smoothing, lag and bias correction, on the fast preset."""

from chainrule.lab import EXPERIMENTS

PNG = b"\x89PNG\r\n\x1a\n"


def test_ewma_claim_holds_on_the_measured_numbers(tmp_path):
    result = EXPERIMENTS["ewma"]("fast", tmp_path)
    n = result.numbers
    rough = [n[f"beta={b}"]["roughness"] for b in (0.5, 0.9, 0.98)]
    lags = [n[f"beta={b}"]["lag_days"] for b in (0.5, 0.9, 0.98)]
    assert n["raw_roughness"] > rough[0] > rough[1] > rough[2]
    assert lags[0] < lags[1] < lags[2]
    big = n["beta=0.98"]
    assert big["head_error_corrected"] < big["head_error_uncorrected"] / 3
    assert big["late_gap_corrected_vs_not"] < 0.05
    assert n["beta=0.9"]["window_1_over_1_minus_beta"] == 10
    assert result.verdict is True


def test_ewma_writes_png_figures(tmp_path):
    result = EXPERIMENTS["ewma"]("fast", tmp_path)
    assert len(result.figures) == 2
    for path in result.figures:
        assert path.read_bytes()[:8] == PNG
        assert path.with_suffix(".svg").exists()
