"""load_session: objects, included sessions, exclusions, aliases, setup files and failures."""

import io

import pytest

from beamshell.errors import BeamshellError, RedisUnreachable
from beamshell.sessions import list_sessions, load_session

EVERYDAY = (
    "wa",
    "wm",
    "mv",
    "umv",
    "mvr",
    "umvr",
    "sync",
    "lscnt",
    "lsconfig",
    "lsmg",
    "last_error",
    "user_script_run",
    "user_script_load",
    "plot_page",
)
SCAN_NAMES = (
    "config",
    "SCANS",
    "SCAN_SAVING",
    "ACTIVE_MG",
    "ct",
    "loopscan",
    "timescan",
    "ascan",
    "dscan",
    "a2scan",
    "d2scan",
    "amesh",
    "dmesh",
    "lookupscan",
    "pointscan",
    "Group",
    "Sequence",
    "ScanPreset",
    "ChainPreset",
    "ChainIterationPreset",
    "AcquisitionChannel",
)


def test_namespace_holds_objects_and_standard_names(open_session):
    session = open_session("plain")
    env = session.env_dict
    for name in ("m1", "m2", "diode", "diode2", "MG1") + EVERYDAY + SCAN_NAMES:
        assert name in env, name
    assert env["m1"] is session.config.get("m1")
    assert env["ACTIVE_MG"] is env["MG1"]
    assert session.name == "plain"


def test_included_session_first_then_exclusions_and_aliases(open_session):
    out = io.StringIO()
    session = open_session("main", out=out)
    env = session.env_dict
    assert env["ORDER"] == ["base", "main"]  # the included setup file ran first
    assert "m3" in env and "diode2" in env  # objects of the included session
    assert "m2" not in env  # excluded
    assert "m1" not in env and env["th"].name == "th"  # aliased
    assert "welcome to main" in out.getvalue()
    assert session.load_report.index("Initialized m3") < session.load_report.index("Initialized m1")


def test_a_broken_object_is_reported_and_the_rest_loads(open_session):
    session = open_session("main")
    report = "\n".join(session.load_report)
    assert "ERROR broken:" in report and "unknown key 'no_such_key'" in report
    assert "counters.yml:5" in report
    assert "ERROR ghost:" in report and "no object named 'ghost'" in report
    assert "sessions.yml" in report
    assert "broken" not in session.env_dict and "ghost" not in session.env_dict
    assert "diode" in session.env_dict
    assert set(session.failed_objects) == {"broken", "ghost"}


def test_setup_file_that_raises_is_reported_with_file_and_line(open_session, capsys):
    session = open_session("faulty")
    (line,) = [entry for entry in session.load_report if entry.startswith("ERROR in setup")]
    assert "faulty_setup.py:2" in line and "NameError" in line
    assert session.env_dict["x"] == 1 and "y" not in session.env_dict
    assert "m1" in session.env_dict
    session.env_dict["last_error"]()
    assert "undefined_name" in capsys.readouterr().out


def test_unknown_session_names_the_known_ones(config_dir, redis_url):
    with pytest.raises(BeamshellError, match=r"no session 'nope'.*base, faulty, main, plain"):
        load_session("nope", config_dir=config_dir, redis_url=redis_url)


def test_list_sessions(config_dir):
    assert list_sessions(config_dir) == ["base", "faulty", "main", "plain"]


def test_unreachable_redis_names_the_url(config_dir):
    with pytest.raises(RedisUnreachable, match="unix:///nonexistent.sock"):
        load_session("plain", config_dir=config_dir, redis_url="unix:///nonexistent.sock")


def test_user_scripts_run_in_the_namespace(open_session, tmp_path):
    session = open_session("plain")
    script = tmp_path / "macro.py"
    script.write_text("def double(x):\n    return 2 * x\nRESULT = double(21)\n")
    session.env_dict["user_script_run"](str(script))
    assert session.env_dict["RESULT"] == 42
    loaded = session.env_dict["user_script_load"](str(script))
    assert loaded.double(4) == 8
    with pytest.raises(FileNotFoundError, match="no script file"):
        session.env_dict["user_script_run"]("/nonexistent/macro.py")


def test_close_stops_a_moving_axis(open_session):
    session = open_session("plain")
    m1 = session.env_dict["m1"]
    m1.velocity = 1  # 9 s of motion: stopped long before
    m1.move(9, wait=False)
    session.close()
    assert not m1.is_moving
    assert m1.position < 9


def test_demo_session_loads_without_errors(redis_url):
    out = io.StringIO()
    with load_session("demo", redis_url=redis_url, out=out) as session:
        assert not [line for line in session.load_report if line.startswith("ERROR")]
        for name in (
            "m1",
            "m2",
            "th",
            "diode",
            "diode2",
            "gauss",
            "beam",
            "fshutter",
            "mca",
            "MG1",
        ):
            assert name in session.env_dict, name
        assert "Welcome" in out.getvalue()


def test_closing_aborts_a_scan_run_outside_a_gevent_greenlet_without_joining_it():
    """A script's scan runs in a plain greenlet (the main one), which has no join(): once
    aborted, its ended run() is all there is to wait for."""
    import greenlet

    from beamshell.sessions.session import _abort_background_scan

    class AbortedScan:
        name = "loopscan"
        runner = greenlet.greenlet(lambda: None)  # neither a gevent.Greenlet nor this one

        def abort(self, timeout: float) -> bool:
            return True

    _abort_background_scan(AbortedScan())  # was: AttributeError, logged as a failed abort
