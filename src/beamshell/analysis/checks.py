"""What the peak tools accept: finite (x, y) pairs, at least 3, not all equal; else PeakError."""

from __future__ import annotations

import numpy as np

MIN_POINTS = 3


class PeakError(ValueError):
    """The data cannot give the asked number (too few points, flat, no half-max crossing...);
    the message says why in one line."""


def clean_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as float arrays sorted by x, without the pairs where either is NaN or infinite."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise PeakError(f"{len(x)} positions for {len(y)} values")
    check_values(y)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(y) < MIN_POINTS:
        raise PeakError(f"only {len(y)} valid point(s), at least {MIN_POINTS} are needed")
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def check_values(y: np.ndarray) -> np.ndarray:
    """The finite values of `y`; refuses fewer than 3 of them and values that are all equal."""
    finite = y[np.isfinite(y)]
    if len(y) and not len(finite):
        raise PeakError(f"all {len(y)} values are NaN")
    if len(finite) < MIN_POINTS:
        raise PeakError(f"only {len(finite)} valid point(s), at least {MIN_POINTS} are needed")
    if finite.min() == finite.max():
        raise PeakError(f"all values are equal ({finite[0]:g}): there is no peak")
    return finite
