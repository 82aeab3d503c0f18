"""Meshes: points placed in an image (also back and forth, also interrupted), 2-D com and cen."""

import math

import numpy as np
import pytest

from beamshell.analysis import PeakError, mesh_cen, mesh_com, mesh_image


def mesh_points(fast_line, slow_rows, backnforth=False):
    fast = np.concatenate(
        [fast_line[::-1] if backnforth and row % 2 else fast_line for row in range(len(slow_rows))]
    )
    slow = np.repeat(slow_rows, len(fast_line))
    return fast, slow


def spot(fast, slow, centre=(0.3, -0.2), widths=(1.0, 0.5), height=100.0, background=5.0):
    k = 4 * math.log(2)
    return background + height * np.exp(
        -k * (fast - centre[0]) ** 2 / widths[0] ** 2 - k * (slow - centre[1]) ** 2 / widths[1] ** 2
    )


@pytest.mark.parametrize("backnforth", [False, True])
def test_points_land_in_their_cells(backnforth):
    line, rows = np.array([0.0, 1.0, 2.0]), np.array([10.0, 20.0])
    fast, slow = mesh_points(line, rows, backnforth)
    values = fast + slow  # each value says where it was taken
    mesh = mesh_image(fast, slow, values, (2, 3), backnforth)
    assert mesh.fast.tolist() == [0.0, 1.0, 2.0] and mesh.slow.tolist() == [10.0, 20.0]
    assert mesh.image.tolist() == [[10, 11, 12], [20, 21, 22]]


def test_an_interrupted_mesh_leaves_nan_where_nothing_was_taken():
    fast, slow = mesh_points(np.arange(4.0), np.arange(3.0))
    mesh = mesh_image(fast, slow, np.arange(6.0), (3, 4))  # stopped after 6 of 12 points
    assert np.isnan(mesh.image[1, 2:]).all() and np.isnan(mesh.image[2]).all()
    assert mesh.slow.tolist() == [0.0, 1.0, 2.0]  # every row's position is known


def test_two_dimensional_centre_of_mass_and_cen():
    fast, slow = mesh_points(np.linspace(-3, 3, 61), np.linspace(-1.5, 1.5, 31), True)
    mesh = mesh_image(fast, slow, spot(fast, slow), (31, 61), backnforth=True)
    com_fast, com_slow = mesh_com(mesh)
    assert (com_fast, com_slow) == pytest.approx((0.3, -0.2), abs=1e-3)
    along_fast, along_slow = mesh_cen(mesh)
    assert along_fast.position == pytest.approx(0.3, abs=1e-3)
    assert along_slow.position == pytest.approx(-0.2, abs=1e-3)
    # A projection of a 2-D gaussian is a gaussian of the same width (plus background).
    assert along_fast.fwhm == pytest.approx(1.0, rel=0.02)
    assert along_slow.fwhm == pytest.approx(0.5, rel=0.02)


def test_flat_mesh_and_spot_on_an_edge_are_refused():
    fast, slow = mesh_points(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    flat = mesh_image(fast, slow, np.full(25, 3.0), (5, 5))
    with pytest.raises(PeakError, match="all values are equal"):
        mesh_com(flat)
    edge = mesh_image(fast, slow, spot(fast, slow, centre=(1.2, 0.0), widths=(0.5, 0.5)), (5, 5))
    with pytest.raises(PeakError, match="along the fast axis: no crossing at half maximum"):
        mesh_cen(edge)
