"""Persisted settings: typed values in Redis that survive the process and the server."""

import pytest

from beamshell.config.redis_server import EmbeddedRedis, connect
from beamshell.config.settings import HashSetting, SettingsStore, SimpleSetting


def test_simple_setting_keeps_type_and_default(redis_client):
    setting = SimpleSetting(redis_client, "answer", default=42)
    assert setting.get() == 42
    setting.set(1.5)
    assert SimpleSetting(redis_client, "answer").get() == 1.5
    setting.set([1, "two", None])
    assert setting.get() == [1, "two", None]
    setting.clear()
    assert setting.get() == 42


def test_counter_increments_atomically(redis_client):
    counter = SimpleSetting(redis_client, "scan_counter:demo", default=0)
    assert [counter.incr() for _ in range(3)] == [1, 2, 3]
    assert counter.get() == 3


def test_hash_setting_is_a_typed_mapping(redis_client):
    axis = HashSetting(redis_client, "axis:m1", defaults={"velocity": 5.0, "offset": 0.0})
    assert axis["velocity"] == 5.0
    axis.update(velocity=2, limits=[-1.0, 1.0])
    again = HashSetting(redis_client, "axis:m1", defaults={"velocity": 5.0, "offset": 0.0})
    assert again["velocity"] == 2 and isinstance(again["velocity"], int)
    assert again["limits"] == [-1.0, 1.0]
    assert again.get_all() == {"velocity": 2, "offset": 0.0, "limits": [-1.0, 1.0]}
    del again["velocity"]
    assert again["velocity"] == 5.0
    with pytest.raises(KeyError):
        again["nothing"]


def test_settings_never_expire(redis_client):
    store = SettingsStore(redis_client)
    store.value("x").set(1)
    store.mapping("y").update(a=1)
    assert redis_client.ttl("settings:x") == -1 and redis_client.ttl("settings:y") == -1


def test_values_survive_a_restart_of_the_embedded_server(tmp_path, monkeypatch):
    monkeypatch.delenv("BEAMSHELL_REDIS_URL", raising=False)
    server = EmbeddedRedis(tmp_path)
    try:
        client = connect(server.start())
        store = SettingsStore(client)
        store.mapping("axis:m1").update(dial=12.5, offset=-1)
        store.value("scan_counter:demo").incr(7)
        client.close()
        assert server.stop()
        assert not server.is_running()

        client = connect(server.start())
        store = SettingsStore(client)
        assert store.mapping("axis:m1").get_all() == {"dial": 12.5, "offset": -1}
        assert store.value("scan_counter:demo").get() == 7
        client.close()
    finally:
        server.stop()
