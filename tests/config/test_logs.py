"""Logs of detached processes: under $XDG_STATE_HOME/beamshell, one per process kind, rotated."""

import logging

from beamshell.config import logs


def test_logs_live_in_the_state_directory_and_rotate(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 2000)
    config = tmp_path / "config"
    path = logs.log_path("writer", config, "demo")
    assert path.parent == tmp_path / "state" / "beamshell"
    assert path.name.startswith("writer-demo-") and path.suffix == ".log"
    assert logs.log_path("writer", tmp_path / "other", "demo") != path
    handler = logs.log_to_file(path)
    try:
        log = logging.getLogger("beamshell.test")
        for number in range(100):
            log.info("line %d of a long enough message to fill the log", number)
    finally:
        logging.getLogger("beamshell").removeHandler(handler)
        handler.close()
    assert "line 99 of" in path.read_text()
    assert path.with_name(path.name + ".1").is_file()
    assert path.stat().st_size <= 2000
