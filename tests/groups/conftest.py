"""A session named as in the seed text (test_session), with a diode and a motor."""

import pytest

CONFIG = """\
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: MG1, class: MeasurementGroup, counters: [$diode]}
- name: test_session
  class: Session
  config-objects: [diode, diode2, MG1]
  scan-saving: {base_path: /tmp/scans}   # node names as in the seed text
"""


@pytest.fixture
def session(tmp_path, redis_url):
    from beamshell.sessions import load_session

    (tmp_path / "beamline.yml").write_text(CONFIG)
    opened = load_session("test_session", config_dir=tmp_path, redis_url=redis_url)
    yield opened
    opened.close()


@pytest.fixture
def run(session):
    """Run a block of code in the session's namespace, as typed at the prompt."""

    def runner(code: str):
        exec(compile(code, "<prompt>", "exec"), session.env_dict)
        return session.env_dict

    return runner
