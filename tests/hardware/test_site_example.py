"""The real-hardware example of docs/hardware.md (examples/site_hardware.py) runs scans.

Its instruments answer through LoopbackLink (no hardware here); what is tested is that a
site's controllers written against beamshell.hardware.protocols work through the whole
path: configuration, session, moves, counts, scans.
"""

from pathlib import Path

import pytest

from beamshell.hardware.protocols import CounterReadout, MotorController, ScanAxis, ScanCounter
from beamshell.sessions import load_session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

DEVICES = """\
- name: pico
  class: site_hardware.Picoammeter
  host: loopback
  counters:
    - {name: i0, unit: nA}
- name: stage
  class: site_hardware.StepperController
  host: loopback
  axes:
    - {name: sx, velocity: 20, acceleration: 200, steps_per_unit: 200, unit: mm,
       low_limit: -10, high_limit: 10}
- {name: site, class: Session}
"""


@pytest.fixture
def site(tmp_path, redis_url, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    config = tmp_path / "config"
    config.mkdir()
    (config / "__init__.yml").write_text("packages: [site_hardware]\n")
    (config / "devices.yml").write_text(DEVICES)
    session = load_session("site", config, redis_url=redis_url)
    yield session
    session.close()


def test_site_controllers_satisfy_the_protocols(site):
    ns = site.env_dict
    assert not [line for line in site.load_report if line.startswith("ERROR")]
    assert isinstance(ns["pico"], CounterReadout)
    assert isinstance(ns["stage"], MotorController)
    assert isinstance(ns["i0"], ScanCounter) and isinstance(ns["sx"], ScanAxis)


def test_a_scan_moves_the_site_motor_and_reads_the_site_counter(site):
    ns = site.env_dict
    scan = ns["ascan"](ns["sx"], 0, 1, 4, 0.01, ns["i0"], display=False)
    data = scan.get_data()
    assert scan.state.name == "DONE"
    assert list(data["sx"]) == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert all(100 <= value <= 105 for value in data["i0"])
    ns["umv"](ns["sx"], 2)
    assert ns["sx"].position == pytest.approx(2)
    ns["sx"].position = 0  # redefines: nothing moves, the dial stays
    assert ns["sx"].dial == pytest.approx(2) and ns["sx"].position == pytest.approx(0)
