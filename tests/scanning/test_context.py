"""ScanEnvironment and ScanSaving: numbering that survives, history, current scan, saving."""

import pytest
import redis

from beamshell.config.settings import SettingsStore
from beamshell.errors import BeamshellError
from beamshell.scanning import context, scans
from beamshell.scanning.chain import ChainIterationPreset, ChainPreset
from beamshell.scanning.context import ScanEnvironment


def test_scan_numbers_persist_across_environments(redis_url, devices):
    first = redis.Redis.from_url(redis_url)
    env = ScanEnvironment("demo", user="seb", settings=SettingsStore(first), display=False)
    numbers = [scans.loopscan(1, 0, devices.diode, env=env).scan_number for _ in range(2)]
    assert numbers == [1, 2]
    first.close()
    # A new environment, a new connection (as after a restart): numbering goes on.
    second = redis.Redis.from_url(redis_url)
    env = ScanEnvironment("demo", user="seb", settings=SettingsStore(second), display=False)
    assert scans.loopscan(1, 0, devices.diode, env=env).scan_number == 3
    other = ScanEnvironment("other", settings=SettingsStore(second), display=False)
    assert scans.loopscan(1, 0, devices.diode, env=other).scan_number == 1  # per session
    second.close()


def test_history_keeps_the_last_scans(quiet_env, devices):
    small = ScanEnvironment("demo", settings=quiet_env.settings, display=False, history_size=3)
    with pytest.raises(IndexError, match="no scan has run"):
        small.scans[-1]
    made = [scans.loopscan(1, 0, devices.diode, env=small) for _ in range(5)]
    assert len(small.scans) == 3
    assert small.scans[-1] is made[-1] and list(small.scans) == made[2:]
    assert "loopscan" in repr(small.scans)


def test_current_scan_for_the_toolbar(quiet_env, devices):
    scan = scans.loopscan(5, 0.05, devices.diode, run=False)
    seen = []

    class Watch(ChainPreset):
        """Looks at what the toolbar would show, before each point."""

        def get_iterator(self, acq_chain):
            while True:
                current = quiet_env.current_scan
                seen.append((current, current.npoints_done, current.npoints, current.elapsed))
                yield ChainIterationPreset()

    scan.acq_chain.add_preset(Watch())
    scan.run()
    assert quiet_env.current_scan is None
    assert [(current, done, npoints) for current, done, npoints, _ in seen] == [
        (scan, index, 5) for index in range(5)
    ]
    elapsed = [elapsed for *_, elapsed in seen]
    assert elapsed[0] >= 0 and elapsed == sorted(elapsed)


def test_default_environment_is_explicit():
    context.set_default_environment(None)
    with pytest.raises(BeamshellError, match="no scan environment"):
        context.default_environment()
    env = ScanEnvironment("s1")
    context.set_default_environment(env)
    try:
        assert context.default_environment() is env
    finally:
        context.set_default_environment(None)


def test_environment_without_redis_counts_in_memory():
    env = ScanEnvironment("local")
    assert [env.next_scan_number() for _ in range(3)] == [1, 2, 3]
    assert not env.publishing
    with pytest.raises(ValueError, match="session_name"):
        ScanEnvironment("bad:name")
