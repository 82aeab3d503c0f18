"""Fixtures for the shell tests: a small configuration and a `beamshell` driven through a pty."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from shell_pty import Shell, shell_environment

MOTORS = """\
controller:
  name: test_motors
  class: mockup
  axes:
    - {name: m1, velocity: 10, acceleration: 100, steps_per_unit: 1000,
       low_limit: -100, high_limit: 100, unit: mm}
    - {name: slow, velocity: 1, acceleration: 10, steps_per_unit: 1000,
       low_limit: -100, high_limit: 100, unit: mm}
"""

COUNTERS = """\
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2]}
- {name: gauss, class: simulation_gaussian, axis: $m1, center: 0.7, fwhm: 1, height: 1000,
   noise: 0.01}
"""

SESSIONS = """\
- name: test_session
  class: Session
  setup-file: ./test_setup.py
  config-objects: [m1, slow, diode, diode2, MG1, gauss]
- name: broken_setup
  class: Session
  setup-file: ./broken_setup.py
  config-objects: [m1, diode]
"""

TEST_SETUP = """\
SETUP_DONE = True
"""

BROKEN_SETUP = """\
value = 1
raise RuntimeError("setup deliberately broken")
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A configuration with two motors (one slow), two diodes, a measurement group, sessions."""
    root = tmp_path / "config"
    (root / "sessions").mkdir(parents=True)
    (root / "motors.yml").write_text(MOTORS)
    (root / "counters.yml").write_text(COUNTERS)
    (root / "sessions" / "sessions.yml").write_text(SESSIONS)
    (root / "sessions" / "test_setup.py").write_text(TEST_SETUP)
    (root / "sessions" / "broken_setup.py").write_text(BROKEN_SETUP)
    return root


@pytest.fixture
def shell_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """Environment of a spawned shell: test Redis, private HOME and history, no CPR wait."""
    return shell_environment(tmp_path / "home", redis_url)


@pytest.fixture
def spawn_shell(shell_env, config_dir, tmp_path):
    """Start `beamshell -s NAME --config DIR [args]`; every shell is killed at the end."""
    shells: list[Shell] = []

    def spawn(session: str = "test_session", *extra: str, size=None, env=None) -> Shell:
        """`size`: (rows, columns) of the terminal; `env`: the environment instead of shell_env."""
        args = ["-s", session, "--config", str(config_dir), *extra]
        log = tmp_path / f"pty-{len(shells)}.log"
        shell = Shell(args, env or shell_env, log, size or (50, 160))
        shells.append(shell)
        return shell

    yield spawn
    for shell in shells:
        shell.close()


@pytest.fixture
def write_macro(tmp_path):
    def write(name: str, source: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write
