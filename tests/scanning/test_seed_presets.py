"""Every example of the seed text scan-presets.txt, run as written (import paths translated)."""

import re
import sys

import gevent
import pytest

from beamshell.scanning.scan import ScanState
from beamshell.scanning.scans import loopscan

from .helpers import (
    HEADER_RE,
    SAVED_RE,
    TOOK_RE,
    WatchedStream,
    assert_lines_match,
    lines_of,
    row_re,
)


@pytest.fixture(params=["memory only", "publishing"])
def seed_env(request, env, config):
    """The examples as in a session: table on, with and without publishing to Redis."""
    if request.param == "publishing":
        env.redis = config.redis
    return env


TABLE_HEAD = [HEADER_RE, r"loopscan 2 0\.1", r"\s+#\s+dt\[s\]\s+diode"]


def test_scan_preset_example(seed_env, devices, capsys):
    diode = devices.diode
    from beamshell.scanning.scan import ScanPreset

    class Preset(ScanPreset):
        def prepare(self, scan):
            print(f"Preparing scan {scan.name}\n")

        def start(self, scan):
            print(f"Starting scan {scan.name}")
            print("Opening the shutter")

        def stop(self, scan):
            print(f"{scan.name} scan is stopped")
            print("Closing the shutter")

    p = Preset()
    s = loopscan(2, 0.1, diode, run=False)
    s.add_preset(p)
    assert capsys.readouterr().out == ""  # run=False: nothing happens yet
    s.run()

    out = capsys.readouterr().out
    assert "Preparing scan loopscan\n\n" in out  # the example's own "\n" makes a blank line
    matches = assert_lines_match(
        lines_of(out),
        TABLE_HEAD
        + [
            "Preparing scan loopscan",
            "Starting scan loopscan",
            "Opening the shutter",
            row_re(0, 2),
            row_re(1, 2),
            TOOK_RE,
            SAVED_RE,
            "loopscan scan is stopped",
            "Closing the shutter",
        ],
    )
    assert int(matches[0]["nb"]) == s.scan_number
    assert s.state is ScanState.DONE
    assert len(s.get_data()[diode]) == 2


def test_chain_preset_example(seed_env, devices, capsys):
    diode = devices.diode
    from beamshell.scanning.chain import ChainPreset

    class Preset(ChainPreset):
        def prepare(self, acq_chain):
            print("Preparing")

        def start(self, acq_chain):
            print("Starting, Opening the shutter")

        def stop(self, acq_chain):
            print("Stopped, closing the shutter")

    s = loopscan(2, 0.1, diode, run=False)
    p = Preset()
    s.acq_chain.add_preset(p)
    s.run()

    # The seed's output omits the "Preparing" line its own code prints; we print it, in its
    # place (prepare comes before start), and everything the seed shows, in the seed's order.
    assert_lines_match(
        lines_of(capsys.readouterr().out),
        TABLE_HEAD
        + [
            "Preparing",
            "Starting, Opening the shutter",
            row_re(0, 2),
            row_re(1, 2),
            "Stopped, closing the shutter",
            TOOK_RE,
            SAVED_RE,
        ],
    )


def test_chain_iteration_preset_example(seed_env, devices, capsys):
    diode = devices.diode
    from beamshell.scanning.chain import ChainIterationPreset, ChainPreset

    class Preset(ChainPreset):
        class Iterator(ChainIterationPreset):
            def __init__(self, iteration_nb):
                self.iteration = iteration_nb

            def prepare(self):
                print(f"Preparing iteration {self.iteration}")

            def start(self):
                print(f"Starting, Opening the shutter iter {self.iteration}")

            def stop(self):
                print(f"Stopped, closing the shutter, iter {self.iteration}")

        def get_iterator(self, acq_chain):
            iteration_nb = 0
            while True:
                yield Preset.Iterator(iteration_nb)
                iteration_nb += 1

    p = Preset()
    s = loopscan(2, 0.1, diode, run=False)
    s.acq_chain.add_preset(p)
    s.run()

    assert_lines_match(
        lines_of(capsys.readouterr().out),
        TABLE_HEAD
        + [
            "Preparing iteration 0",
            "Starting, Opening the shutter iter 0",
            "Stopped, closing the shutter, iter 0",
            "Preparing iteration 1",
            "Starting, Opening the shutter iter 1",
            row_re(0, 2),
            row_re(1, 2),
            "Stopped, closing the shutter, iter 1",
            TOOK_RE,
            SAVED_RE,
        ],
    )


def test_wait_for_beam_preset_pauses_the_scan_only(seed_env, devices, capsys, monkeypatch):
    diode = devices.beam  # the example's "diode" is the beam monitor
    diode.value = 0.0
    from beamshell.scanning.scan import ScanPreset

    class Preset(ScanPreset):
        def __init__(self, diode, beam_trigger_value):
            self._diode = diode
            self._beam_trigger_value = beam_trigger_value

        def prepare(self, scan):
            beam_value = self._diode.raw_read
            while beam_value < self._beam_trigger_value:
                print("Waiting for beam")
                print(f"read {beam_value} expect {self._beam_trigger_value}", end="\r")
                gevent.sleep(1)
                beam_value = self._diode.raw_read

    s = loopscan(2, 0.1, devices.diode, run=False)
    s.add_preset(Preset(diode, 50))
    seen_states = []
    stdout = WatchedStream(sys.stdout)
    monkeypatch.setattr(sys, "stdout", stdout)
    waiting = stdout.printed("Waiting for beam")

    def beam_comes_back():
        waiting.wait()
        seen_states.append(s.state)  # this greenlet runs while the scan waits in prepare
        diode.value = 100.0

    helper = gevent.spawn(beam_comes_back)
    s.run()
    helper.get()

    assert seen_states == [ScanState.PREPARING]
    assert s.state is ScanState.DONE
    out = capsys.readouterr().out
    assert "read 0.0 expect 50\r" in out
    lines = lines_of(out)
    waiting = [i for i, line in enumerate(lines) if line.startswith("Waiting for beam")]
    first_row = next(i for i, line in enumerate(lines) if re.fullmatch(row_re(0, 2), line))
    assert waiting and max(waiting) < first_row
    assert len(s.get_data()["diode"]) == 2
