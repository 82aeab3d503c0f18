"""A small beamline configuration for the session tests, written fresh for each test."""

import textwrap

import pytest

MOTORS = """\
controller:
  class: mockup
  axes:
    - {name: m1, velocity: 20, acceleration: 200, steps_per_unit: 1000,
       low_limit: -10, high_limit: 10, unit: mm}
    - {name: m2, velocity: 20, acceleration: 200, steps_per_unit: 1000,
       low_limit: -10, high_limit: 10}
    - {name: m3, velocity: 20, acceleration: 200, steps_per_unit: 100}
"""

COUNTERS = """\
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2]}
- {name: MG2, class: MeasurementGroup, counters: [$diode2]}
- {name: broken, class: simulation_diode, no_such_key: 1}
"""

SESSIONS = """\
- name: base
  class: Session
  setup-file: ./base_setup.py
  config-objects: [m3, diode2]
- name: main
  class: Session
  setup-file: ./main_setup.py
  config-objects: [m1, m2, diode, MG1, MG2, broken, ghost]
  include-sessions: [base]
  exclude-objects: [m2]
  aliases:
    - {original_name: m1, alias_name: th}
- name: plain
  class: Session
  config-objects: [m1, m2, diode, diode2, MG1]
- name: faulty
  class: Session
  setup-file: ./faulty_setup.py
  config-objects: [m1, diode]
"""


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "motors.yml").write_text(MOTORS)
    (tmp_path / "counters.yml").write_text(COUNTERS)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "sessions.yml").write_text(SESSIONS)
    (sessions / "base_setup.py").write_text("ORDER = ['base']\n")
    (sessions / "main_setup.py").write_text(
        textwrap.dedent("""\
        ORDER.append('main')
        print('welcome to main')
        """)
    )
    (sessions / "faulty_setup.py").write_text("x = 1\nundefined_name + 1\ny = 2\n")
    return tmp_path


@pytest.fixture
def open_session(config_dir, redis_url):
    """load_session for this test's configuration; every session is closed at the end."""
    from beamshell.sessions import load_session

    opened = []

    def opener(name="plain", **kwargs):
        session = load_session(name, config_dir=config_dir, redis_url=redis_url, **kwargs)
        opened.append(session)
        return session

    yield opener
    for session in opened:
        session.close()
