"""What the peak tools accept: finite (x, y) pairs, at least 3, not all equal; else PeakError."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

MIN_POINTS = 3


class PeakError(ValueError):
    """The data cannot give the asked number (too few points, flat, no half-max crossing...);
    the message says why in one line."""


def clean_xy(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as float arrays sorted by x, without the pairs where either is NaN or infinite."""
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    if len(xs) != len(ys):
        raise PeakError(f"{len(xs)} positions for {len(ys)} values")
    check_values(ys)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(ys) < MIN_POINTS:
        raise PeakError(f"only {len(ys)} valid point(s), at least {MIN_POINTS} are needed")
    order = np.argsort(xs, kind="stable")
    return xs[order], ys[order]


def check_values(y: np.ndarray) -> np.ndarray:
    """The finite values of `y`; refuses fewer than 3 of them and values that are all equal."""
    finite: np.ndarray = y[np.isfinite(y)]
    if len(y) and not len(finite):
        raise PeakError(f"all {len(y)} values are NaN")
    if len(finite) < MIN_POINTS:
        raise PeakError(f"only {len(finite)} valid point(s), at least {MIN_POINTS} are needed")
    if finite.min() == finite.max():
        raise PeakError(f"all values are equal ({finite[0]:g}): there is no peak")
    return finite
