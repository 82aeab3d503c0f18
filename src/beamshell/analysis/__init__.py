"""Peak tools on numpy arrays (peak, trough, com, cen, fwhm, meshes): numpy only, no devices.

The session's `cen()`/`goto_cen()`, the file writer and the live plot page use these same
functions, so that every place shows the same numbers for the same data.
"""

from beamshell.analysis.checks import PeakError
from beamshell.analysis.halfmax import HalfMax, cen, fwhm
from beamshell.analysis.mesh import MeshImage, mesh_cen, mesh_com, mesh_image
from beamshell.analysis.peaks import background, com, peak, peak_index, trough, trough_index

__all__ = [
    "HalfMax",
    "MeshImage",
    "PeakError",
    "background",
    "cen",
    "com",
    "fwhm",
    "mesh_cen",
    "mesh_com",
    "mesh_image",
    "peak",
    "peak_index",
    "trough",
    "trough_index",
]
