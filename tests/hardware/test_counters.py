"""Counters: sampling modes, count-time integration, simulated kinds, read failures."""

import time

import gevent
import numpy as np
import pytest
from tests.hardware.conftest import MOTORS_YML

from beamshell.errors import ConfigError
from beamshell.hardware.counters import (
    CounterController,
    CounterReadError,
    CounterStats,
    SamplingCounter,
    SamplingMode,
)
from beamshell.hardware.simulation_counters import SimulationDiode, SimulationMca

COUNTERS_YML = """
- {name: diode, class: simulation_diode, unit: mV}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: quiet, class: simulation_diode, level: 50, noise: 0}
- {name: stats, class: simulation_diode, level: 10, noise: 0.5, mode: STATS}
- {name: single, class: simulation_diode, mode: single}
- {name: gauss, class: simulation_gaussian, axis: $m1, center: 2, fwhm: 1, height: 1000}
- {name: noisy_gauss, class: simulation_gaussian, axis: $m1, center: 0, fwhm: 1,
   height: 1000, noise: 0.01, background: 20}
- {name: beam, class: simulation_beam_monitor, value: 100}
- {name: mca, class: simulation_mca, size: 256}
- {name: broken, class: simulation_diode, fault: "detector not answering"}
"""


@pytest.fixture
def config(make_config):
    return make_config({"motors.yml": MOTORS_YML, "counters.yml": COUNTERS_YML})


def read(counter, count_time=0.0):
    return counter.controller.read_all([counter], count_time)[0]


class Sequencer(CounterController):
    """A controller whose counters read 1, 2, 3, ... so the reduction can be checked exactly."""

    def __init__(self):
        super().__init__("sequencer")
        self.calls = []

    def read_samples(self, counters):
        self.calls.append(time.monotonic())
        return [float(len(self.calls))] * len(counters)


def test_top_level_counter_is_its_own_controllers_only_counter(config):
    diode = config.get("diode")
    assert isinstance(diode, SimulationDiode)
    assert diode.controller.counters == (diode,)
    assert diode.name == diode.config_name == "diode"
    assert diode.unit == "mV" and diode.dtype == np.float64 and diode.shape == ()
    assert diode.mode is SamplingMode.MEAN
    assert config.get("diode2").controller is not diode.controller


def test_count_time_zero_reads_one_sample_without_sleeping():
    controller = Sequencer()
    mean = SamplingCounter("a", controller)
    stats = SamplingCounter("b", controller, mode="STATS")
    assert controller.read_all([mean, stats], 0) == [1.0, CounterStats(1.0, 0.0, 1.0, 1.0, 1)]
    assert len(controller.calls) == 1


def test_mean_and_stats_integrate_over_the_count_time():
    controller = Sequencer()
    mean = SamplingCounter("a", controller, mode=SamplingMode.MEAN)
    stats = SamplingCounter("b", controller, mode=SamplingMode.STATS)
    single = SamplingCounter("c", controller, mode=SamplingMode.SINGLE)
    start = time.monotonic()
    values = controller.read_all([mean, stats, single], 0.1)
    assert time.monotonic() - start >= 0.1
    n = len(controller.calls)
    # One read per sample for all three, from the start to the end of the count time (how
    # many in between depends on how busy the machine is: at least the first and the last).
    assert n >= 2
    assert controller.calls[-1] - controller.calls[0] >= 0.1 - 1e-3
    assert values[0] == pytest.approx((n + 1) / 2)
    assert values[1] == CounterStats(
        pytest.approx((n + 1) / 2), pytest.approx(np.std(np.arange(1, n + 1))), 1.0, float(n), n
    )
    assert values[2] == 1.0  # SINGLE: the first sample


def test_single_mode_samples_once_and_still_waits():
    controller = Sequencer()
    single = SamplingCounter("c", controller, mode="SINGLE")
    start = time.monotonic()
    assert controller.read_all([single], 0.05) == [1.0]
    assert time.monotonic() - start >= 0.05
    assert len(controller.calls) == 1


