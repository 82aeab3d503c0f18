"""Corrupt scan data in Redis (real bytes written behind the publisher's back): every reader
raises one CorruptData naming the node, the key and what is wrong; nothing is evaluated."""

import numpy as np
import pytest

from beamshell.config.redis_server import connect
from beamshell.data.errors import CorruptData
from beamshell.data.node import get_node, get_session_node
from beamshell.data.publish import DataPublisher
from beamshell.errors import BeamshellError

SCAN = "demo:tmp:scans:1_loopscan"
DIODE = SCAN + ":timer:diode"
REFS = "demo:tmp:scans:2_sequence_of_scans:GroupingMaster:scans"


@pytest.fixture
def published(redis_client):
    """One ended scan with a 5-point float64 channel, and a group listing it."""
    pub = DataPublisher(redis_client)
    pub.create_node(SCAN, "scan", {"title": "loopscan 5 0.1", "state": "DONE"}, parent="demo")
    pub.create_node(SCAN + ":timer", "master", {}, parent=SCAN)
    diode = pub.create_channel(DIODE, parent=SCAN + ":timer", dtype="float64")
    diode.append(np.arange(3.0))
    pub.flush()
    diode.append(np.arange(3.0, 5.0))
    pub.end_scan(SCAN)
    group = "demo:tmp:scans:2_sequence_of_scans"
    pub.create_node(group, "scan_group", {"state": "DONE"}, parent="demo")
    pub.create_node(group + ":GroupingMaster", "master", {}, parent=group)
    refs = pub.create_node_ref_channel(REFS, parent=group + ":GroupingMaster")
    refs.append(SCAN)
    pub.end_scan(group)
    pub.close()
    return redis_client


def rewrite_data(client, key, change):
    """Write a data stream again, each entry's fields passed through `change(index, fields)`
    (None drops the entry): Redis refuses to append an ID at or below a stream's last one."""
    entries = client.xrange(key)
    ttl = client.ttl(key)
    client.delete(key)
    for index, (entry_id, fields) in enumerate(entries):
        changed = change(index, dict(fields))
        if changed is not None:
            client.xadd(key, changed, id=entry_id)
    client.expire(key, ttl)


def walk_all(client):
    return list(get_session_node("demo", connection=client).walk_events(wait=False))


def assert_corrupt(info, node, key, *words):
    error = info.value
    assert isinstance(error, BeamshellError)
    assert (error.db_name, error.key) == (node, key)
    message = str(error)
    assert message.startswith(f"corrupt scan data: node '{node}', key '{key}': ")
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_intact_data_read_and_len_agrees_with_get(published):
    node = get_node(DIODE, connection=published)
    assert len(node) == 5 and list(node.get(0, -1)) == [0, 1, 2, 3, 4]
    assert [n.db_name for n in get_node(REFS, connection=published).get(0, -1)] == [SCAN]
    assert len(walk_all(published)) > 0


def test_truncated_payload(published):
    rewrite_data(published, DIODE + "_data", lambda i, f: dict(f, d=f[b"d"][:-3]) if i else f)
    node = get_node(DIODE, connection=published)
    for read in (len, lambda n: n.get(0, -1), lambda n: n.get(4)):
        with pytest.raises(CorruptData) as info:
            read(node)
        assert_corrupt(info, DIODE, DIODE + "_data", "13 bytes of payload for 2 points of 8 bytes")
    assert node.get(0, 2).tolist() == [0, 1, 2]  # the intact batch is still readable
    with pytest.raises(CorruptData, match="13 bytes of payload"):
        walk_all(published)


def test_count_that_disagrees_with_the_payload(published):
    rewrite_data(published, DIODE + "_data", lambda i, f: dict(f, n=b"7") if i else f)
    node = get_node(DIODE, connection=published)
    with pytest.raises(CorruptData, match="16 bytes of payload for 7 points"):
        len(node)
    with pytest.raises(CorruptData, match="16 bytes of payload for 7 points"):
        node.get(0, -1)


