"""Persisted settings: typed values in Redis that survive the process and the server."""

import gevent.event
import pytest

from beamshell.config.redis_server import EmbeddedRedis, PrivateRedis, connect
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


# -- several processes: cached values follow changes made anywhere -----------------------


@pytest.fixture
def two_stores(redis_url):
    """Two following stores on their own connections: two processes of one session."""
    clients = [connect(redis_url) for _ in range(2)]
    stores = [SettingsStore(client, follow_changes=True) for client in clients]
    yield stores
    for store, client in zip(stores, clients, strict=True):
        store.close()
        client.close()


def _calls(redis_client, command: str) -> int:
    stats = redis_client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def _changed(store, name):
    """An event set when the store hears that settings:<name> changed."""
    event = gevent.event.Event()
    store.on_change(name, event.set)
    return event


def test_a_change_in_one_process_is_seen_by_the_other_without_polling(two_stores, redis_client):
    first, second = two_stores
    first.mapping("axis:m1").update(velocity=5.0, offset=0.0)
    mine = second.mapping("axis:m1")
    assert mine["velocity"] == 5.0
    reads = _calls(redis_client, "hgetall")
    for _ in range(100):
        assert mine["velocity"] == 5.0  # from the cache: no round trip
    assert _calls(redis_client, "hgetall") == reads

    changed = _changed(second, "axis:m1")
    first.mapping("axis:m1")["velocity"] = 2.5
    assert changed.wait(10)
    assert mine["velocity"] == 2.5
    assert mine.get_all() == {"velocity": 2.5, "offset": 0.0}


def test_a_change_made_with_another_client_invalidates_too(two_stores, redis_client):
    store = two_stores[0]
    active = store.value("active_mg:demo")
    assert active.get() is None
    changed = _changed(store, "active_mg:demo")
    redis_client.set("settings:active_mg:demo", '"MG2"')  # e.g. redis-cli
    assert changed.wait(10)
    assert active.get() == "MG2"


def test_local_writes_are_read_back_at_once(two_stores):
    store = two_stores[0]
    saving = store.mapping("scan_saving:demo", {"base_path": "/tmp/scans"})
    assert saving["base_path"] == "/tmp/scans"
    saving["base_path"] = "/data/visitor"
    assert saving["base_path"] == "/data/visitor"
    counter = store.value("scan_counter:demo", 0)
    assert counter.get() == 0
    assert counter.incr() == 1 and counter.get() == 1


def test_a_flush_drops_every_cached_value(two_stores, redis_client):
    store = two_stores[0]
    setting = store.value("plotselect:demo", default=[])
    setting.set(["diode"])
    assert setting.get() == ["diode"]
    changed = _changed(store, "plotselect:demo")
    redis_client.flushall()
    assert changed.wait(10)
    assert setting.get() == []


def test_a_lost_feed_reads_through_then_follows_again(two_stores, redis_client):
    first, second = two_stores
    mine = second.mapping("mg:MG1")
    assert mine.get("disabled") is None
    changed = _changed(second, "mg:MG1")
    assert second.following
    redis_client.client_kill_filter(_type="pubsub")  # every feed's connection
    assert changed.wait(10)  # a lost feed says that anything may have changed
    first.mapping("mg:MG1")["disabled"] = ["diode"]
    assert mine["disabled"] == ["diode"]  # read again (and the feed restarted)
    assert second.following
    changed.clear()
    first.mapping("mg:MG1")["disabled"] = []
    assert changed.wait(10)
    assert mine["disabled"] == []


def test_a_lost_redis_calls_no_callback_until_it_is_back(tmp_path):
    """A callback reads settings (as ACTIVE_MG's does): while Redis is away it could only
    fail, so the callbacks owed for the lost feed are called once Redis answers again."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    client = connect(server.url)
    store = SettingsStore(client, follow_changes=True)
    try:
        active = store.value("active_mg:demo")
        active.set("MG1")
        seen = []
        store.on_change("active_mg:demo", lambda: seen.append(active.get()))
        assert store.following
        feed = store._feed
        server.kill()
        feed._greenlet.join(10)  # the feed saw the loss and could not reconnect
        assert not store.following and seen == []
        server.start()  # not persistent: the setting is gone, as after any change
        assert active.get() is None  # read through; the feed follows again
        assert store.following and seen == [None]
    finally:
        store.close()
        client.close()
        server.kill()


def test_a_store_that_does_not_follow_reads_redis_every_time(redis_client):
    store = SettingsStore(redis_client)
    setting = store.mapping("axis:m2")
    setting["velocity"] = 1.0
    redis_client.hset("settings:axis:m2", "velocity", "3.0")
    assert setting["velocity"] == 3.0
    assert not store.following