def test_negative_count_time_is_refused():
    controller = Sequencer()
    with pytest.raises(ValueError, match="count time must be 0 or more, got -1"):
        controller.read_all([SamplingCounter("a", controller)], -1)


def test_read_all_lets_other_greenlets_run(config):
    diode = config.get("diode")
    others = []
    gevent.spawn(others.append, "ran")  # runs as soon as the read lets anything else run
    start = time.monotonic()
    read(diode, 0.1)
    assert time.monotonic() - start >= 0.1
    assert others == ["ran"]
    others.clear()
    gevent.spawn(others.append, "ran")
    read(diode, 0)  # no count time: one sample, nothing to wait for
    assert others == []


def test_mean_of_a_count_is_less_noisy_than_one_sample(config):
    diode = config.get("diode")  # noise: 10 around 100
    single = np.std([diode.raw_read for _ in range(200)])
    means = [read(diode, 0.05) for _ in range(10)]
    assert 90 < np.mean(means) < 110
    # How many samples a count of 0.05 s takes depends on how busy the machine is (about
    # 6 on an idle one): STATS mode tells. The mean of n independent samples spreads as
    # noise / sqrt(n): scaled back by sqrt(n), it spreads like one sample (a "mean" that
    # were one sample would spread sqrt(n) times more, about 2.4 times). For 30 counts,
    # 0.4 and 1.9 leave less than one chance in a million of failing by bad luck (0.5 and
    # 1.6 left one in 13,000, too many for a suite run on every change).
    diode.mode = "STATS"
    counts = [read(diode, 0.05) for _ in range(30)]
    scaled = [(count.mean - diode.level) * np.sqrt(count.npoints) for count in counts]
    assert 0.4 * single < np.std(scaled) < 1.9 * single


def test_diode_is_noisy_around_its_level(config):
    diode = config.get("diode")
    samples = [diode.raw_read for _ in range(200)]
    assert len(set(samples)) == 200
    assert 90 < np.mean(samples) < 110
    assert 5 < np.std(samples) < 15  # default noise: 10% of the level
    assert config.get("quiet").raw_read == 50


def test_constant_diode_always_reads_its_constant(config):
    diode2 = config.get("diode2")
    assert diode2.raw_read == 7
    assert read(diode2, 0.03) == 7
    diode2.mode = "STATS"
    assert read(diode2, 0.03)[:4] == (7, 0, 7, 7)


def test_stats_mode_from_config(config):
    stats = config.get("stats")
    assert stats.mode is SamplingMode.STATS
    result = read(stats, 0.05)
    assert isinstance(result, CounterStats)
    assert result.npoints >= 2  # the first and the last sample at least
    assert result.min <= result.mean <= result.max
    assert result.std > 0
    assert isinstance(stats.raw_read, float)  # raw_read is one plain reading whatever the mode
    assert config.get("single").mode is SamplingMode.SINGLE


def test_mode_can_be_changed_and_bad_modes_are_refused(config):
    diode = config.get("diode")
    diode.mode = SamplingMode.SINGLE
    assert diode.mode is SamplingMode.SINGLE
    with pytest.raises(ValueError, match="diode: unknown sampling mode 'AVERAGE'"):
        diode.mode = "AVERAGE"


def test_gaussian_peaks_at_its_center_on_the_axis(config):
    gauss, m1 = config.get("gauss"), config.get("m1")
    assert gauss.raw_read == pytest.approx(1000 * 2**-16)  # m1 at 0: two FWHM from the peak
    m1.move(2)
    assert gauss.raw_read == pytest.approx(1000)
    m1.move(2.5)  # half the FWHM away: half the height
    assert gauss.raw_read == pytest.approx(500)
    m1.move(1.5)
    assert read(gauss, 0.02) == pytest.approx(500)


def test_gaussian_scan_finds_the_peak(config):
    gauss, m1 = config.get("gauss"), config.get("m1")
    positions = np.linspace(0, 4, 41)
    values = []
    for position in positions:
        m1.move(position)
        values.append(read(gauss))
    assert positions[int(np.argmax(values))] == pytest.approx(2)


