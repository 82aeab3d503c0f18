"""The peak tools on synthetic data whose answers are known: gaussians, slits, noise, background."""

import math

import numpy as np
import pytest

from beamshell.analysis import PeakError, cen, com, fwhm, peak, trough

FOUR_LN2 = 4 * math.log(2)


def gaussian(x, centre=0.0, width=1.0, height=1000.0, background=0.0):
    return background + height * np.exp(-FOUR_LN2 * (x - centre) ** 2 / width**2)


@pytest.mark.parametrize("npoints", [21, 41, 101])
@pytest.mark.parametrize("span", [2.0, 3.0])
def test_noise_free_gaussian_within_a_thousandth_of_its_width(npoints, span):
    rng = np.random.default_rng(npoints)
    for _ in range(50):
        centre = rng.uniform(-0.4, 0.4)
        width = rng.uniform(0.5, 2.0)
        x = np.linspace(-span * width, span * width, npoints) + rng.uniform(-0.1, 0.1)
        y = gaussian(x, centre, width)
        result = cen(x, y)
        assert abs(result.position - centre) <= 1e-3 * width
        assert abs(result.fwhm - width) <= 1e-3 * width
        assert abs(com(x, y) - centre) <= 1e-3 * width
        assert abs(peak(x, y) - centre) <= (x[1] - x[0]) / 2  # a measured point


def test_background_is_subtracted():
    x = np.linspace(-3, 3, 61)
    y = gaussian(x, centre=0.7, width=1.2, height=300, background=2000)
    assert cen(x, y).position == pytest.approx(0.7, abs=1e-3)
    assert fwhm(x, y) == pytest.approx(1.2, abs=1e-3)
    assert com(x, y) == pytest.approx(0.7, abs=1e-3)
    assert cen(x, y).background == pytest.approx(2000, abs=0.1)


def test_a_sloping_scan_start_does_not_raise_the_half_level():
    # The scan starts on the flank (40 % of the height) and ends on the background.
    x = np.linspace(-0.6, 3.0, 73)
    y = gaussian(x, centre=0.0, width=1.0, height=500, background=10)
    result = cen(x, y)
    assert result.position == pytest.approx(0.0, abs=1e-3)
    assert result.fwhm == pytest.approx(1.0, abs=1e-3)


def test_square_slit_edges_between_two_points():
    # A slit 1 wide centred on 0.25: its edges fall midway between points 0.1 apart.
    x = np.round(np.linspace(-2, 2, 41), 10)
    y = np.where(np.abs(x - 0.25) < 0.5, 800.0, 0.0)
    result = cen(x, y)
    assert result.position == pytest.approx(0.25, abs=1e-9)
    assert result.fwhm == pytest.approx(1.0, abs=1e-9)
    assert peak(x, y) == pytest.approx(0.2)  # the middle of the flat top (-0.2 .. 0.7)
    assert com(x, y) == pytest.approx(0.25, abs=1e-9)


def test_noisy_square_slit():
    rng = np.random.default_rng(7)
    x = np.linspace(-2, 2, 81)
    for _ in range(100):
        y = np.where(np.abs(x - 0.3) < 0.525, 1000.0, 50.0) + rng.normal(0, 10, x.size)
        result = cen(x, y)
        assert result.position == pytest.approx(0.3, abs=0.025)  # within half a step
        assert result.fwhm == pytest.approx(1.05, abs=0.05)


def _errors(npoints: int, noise: float, trials: int, seed: int):
    """cen and fwhm errors, in fwhm, on gaussians sampled over +-2 fwhm with noise."""
    rng = np.random.default_rng(seed)
    cen_errors, width_errors = [], []
    for _ in range(trials):
        centre = rng.uniform(-0.3, 0.3)
        x = np.linspace(-2, 2, npoints)
        y = gaussian(x, centre) + rng.normal(0, noise * 1000, npoints)
        result = cen(x, y)
        cen_errors.append(result.position - centre)
        width_errors.append(result.fwhm - 1.0)
    return np.abs(cen_errors), np.abs(width_errors)


@pytest.mark.parametrize("npoints", [21, 41])
def test_count_averaged_noise_stays_within_two_percent(npoints):
    # 0.3 % of the height per point: the demo's gaussian (1 % per sample) counted 0.1 s.
    cen_errors, width_errors = _errors(npoints, 0.003, trials=300, seed=npoints)
    assert cen_errors.max() < 0.02 and width_errors.max() < 0.02


def test_one_percent_noise_on_each_point():
    # What the noise allows (a gaussian least-squares fit does barely better): cen stays
    # within 2 %, the fwhm within 2 % for most scans, and the error shrinks with more points.
    cen_21, width_21 = _errors(21, 0.01, trials=400, seed=1)
    cen_41, width_41 = _errors(41, 0.01, trials=400, seed=2)
    assert cen_21.max() < 0.02 and cen_41.max() < 0.02
    assert np.sqrt(np.mean(width_21**2)) < 0.016
    assert np.sqrt(np.mean(width_41**2)) < 0.012
    assert np.mean(width_41 < 0.02) > 0.95


def test_trough_and_peak_of_a_dip():
    x = np.linspace(0, 10, 11)
    y = 100 - gaussian(x, centre=4.0, width=2.0, height=60)
    assert trough(x, y) == 4.0
    assert peak(x, y) in (0.0, 10.0)


def test_nan_points_are_left_out():
    x = np.linspace(-2, 2, 41)
    y = gaussian(x, 0.1)
    y[[3, 17, 30]] = np.nan
    assert cen(x, y).position == pytest.approx(0.1, abs=1e-3)
    assert peak(x, y) == pytest.approx(0.1)


def test_points_in_any_order_give_the_same_answer():
    x = np.linspace(2, -2, 41)  # a scan from high to low positions
    y = gaussian(x, -0.35)
    assert cen(x, y).position == pytest.approx(-0.35, abs=1e-3)
    shuffled = np.random.default_rng(0).permutation(41)
    assert cen(x[shuffled], y[shuffled]).fwhm == pytest.approx(cen(x, y).fwhm)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([0, 1], [1, 2], "only 2 valid point(s), at least 3 are needed"),
        ([0, 1, 2, 3], [np.nan, np.nan, 5, np.nan], "only 1 valid point(s)"),
        ([0, 1, 2], [np.nan] * 3, "all 3 values are NaN"),
        ([0, 1, 2, 3], [4, 4, 4, 4], "all values are equal (4): there is no peak"),
        ([0, 1, 2], [1, 2, 3, 4], "3 positions for 4 values"),
    ],
)
def test_bad_data_says_why_in_one_line(x, y, message):
    for tool in (cen, fwhm, com, peak, trough):
        with pytest.raises(PeakError) as caught:
            tool(x, y)
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_peak_at_an_edge_has_no_half_maximum_crossing():
    x = np.linspace(-2, 2, 41)
    with pytest.raises(PeakError, match=r"no crossing at half maximum after the peak: the peak "
                       r"is at the end of the scan \(2\); scan further"):  # fmt: skip
        cen(x, gaussian(x, centre=2.3))
    with pytest.raises(PeakError, match="before the peak: the peak is at the start"):
        fwhm(x, gaussian(x, centre=-2.5))
    assert peak(x, gaussian(x, centre=2.3)) == 2.0  # the maximum itself is still known


def test_axis_that_did_not_move():
    with pytest.raises(PeakError, match="every position is 1: the axis did not move"):
        cen([1, 1, 1], [1, 5, 1])
