"""Meshes: the points of a 2-D grid scan as an image, its centre of mass and its cen per axis."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from beamshell.analysis.checks import PeakError, check_values
from beamshell.analysis.halfmax import HalfMax, cen

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


class MeshImage(NamedTuple):
    """`image[row, column]`: rows follow the slow axis, columns the fast one; NaN where no
    point was taken (an interrupted mesh). `fast`/`slow` hold each column's / row's position."""

    fast: np.ndarray
    slow: np.ndarray
    image: np.ndarray


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():  # an empty row or column is NaN, which is what we want
        warnings.simplefilter("ignore", RuntimeWarning)
        mean: np.ndarray = np.nanmean(values, axis=axis)
        return mean


def mesh_image(
    fast: ArrayLike,
    slow: ArrayLike,
    values: ArrayLike,
    shape: tuple[int, int],
    backnforth: bool = False,
) -> MeshImage:
    """Place the points of a mesh, taken line by line along the fast axis, in an image.

    `shape` is (rows, columns); with `backnforth` every other line was taken backwards.
    The positions may go further than the values (the planned positions of a mesh still
    running): the image is NaN where no value is yet.
    """
    rows, columns = (int(n) for n in shape)
    values = np.asarray(values, dtype=float).ravel()
    fast = np.asarray(fast, dtype=float).ravel()
    slow = np.asarray(slow, dtype=float).ravel()
    image = np.full((rows, columns), np.nan)
    row, column = _cells(min(len(values), rows * columns), columns, backnforth)
    image[row, column] = values[: len(row)]
    fast_grid = np.full((rows, columns), np.nan)
    slow_grid = np.full((rows, columns), np.nan)
    row, column = _cells(min(len(fast), len(slow), rows * columns), columns, backnforth)
    fast_grid[row, column] = fast[: len(row)]
    slow_grid[row, column] = slow[: len(row)]
    return MeshImage(_nanmean(fast_grid, 0), _nanmean(slow_grid, 1), image)


def _cells(count: int, columns: int, backnforth: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the first `count` points of a mesh."""
    index = np.arange(count)
    row, column = index // columns, index % columns
    if backnforth:
        column = np.where(row % 2 == 1, columns - 1 - column, column)
    return row, column


def image_background(image: np.ndarray) -> float:
    """The lowest of the mean levels along the four borders of the image (NaN ignored)."""
    finite_rows = [r for r in (image[0], image[-1]) if np.isfinite(r).any()]
    finite_cols = [c for c in (image[:, 0], image[:, -1]) if np.isfinite(c).any()]
    borders = [float(np.nanmean(border)) for border in finite_rows + finite_cols]
    return min(borders)


def mesh_com(mesh: MeshImage) -> tuple[float, float]:
    """Centre of mass (fast, slow) of the image after subtracting its background."""
    check_values(mesh.image.ravel())
    weights = mesh.image - image_background(mesh.image)
    fast, slow = np.meshgrid(mesh.fast, mesh.slow)
    usable = np.isfinite(weights) & np.isfinite(fast) & np.isfinite(slow)
    weights, fast, slow = weights[usable], fast[usable], slow[usable]
    mass = weights.sum()
    if not mass > 0:
        raise PeakError("no signal above the background")
    return float((weights * fast).sum() / mass), float((weights * slow).sum() / mass)


def mesh_cen(mesh: MeshImage) -> tuple[HalfMax, HalfMax]:
    """cen along each axis, of the image's projection on that axis (mean over the other)."""
    check_values(mesh.image.ravel())
    results = []
    for name, positions, profile in (
        ("fast", mesh.fast, _nanmean(mesh.image, 0)),
        ("slow", mesh.slow, _nanmean(mesh.image, 1)),
    ):
        try:
            results.append(cen(positions, profile))
        except PeakError as exc:
            raise PeakError(f"along the {name} axis: {exc}") from None
    return results[0], results[1]