def test_gaussian_noise_and_background(config):
    noisy = config.get("noisy_gauss")  # m1 at 0 = center: 1020 +- 10
    samples = [noisy.raw_read for _ in range(200)]
    assert 1015 < np.mean(samples) < 1025
    assert 5 < np.std(samples) < 15
    config.get("m1").move(-20)
    assert np.mean([noisy.raw_read for _ in range(200)]) == pytest.approx(20, abs=5)


def test_gaussian_reads_the_axis_while_it_moves(config):
    gauss, m1 = config.get("gauss"), config.get("m1")
    m1.move(100, wait=False)  # 10 s: still on its way when read
    gevent.sleep(0.25)  # at least 1.5 mm from 0, where the reading would be the rest value
    for _ in range(5):
        before = m1.position
        value = gauss.raw_read
        after = m1.position
        assert m1.is_moving and 1.5 - 1e-3 <= before <= after
        # The reading is the peak at the position the axis had when read (between the two
        # positions read around it; the peak is at 2).
        candidates = [gauss.peak_value(before), gauss.peak_value(after)]
        if before <= 2 <= after:
            candidates.append(gauss.peak_value(2))
        assert min(candidates) <= value <= max(candidates)
        gevent.sleep(0.02)
    m1.stop()


def test_beam_monitor_value_is_settable(config):
    beam = config.get("beam")
    assert beam.raw_read == 100
    beam.value = 0
    assert beam.raw_read == 0
    assert read(beam, 0.02) == 0
    beam.value = 250.5
    assert beam.raw_read == 250.5
    with pytest.raises(ValueError, match="beam: value must be a number, got 'lots'"):
        beam.value = "lots"
    assert beam.value == 250.5


def test_mca_gives_spectra(config):
    mca = config.get("mca")
    assert mca.shape == (256,) and mca.dtype == np.uint32  # counts, as a real MCA gives
    spectrum = mca.raw_read
    assert isinstance(spectrum, np.ndarray) and spectrum.shape == (256,)
    assert spectrum.dtype == np.uint32
    assert spectrum.argmax() == pytest.approx(0.3 * 256, abs=3)
    first = mca.raw_read
    first[:] = 0  # a reading is the caller's own array
    assert mca.raw_read.max() > 0
    assert mca.mode is SamplingMode.SINGLE
    assert read(mca, 0.0).shape == (256,)
    mca.mode = "MEAN"  # the mean of a count's spectra: not counts any more
    assert mca.dtype == np.float64
    mean = read(mca, 0.03)
    assert mean.shape == (256,) and mean.dtype == np.float64
    with pytest.raises(ValueError, match="mca: STATS mode needs a scalar counter"):
        mca.mode = "STATS"
    assert mca.mode is SamplingMode.MEAN and mca.dtype == np.float64
    mca.mode = "SINGLE"
    assert mca.dtype == np.uint32


def test_mca_spectra_are_poisson_noisy_around_the_expected_spectrum():
    mca = SimulationMca("other", size=512, seed=1)
    spectra = np.array([mca.raw_read for _ in range(200)])
    # A read is one of 16 noisy spectra drawn at random: three reads in a row were the same
    # one 1 time in 256 (a flaky test); all 200 the same, never.
    assert len({spectrum.tobytes() for spectrum in spectra}) > 1
    assert np.allclose(spectra.mean(axis=0), mca.expected, rtol=0.5, atol=10)


def test_a_failing_counter_raises_naming_it(config):
    broken = config.get("broken")
    with pytest.raises(CounterReadError, match="^broken: read failed: detector not answering$"):
        _ = broken.raw_read
    with pytest.raises(CounterReadError, match="broken: read failed"):
        read(broken, 0.02)
    broken.clear_fault()
    assert broken.raw_read > 0
    diode = config.get("diode")
    diode.simulate_fault("amplifier overload")
    with pytest.raises(CounterReadError, match="diode: read failed: amplifier overload"):
        read(diode)
    assert "FAULT: amplifier overload" in repr(diode)