def test_missing_and_duplicated_points(published):
    original = published.xrange(DIODE + "_data")
    rewrite_data(published, DIODE + "_data", lambda i, f: f if i else None)  # points 0..2 gone
    node = get_node(DIODE, connection=published)
    with pytest.raises(CorruptData) as info:
        node.get(0, -1)
    assert_corrupt(info, DIODE, DIODE + "_data", "points 0..2 are missing")
    published.delete(DIODE + "_data")
    published.xadd(DIODE + "_data", original[0][1], id="0-1")  # points 0..2
    published.xadd(DIODE + "_data", {"i": 2, "n": 2, "d": np.zeros(2).tobytes()}, id="2-1")
    with pytest.raises(CorruptData, match=r"points 2..2 are written twice"):
        node.get(0, -1)


def test_entry_fields_that_are_not_numbers_or_missing(published):
    published.xadd(DIODE + "_data", {"i": b"five", "n": 1, "d": b"\0" * 8}, id="5-1")
    with pytest.raises(CorruptData, match=r"'i' is b'five', not a number"):
        len(get_node(DIODE, connection=published))
    published.xadd(DIODE + "_data", {"i": 6, "n": 1}, id="6-1")
    with pytest.raises(CorruptData, match="has no payload"):
        get_node(DIODE, connection=published).get(6)


@pytest.mark.parametrize(
    "dtype, words",
    [
        ("|O", "does not hold plain data"),
        ("object", "does not hold plain data"),
        ("float99", "is not a numpy dtype"),
        ("__import__('os').system('touch EVALUATED')", "is not a numpy dtype"),
        ("", "is not a numpy dtype"),
    ],
)
def test_dtype_that_is_not_data(published, tmp_path, monkeypatch, dtype, words):
    monkeypatch.chdir(tmp_path)
    published.hset(DIODE + "_node", "dtype", dtype)
    node = get_node(DIODE, connection=published)
    for read in (lambda n: n.dtype, lambda n: n.get(0, -1), len):
        with pytest.raises(CorruptData) as info:
            read(node)
        assert_corrupt(info, DIODE, DIODE + "_node", words)
    with pytest.raises(CorruptData, match=words):
        walk_all(published)
    assert not (tmp_path / "EVALUATED").exists()  # nothing read is evaluated


@pytest.mark.parametrize("shape", ["(3,)", "[-1]", '"8"', "[true]", "[2, 2.5]", "{}", "[1]" * 9])
def test_shape_that_is_not_data(published, shape):
    published.hset(DIODE + "_node", "shape", shape)
    with pytest.raises(CorruptData) as info:
        get_node(DIODE, connection=published).get(0, -1)
    assert_corrupt(info, DIODE, DIODE + "_node", "is not a list of point sizes")


def test_undecodable_or_non_json_info(published):
    published.hset(SCAN + "_info", "title", b"\xff\xfe\x00")
    scan = get_node(SCAN, connection=published)
    with pytest.raises(CorruptData) as info:
        scan.info  # noqa: B018
    assert_corrupt(info, SCAN, SCAN + "_info", "field 'title' is not UTF-8 text")
    published.hset(SCAN + "_info", "title", "not json {")
    with pytest.raises(CorruptData, match="field 'title' is not JSON"):
        scan.info  # noqa: B018
    published.hset(SCAN + "_info", mapping={"title": '"x"', b"\xff": "1"})
    with pytest.raises(CorruptData, match="a field name is not UTF-8 text"):
        scan.info  # noqa: B018


