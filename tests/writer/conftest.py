"""A beamline session whose scans a real writer process saves, and helpers to wait for it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from writer_helpers import CONFIG, SESSION, WriterEvents

from beamshell.config.daemon import session_daemon


@pytest.fixture
def base_path(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def config_dir(tmp_path, base_path) -> Path:
    root = tmp_path / "config"
    root.mkdir()
    (root / "beamline.yml").write_text(CONFIG.replace("BASE", str(base_path)))
    return root


@pytest.fixture
def session(config_dir, redis_url):
    from beamshell.sessions import load_session

    opened = load_session(SESSION, config_dir=config_dir, redis_url=redis_url)
    yield opened
    opened.close()


@pytest.fixture
def ns(session):
    return session.env_dict


@pytest.fixture
def writer(config_dir, redis_url):
    """The session's writer, a real detached process; stopped (SIGTERM) at the end."""
    daemon = session_daemon("writer", SESSION, config_dir)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def writer_events(redis_client) -> WriterEvents:
    return WriterEvents(redis_client)


@pytest.fixture
def read_only(base_path):
    """Make a directory unwritable, for root too (chattr +i), and writable again."""
    base_path.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    if as_root and shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a directory read-only")

    def lock():
        if as_root:
            subprocess.run(["chattr", "+i", str(base_path)], check=True)
        else:
            base_path.chmod(0o555)

    def unlock():
        if as_root:
            subprocess.run(["chattr", "-i", str(base_path)], check=True)
        else:
            base_path.chmod(0o755)

    lock()
    yield unlock
    unlock()