def test_diodes_read_together_give_each_its_own_sample_in_order(config):
    """A group of plain diodes is read by one loop (a read plan): the values are those
    each diode would give alone, in the counters' order, from the same random numbers."""
    import random

    diodes = [config.get(name) for name in ("diode", "quiet", "single")]
    controller = diodes[0].controller
    state = random.getstate()  # given back: other tests' draws stay unseeded
    try:
        random.seed(1234)
        together = controller.read_all(diodes, 0)
        random.seed(1234)
        alone = [d.level + random.gauss(0.0, d.noise * d.level) for d in diodes]
    finally:
        random.setstate(state)
    assert together == alone
    assert together[1] == 50.0  # noise 0


def test_settings_changed_between_points_apply_at_the_next_read(config):
    diodes = [config.get("quiet"), config.get("diode2")]
    controller = diodes[0].controller
    assert controller.read_all(diodes, 0) == [50.0, 7.0]
    diodes[0].level = 80.0
    diodes[1].constant = None
    diodes[1].noise = 0.0
    diodes[1].level = 3.0
    assert controller.read_all(diodes, 0) == [80.0, 3.0]
    diodes[1].constant = 9.0
    assert controller.read_all(diodes, 0) == [80.0, 9.0]
    diodes[0].simulate_fault("cable cut")
    with pytest.raises(CounterReadError, match="quiet: read failed: cable cut"):
        controller.read_all(diodes, 0)
    diodes[0].clear_fault()
    assert controller.read_all(diodes, 0) == [80.0, 9.0]


def test_unexpected_error_in_a_controller_names_its_counters():
    class Broken(CounterController):
        def read_samples(self, counters):
            raise OSError("device unplugged")

    controller = Broken("adc")
    counters = [SamplingCounter("i0", controller), SamplingCounter("i1", controller)]
    with pytest.raises(CounterReadError, match="reading i0, i1 failed: OSError: device unplugged"):
        controller.read_all(counters, 0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: d, class: simulation_diode, colour: red}", "unknown key 'colour'"),
        ("{name: d, class: simulation_diode, noise: lots}", "'noise' must be a number, got 'lots'"),
        ("{name: d, class: simulation_diode, noise: -1}", "'noise' must be 0 or more"),
        (
            "{name: d, class: simulation_diode, mode: AVERAGE}",
            "'mode' must be one of SINGLE, MEAN, STATS",
        ),
        ("{name: d, class: simulation_gaussian, center: 0}", "missing required key 'axis'"),
        (
            "{name: d, class: simulation_gaussian, axis: $nothing}",
            "reference '$nothing' to a missing object",
        ),
        (
            "{name: d, class: simulation_gaussian, axis: $beam2}",
            "'axis' must refer to a motor axis",
        ),
        (
            "{name: d, class: simulation_gaussian, axis: $m1, fwhm: 0}",
            "'fwhm' must be greater than 0",
        ),
        ("{name: d, class: simulation_mca, size: 0}", "'size' must be between 1 and"),
        ("{name: d, class: simulation_mca, size: 1.5}", "'size' must be an integer"),
        ("{name: d, class: simulation_mca, mode: STATS}", "mode STATS needs a scalar counter"),
        ("{name: d, class: simulation_beam_monitor, value: high}", "'value' must be a number"),
        (
            "{name: d, class: simulation_diode, fault: 3}",
            "'fault' must be true, false or a message",
        ),
    ],
)
def test_config_errors_name_file_and_line(make_config, entry, message):
    config = make_config(
        {
            "motors.yml": MOTORS_YML,
            "bad.yml": f"# a comment\n- {{name: beam2, class: simulation_beam_monitor}}\n- {entry}\n",
        }
    )
    with pytest.raises(ConfigError) as info:
        config.get("d")
    assert str(info.value).startswith(f"{config.root_dir / 'bad.yml'}:3: object 'd': ")
    assert message in str(info.value)


def test_repr_is_readable(config):
    assert repr(config.get("diode2")) == "<diode2 (simulation_diode, constant 7, mode MEAN)>"
    assert "peak on m1 at 2" in repr(config.get("gauss"))
    assert "value 100" in repr(config.get("beam"))
    assert "256 channels" in repr(config.get("mca"))