def test_info_is_json_only_never_evaluated(published, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = "__import__('os').system('touch EVALUATED')"
    published.hset(SCAN + "_info", "title", f'"{code}"')
    assert get_node(SCAN, connection=published).info["title"] == code
    published.hset(SCAN + "_info", "title", code)
    with pytest.raises(CorruptData, match="is not JSON"):
        get_node(SCAN, connection=published).info  # noqa: B018
    assert not (tmp_path / "EVALUATED").exists()


def test_node_hash_without_type_or_undecodable(published):
    published.hdel(DIODE + "_node", "type")
    with pytest.raises(CorruptData) as info:
        get_node(DIODE, connection=published)
    assert_corrupt(info, DIODE, DIODE + "_node", "no 'type' field")
    published.hset(DIODE + "_node", "type", b"\xc3\x28")
    with pytest.raises(CorruptData, match="field 'type' is not UTF-8 text"):
        walk_all(published)


@pytest.mark.parametrize(
    "key, node", [(DIODE + "_data", DIODE), (SCAN + "_info", SCAN), (DIODE + "_node", DIODE)]
)
def test_key_of_the_wrong_redis_type(published, key, node):
    published.delete(key)
    published.set(key, "a string where a stream or a hash belongs")
    expected = "hash" if key.endswith(("_node", "_info")) else "stream"
    readers = {
        "_data": [len, lambda n: n.get(0, -1)],
        "_info": [lambda n: n.info],
        "_node": [lambda n: n.dtype],
    }[key[key.rindex("_") :]]
    for read in readers:
        with pytest.raises(CorruptData) as info:
            read(get_node(node, connection=published, node_type="channel"))
        assert_corrupt(info, node, key, f"is a Redis string, not a {expected}")
    if not key.endswith("_info"):
        with pytest.raises(CorruptData) as info:
            walk_all(published)
        assert_corrupt(info, node, key, f"is a Redis string, not a {expected}")


def test_errors_name_the_key_under_the_configurations_prefix(redis_url):
    """With a key prefix every key is `bl01:<node>_...`: the error names that key."""
    client = connect(redis_url, key_prefix="bl01")
    publisher = DataPublisher(client)
    publisher.create_node(SCAN, "scan", {"state": "DONE"}, parent="demo")
    publisher.create_node(SCAN + ":timer", "master", {}, parent=SCAN)
    diode = publisher.create_channel(DIODE, parent=SCAN + ":timer", dtype="float64")
    diode.append(np.arange(3.0))
    publisher.flush()
    diode.append(np.arange(3.0, 5.0))
    publisher.end_scan(SCAN)
    publisher.close()
    data_key = "bl01:" + DIODE + "_data"
    rewrite_data(client, data_key, lambda i, f: dict(f, d=f[b"d"][:-3]) if i else f)
    with pytest.raises(CorruptData) as info:
        get_node(DIODE, connection=client).get(0, -1)
    assert_corrupt(info, DIODE, data_key, "13 bytes of payload for 2 points of 8 bytes")
    node_key = "bl01:" + DIODE + "_node"
    client.delete(node_key)
    client.set(node_key, "a string where a hash belongs")
    with pytest.raises(CorruptData) as info:
        walk_all(client)  # the walker reads every child's node hash in one round trip
    assert_corrupt(info, DIODE, node_key, "is a Redis string, not a hash")
    client.close()


def test_children_stream_of_the_wrong_type_while_following(published):
    published.delete(SCAN + ":timer_children")
    published.hset(SCAN + ":timer_children", "x", "1")
    with pytest.raises(CorruptData) as info:
        list(get_node(SCAN, connection=published).walk_events(wait=False))
    assert_corrupt(info, SCAN + ":timer", SCAN + ":timer_children", "Redis hash, not a stream")


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"e": "new", "t": "channel"}, "a new child without name or type"),
        ({"e": "renamed", "db": SCAN + ":x", "t": "channel"}, "unknown event b'renamed'"),
        ({"e": "new", "db": "elsewhere:x", "t": "channel"}, "child 'elsewhere:x' is not below it"),
    ],
)
def test_malformed_children_entry_is_reported_not_skipped(published, fields, words):
    published.xadd(SCAN + ":timer_children", fields)
    scan = get_node(SCAN + ":timer", connection=published)
    with pytest.raises(CorruptData) as info:
        scan.children()
    assert_corrupt(info, SCAN + ":timer", SCAN + ":timer_children", words)
    with pytest.raises(CorruptData, match=words.replace("(", r"\(").replace(")", r"\)")):
        walk_all(published)


@pytest.mark.parametrize(
    "payload", [b"\x80\x04\x95pickle", b'["a", 3]', b'{"a": 1}', b'["x", "y"]', b"[]"]
)
def test_node_ref_payload_that_is_not_a_list_of_names(published, payload):
    published.delete(REFS + "_data")
    published.xadd(REFS + "_data", {"i": 0, "n": 1, "d": payload}, id="0-1")
    with pytest.raises(CorruptData) as info:
        get_node(REFS, connection=published).get(0, -1)
    assert_corrupt(info, REFS, REFS + "_data", "not a JSON list of 1 node names")


def test_control_characters_read_back_are_escaped_in_the_message(published):
    published.hset(SCAN + "_info", "ti\x1b[2Jtle", "nope")
    with pytest.raises(CorruptData) as info:
        get_node(SCAN, connection=published).info  # noqa: B018
    assert "\x1b" not in str(info.value) and "ti\\x1b[2Jtle" in str(info.value)
