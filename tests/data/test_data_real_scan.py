"""A reading process follows a real loopscan run by the scan engine (when scanning exists)."""

import textwrap

import pytest
from processes import reader_events, start_script, wait_for_line

scans = pytest.importorskip("beamshell.scanning.scans")
context = pytest.importorskip("beamshell.scanning.context")

DEVICES_YML = """
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
"""


@pytest.fixture
def scan_env(tmp_path, redis_url):
    from beamshell.config.static import Config

    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "devices.yml").write_text(textwrap.dedent(DEVICES_YML))
    config = Config(directory, redis_url=redis_url)
    env = context.ScanEnvironment(
        "demo", user="tester", redis=config.redis, settings=config.settings, display=False
    )
    yield config, env
    config.close()


def test_reader_process_follows_a_real_loopscan(scan_env):
    config, env = scan_env
    reader = start_script("read_session.py")
    wait_for_line(reader, '{"ready"')
    scan = scans.loopscan(15, 0.02, config.get("diode"), config.get("diode2"), env=env)
    events, forbidden = reader_events(reader)
    assert forbidden == []
    db_name = scan.node_name
    assert events[0]["db_name"] == db_name and events[0]["event"] == "NEW_NODE"
    assert events[-1] == {"event": "END_SCAN", "db_name": db_name, "type": "scan", "state": "DONE"}
    diode2 = [e for e in events if e["event"] == "NEW_DATA" and e["db_name"].endswith(":diode2")]
    indexes = [i for e in diode2 for i in range(e["first"], e["last"] + 1)]
    assert indexes == list(range(15))
    assert all(v == 7 for e in diode2 for v in e["values"])
