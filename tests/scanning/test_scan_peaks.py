"""The peak tools as methods of a scan: which counter and axis, several axes, meshes, bad data."""

import math

import pytest

from beamshell.analysis import PeakError
from beamshell.hardware.simulation_counters import SimulatedCounter
from beamshell.scanning import scan_peaks, scans


class Spot2D(SimulatedCounter):
    """A 2-D gaussian spot under two axes (noise-free), for meshes."""

    def __init__(self, name, fast, slow, centre=(0.3, -0.2), widths=(1.0, 0.5)):
        super().__init__(name)
        self.fast, self.slow, self.centre, self.widths = fast, slow, centre, widths

    def simulated_sample(self):
        k = 4 * math.log(2)
        dx = (self.fast.position - self.centre[0]) / self.widths[0]
        dy = (self.slow.position - self.centre[1]) / self.widths[1]
        return 5.0 + 100.0 * math.exp(-k * (dx * dx + dy * dy))


def test_simulated_gaussian_with_noise_21_points(quiet_env, devices):
    # noise 0.01 of the height per sample, averaged over 0.1 s: cen and fwhm within 2 %.
    scan = scans.ascan(devices.m1, -1.7, 2.3, 20, 0.1, devices.gauss, devices.diode)
    centre, width = scan.cen()
    assert abs(centre - 0.3) < 0.02 and abs(width - 1.0) < 0.02
    assert abs(scan.fwhm() - 1.0) < 0.02
    assert abs(scan.com() - 0.3) < 0.02
    assert abs(scan.peak() - 0.3) <= 0.1  # a measured point: within half a step
    assert scan.peak(counter="gauss") == scan.peak(devices.gauss)


def test_default_counter_is_the_first_then_the_plotselected_one(quiet_env, devices):
    scan = scans.ascan(devices.m2, -1.2, 0.8, 40, 0, devices.spot, devices.diode2)
    assert scan.scan_info["plotselect"] == []
    assert scan.cen()[0] == pytest.approx(-0.2, abs=1e-3)  # spot: the scan's first counter
    quiet_env.plotselect = lambda: ["mca", "diode2", "spot"]  # mca is not in the next scan
    scan = scans.ascan(devices.m2, -1.2, 0.8, 40, 0, devices.spot, devices.diode2)
    assert scan.scan_info["plotselect"] == ["diode2", "spot"]
    with pytest.raises(PeakError, match=r"cen diode2 in scan \d+: all values are equal \(7\)"):
        scan.cen()
    assert scan.cen(counter=devices.spot)[1] == pytest.approx(0.5, abs=1e-3)


def test_several_axes_get_a_position_each(quiet_env, devices):
    # m1 moves twice as far as m2; the spot follows m2 (centre -0.2, fwhm 0.5).
    scan = scans.a2scan(devices.m1, -2, 2, devices.m2, -1, 1, 40, 0, devices.spot)
    positions, width = scan.cen()
    assert positions == pytest.approx({"m1": -0.4, "m2": -0.2}, abs=2e-3)
    assert width == pytest.approx(1.0, abs=2e-3)  # measured along m1, the first axis
    assert scan.cen(axis=devices.m2)[1] == pytest.approx(0.5, abs=1e-3)
    assert scan.peak() == pytest.approx({"m1": -0.4, "m2": -0.2}, abs=0.06)
    result = scan_peaks.find(scan, "cen", axis="m2")
    assert result.line().startswith("cen spot: m1 -0.4")
    assert result.line().endswith("(fwhm 0.5 on m2)")


def test_mesh_gives_two_dimensional_positions(quiet_env, devices):
    spot = Spot2D("spot2d", devices.m1, devices.m2)
    for axis in (devices.m1, devices.m2):
        axis.velocity, axis.acceleration = 1000, 1e6  # 496 short moves: keep them quick
    scan = scans.amesh(devices.m1, -2.7, 3.3, 30, devices.m2, -1.7, 1.3, 15, 0, spot,
                       backnforth=True)  # fmt: skip
    assert scan.peak() == pytest.approx({"m1": 0.3, "m2": -0.2}, abs=0.1)
    assert scan.com() == pytest.approx({"m1": 0.3, "m2": -0.2}, abs=1e-3)
    centre, widths = scan.cen()
    assert centre == pytest.approx({"m1": 0.3, "m2": -0.2}, abs=1e-3)
    assert widths == pytest.approx({"m1": 1.0, "m2": 0.5}, rel=0.02)
    assert scan.fwhm() == widths
    assert scan.trough()["m2"] in (-1.7, 1.3)


def test_scan_without_axis_is_measured_against_elapsed_time(quiet_env, devices):
    scan = scans.loopscan(5, 0, devices.diode)
    assert scan_peaks.scan_curve(scan).reference == "elapsed_time"
    assert scan_peaks.scan_axes(scan) == {}
    assert scan.peak() in scan.get_data()["elapsed_time"].tolist()


def test_bad_data_and_bad_arguments_say_what_is_wrong(quiet_env, devices):
    two_points = scans.ascan(devices.m2, 0, 1, 1, 0, devices.spot)
    with pytest.raises(PeakError, match=r"cen spot in scan \d+: only 2 valid point\(s\)"):
        two_points.cen()
    scan = scans.ascan(devices.m2, 0, 2, 20, 0, devices.spot, devices.diode2)
    with pytest.raises(PeakError, match=r"peak: scan \d+ has no counter diode "
                       r"\(counters: spot, diode2\)"):  # fmt: skip
        scan.peak(devices.diode)
    with pytest.raises(PeakError, match=r"com: m1 is not an axis of scan \d+ \(axes: m2\)"):
        scan.com(axis=devices.m1)
    with pytest.raises(PeakError, match="the peak is at the start of the scan"):
        scan.cen()  # the spot (centre -0.2) is before the scan's start
    with pytest.raises(PeakError, match=r"trough diode2 .* all values are equal"):
        scan.trough(devices.diode2)


def test_aborted_scan_uses_its_complete_points(quiet_env, devices):
    from beamshell.scanning.chain import ChainIterationPreset, ChainPreset

    class StopAfter(ChainPreset):
        def get_iterator(self, chain):
            for index in range(100):
                if index == 30:
                    raise_it = ChainIterationPreset()
                    raise_it.prepare = lambda: (_ for _ in ()).throw(RuntimeError("stop here"))
                    yield raise_it
                yield ChainIterationPreset()

    scan = scans.ascan(devices.m2, -1.2, 0.8, 40, 0, devices.spot, run=False)
    scan.acq_chain.add_preset(StopAfter())
    with pytest.raises(RuntimeError, match="stop here"):
        scan.run()
    assert scan.npoints_done == 30
    assert scan.cen()[0] == pytest.approx(-0.2, abs=1e-3)  # the peak was in the first 30


def test_plotselect_is_published_with_the_scan(publishing_env, devices):
    scan = scans.ascan(devices.m1, 0, 1, 4, 0, devices.diode, devices.diode2)
    assert scan.node.info["plotselect"] == []
    publishing_env.plotselect = lambda: ["beam", "diode2"]  # beam is not a channel of the scan
    scan = scans.ascan(devices.m1, 0, 1, 4, 0, devices.diode, devices.diode2)
    assert scan.node.info["plotselect"] == ["diode2"]
