"""The writer and reader APIs in one process: encodings, tree, filters, expiration, refs."""

import gevent
import numpy as np
import pytest

from beamshell.data.errors import BadNodeName, ChannelDataError, NodeNotFound
from beamshell.data.node import (
    ChannelNode,
    Event,
    NodeRefChannelNode,
    ScanNode,
    get_node,
    get_session_node,
)
from beamshell.data.publish import DataPublisher
from beamshell.errors import BeamshellError


@pytest.fixture
def publisher(redis_client):
    pub = DataPublisher(redis_client)
    yield pub
    pub.close()


def make_scan(pub, scan_nb, session="demo", npoints=3, state="DONE", name="loopscan"):
    scan = pub.create_node(
        f"{session}:tmp:scans:{scan_nb}_{name}",
        "scan",
        {"scan_nb": scan_nb, "title": name, "state": "RUNNING"},
        parent=session,
    )
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    diode = pub.create_channel(master + ":diode", parent=master, info={"unit": "mV"})
    diode.append(np.arange(npoints, dtype=float))
    pub.update_info(scan, {"state": state})
    pub.end_scan(scan)
    return scan


def test_one_dimensional_channels_round_trip_exactly(publisher):
    scan = publisher.create_node("demo:tmp:scans:1_ct", "scan", {"scan_nb": 1}, parent="demo")
    rng = np.random.default_rng(5)
    spectra = rng.integers(0, 2**16, size=(9, 1024), dtype=np.uint16)
    images_row = rng.normal(size=(4, 7)).astype(np.float32)
    mca = publisher.create_channel(scan + ":mca", parent=scan, dtype="uint16", shape=(1024,))
    row = publisher.create_channel(scan + ":row", parent=scan, dtype=np.float32, shape=[7])
    for spectrum in spectra[:5]:
        mca.append(spectrum)  # one point of shape (1024,)
    mca.append(spectra[5:])  # several points at once
    row.append(images_row)
    publisher.end_scan(scan)

    node = get_node(scan + ":mca")
    assert isinstance(node, ChannelNode)
    assert (node.dtype, node.shape, len(node)) == (np.dtype(np.uint16), (1024,), 9)
    got = node.get(0, -1)
    assert got.dtype == np.uint16 and got.shape == (9, 1024)
    assert np.array_equal(got, spectra)
    assert np.array_equal(node.get(3), spectra[3])
    assert np.array_equal(node.get(2, 6), spectra[2:7])  # to_index is inclusive
    assert np.array_equal(get_node(scan + ":row").get(0, -1), images_row)
    got[0, 0] = 1  # arrays handed out are the caller's to change


def test_get_by_index_crosses_batches(redis_client):
    pub = DataPublisher(redis_client)
    scan = pub.create_node("demo:tmp:scans:1_timescan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan, dtype="int64")
    for start in range(0, 30, 3):
        chan.append(np.arange(start, start + 3))
        pub.flush()
    pub.end_scan(scan)
    node = get_node(scan + ":x")
    assert redis_client.xlen(scan + ":x_data") == 10
    assert len(node) == 30
    assert node.get(4, 10).tolist() == list(range(4, 11))
    assert node.get(29, -1).tolist() == [29]
    assert node.get(28, 100).tolist() == [28, 29]
    assert node.get(30, -1).tolist() == []
    with pytest.raises(IndexError, match="no point 30"):
        node.get(30)
    with pytest.raises(ValueError, match="bad from_index -2"):
        node.get(-2, -1)


def test_batching_gathers_points_and_the_background_writer_delivers_them(redis_client):
    pub = DataPublisher(redis_client, flush_delay=0.5)
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan)
    for i in range(500):
        chan.append(np.array([float(i)]))  # no yield: one batch
    walker = get_node(scan + ":x").walk_events(timeout=10)
    # No flush() call: the background greenlet writes within its delay.
    event, node, data = next(iter(walker))
    assert event == Event.NEW_DATA and data.first_index == 0
    assert data.data.tolist() == [float(i) for i in range(500)]
    assert redis_client.xlen(scan + ":x_data") == 1
    assert chan.written == 500
    pub.close()


def test_full_batch_is_written_without_waiting_for_the_delay(redis_client):
    pub = DataPublisher(redis_client, flush_delay=60, batch_bytes=80)  # 10 float64 points
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan)
    chan.append(np.zeros(10))
    walker = get_node(scan + ":x").walk_events(timeout=10)
    event, _, data = next(iter(walker))
    assert event == Event.NEW_DATA and len(data) == 10
    pub.close()


def test_end_scan_writes_pending_data_before_the_end_event(redis_client):
    pub = DataPublisher(redis_client, flush_delay=60)
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {"state": "RUNNING"}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan)
    chan.append(np.arange(5.0))
    pub.update_info(scan, {"state": "DONE"})
    pub.end_scan(scan)
    events = list(get_node(scan).walk_events(wait=False))
    assert [e.value for e, _, _ in events] == ["NEW_NODE", "NEW_DATA", "END_SCAN"]
    assert events[-1][1].info["state"] == "DONE"
    with pytest.raises(ChannelDataError, match="its scan has ended"):
        chan.append(1.0)
    pub.close()


def test_scan_info_tree_names_and_children_in_creation_order(publisher):
    scans = [make_scan(publisher, n) for n in (3, 4, 5)]
    session = get_session_node("demo")
    assert [n.db_name for n in session.children()] == scans
    scan = get_node(scans[1])
    assert isinstance(scan, ScanNode)
    assert (scan.type, scan.name, scan.parent.db_name) == ("scan", "4_loopscan", "demo")
    assert scan.info == {"scan_nb": 4, "title": "loopscan", "state": "DONE"}
    diode = get_node(scans[1] + ":timer:diode")
    assert diode.unit == "mV" and diode.parent.db_name == scans[1] + ":timer"
    assert [n.name for n in scan.children()] == ["timer"]


def test_walk_filters_and_walk_from_last(publisher):
    scans = [make_scan(publisher, n) for n in (1, 2, 3)]
    session = get_session_node("demo")
    assert [n.db_name for n in session.walk(include_filter="scan", wait=False)] == scans
    channels = list(session.walk(include_filter=["channel"], wait=False))
    assert [n.db_name for n in channels] == [s + ":timer:diode" for s in scans]
    everything = [n.type for n in session.walk(wait=False)]
    assert everything == ["scan", "master", "channel"] * 3
    assert [n.type for n in session.walk(exclude_children="master", wait=False)] == [
        "scan",
        "master",
    ] * 3
    last = list(session.walk_from_last(include_filter="scan", wait=False))
    assert [n.db_name for n in last] == [scans[-1]]
    events = list(session.walk_events(include_filter="scan", wait=False))
    assert [(e.value, n.db_name) for e, n, _ in events] == [
        (kind, scan) for scan in scans for kind in ("NEW_NODE", "END_SCAN")
    ]


def test_walker_stop_from_another_greenlet_wakes_a_blocked_read(redis_url):
    walker = get_session_node("demo").walk_events()
    gevent.spawn_later(0.2, walker.stop)
    with gevent.Timeout(10):
        assert list(walker) == []


def test_walker_stop_inside_the_loop_and_timeout(publisher):
    make_scan(publisher, 1)
    make_scan(publisher, 2)
    walker = get_session_node("demo").walk_events(include_filter="scan")
    seen = []
    for event, node, _ in walker:
        seen.append((event, node.name))
        if event == Event.END_SCAN:
            walker.stop()
    assert seen == [(Event.NEW_NODE, "1_loopscan"), (Event.END_SCAN, "1_loopscan")]
    with pytest.raises(RuntimeError, match="iterated only once"):
        iter(walker)
    with gevent.Timeout(10):
        rest = list(get_session_node("demo").walk(timeout=0.2))
    assert len(rest) == 6


def test_stop_on_end_follows_the_next_scan_only(redis_client, wait_live):
    pub = DataPublisher(redis_client)
    walker = get_session_node("demo").walk_events(include_filter="channel", stop_on_end=True)
    got = []

    def follow():
        for event, node, data in walker:
            got.append((event.value, node.name, None if data is None else data.data.tolist()))

    follower = gevent.spawn(follow)
    wait_live(walker)  # it has read what existed: the scans below come live
    make_scan(pub, 7, npoints=4)
    make_scan(pub, 8, npoints=2)
    follower.join(timeout=10)
    assert follower.ready()
    assert got == [
        ("NEW_NODE", "diode", None),
        ("NEW_DATA", "diode", [0.0, 1.0, 2.0, 3.0]),
        ("END_SCAN", "7_loopscan", None),
    ]
    pub.close()


def test_the_end_of_a_scan_comes_before_a_scan_that_began_after_it(redis_client):
    """Both in one reply of Redis (a busy reader): the end first, then nothing of the next."""
    pub = DataPublisher(redis_client)
    first = pub.create_node("demo:tmp:scans:7_loopscan", "scan", {}, parent="demo")
    pub.create_channel(first + ":diode", parent=first).append(np.arange(3.0))
    pub.flush()
    events = iter(get_session_node("demo").walk_events(include_filter="channel", stop_on_end=True))
    assert [next(events)[0], next(events)[0]] == [Event.NEW_NODE, Event.NEW_DATA]
    # One transaction: the end of scan 7, and scan 8 with a channel and a point already.
    second = "demo:tmp:scans:8_loopscan"
    pipe = redis_client.pipeline(transaction=True)
    pipe.xadd(first + "_children", {b"e": b"end", b"t": b"0"})
    pipe.hset(second + "_node", mapping={"type": "scan", "parent": "demo"})
    pipe.xadd("demo_children", {b"e": b"new", b"db": second, b"t": b"scan"})
    fields = {"type": "channel", "parent": second, "dtype": "<f8", "shape": "[]"}
    pipe.hset(second + ":diode_node", mapping=fields)
    pipe.xadd(second + "_children", {b"e": b"new", b"db": second + ":diode", b"t": b"channel"})
    pipe.xadd(second + ":diode_data", {b"i": 0, b"n": 1, b"d": np.zeros(1).tobytes()}, id="0-1")
    pipe.execute()
    with gevent.Timeout(10):
        rest = [(event, node.db_name) for event, node, _ in events]
    assert rest == [(Event.END_SCAN, first)]
    pub.close()


def test_node_ref_channel_gives_scan_nodes_and_custom_channels(publisher):
    s1 = make_scan(publisher, 53)
    group = publisher.create_node(
        "demo:tmp:scans:55_sequence_of_scans",
        "scan_group",
        {"scan_nb": 55, "title": "sequence_of_scans"},
        parent="demo",
    )
    master = publisher.create_node(group + ":GroupingMaster", "master", {}, parent=group)
    refs = publisher.create_node_ref_channel(master + ":scans", parent=master)
    custom = publisher.create_channel(group + ":mychannel", parent=group)
    refs.append(s1)
    s2 = make_scan(publisher, 56)
    refs.append([get_node(s2)])  # a node object is accepted too
    custom.append(np.array([1.1, 2.2, 3.3]))
    refs.append("demo:tmp:scans:57_loopscan")  # added before it runs (run=False)
    publisher.end_scan(group)

    node = get_node(master + ":scans")
    assert isinstance(node, NodeRefChannelNode) and node.type == "node_ref_channel"
    scans = node.get(0, -1)
    assert [s.db_name for s in scans] == [s1, s2, "demo:tmp:scans:57_loopscan"]
    assert all(isinstance(s, ScanNode) for s in scans) and scans[1].info["scan_nb"] == 56
    assert scans[2].info == {}  # not run yet
    s3 = make_scan(publisher, 57)
    assert scans[2].info["scan_nb"] == 57 and scans[2].parent.db_name == "demo"
    assert s3 == scans[2].db_name
    assert get_node(group + ":mychannel").get(0, -1).tolist() == [1.1, 2.2, 3.3]

    events = list(get_node(group).walk_events(include_filter="node_ref_channel", wait=False))
    assert [(str(e), n.db_name) for e, n, _ in events[:2]] == [
        ("event.NEW_NODE", master + ":scans"),
        ("event.NEW_DATA", master + ":scans"),
    ]
    assert [s.db_name for s in events[1][2].data] == [s1, s2, s3]
    assert events[-1][0] == "END_SCAN"
    session = get_session_node("demo")
    assert [n.info["scan_nb"] for n in session.walk(["scan_group", "scan"], wait=False)] == [
        53,
        55,
        56,
        57,
    ]
    assert [n.db_name for n in session.walk("scan_group", wait=False)] == [group]


def test_data_keys_expire_and_settings_keys_do_not(redis_client):
    redis_client.hset("settings:axis:m1", "offset", "0")
    redis_client.set("settings:scan_nb", "12")
    pub = DataPublisher(redis_client, expiration=300)
    make_scan(pub, 12)
    pub.close()
    data_keys = [k.decode() for k in redis_client.keys("demo*")]
    assert len(data_keys) == 10  # session 2, scan 3, master 2, channel 3
    for key in data_keys:
        assert 0 < redis_client.ttl(key) <= 300, key
    assert redis_client.ttl("settings:axis:m1") == -1
    assert redis_client.ttl("settings:scan_nb") == -1
    assert redis_client.get("settings:scan_nb") == b"12"


def test_default_expiration_is_one_day(publisher, redis_client):
    scan = make_scan(publisher, 1)
    assert 86000 < redis_client.ttl(scan + ":timer:diode_data") <= 86400


def test_expired_scans_are_left_out(redis_client):
    pub = DataPublisher(redis_client)
    old = make_scan(pub, 1)
    new = make_scan(pub, 2)
    for key in redis_client.keys(old + "*"):
        redis_client.delete(key)  # what expiry does
    session = get_session_node("demo")
    assert [n.db_name for n in session.children()] == [new]
    assert [n.db_name for n in session.walk(include_filter="scan", wait=False)] == [new]
    with pytest.raises(NodeNotFound, match="no scan data node 'demo:tmp:scans:1_loopscan'"):
        get_node(old)
    pub.close()


def test_bad_input_gives_one_line_errors_naming_the_thing(publisher, redis_client):
    scan = publisher.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = publisher.create_channel(scan + ":diode", parent=scan)
    mca = publisher.create_channel(scan + ":mca", parent=scan, dtype="int32", shape=(4,))
    cases = [
        (
            lambda: mca.append(np.zeros((2, 5))),
            "channel 'demo:tmp:scans:1_loopscan:mca': data of shape \\(2, 5\\)",
        ),
        (lambda: chan.append(np.zeros((2, 2))), "do not fit the channel's point shape \\(\\)"),
        (lambda: chan.append("abc"), "data are not float64"),
        (
            lambda: publisher.create_channel(scan + ":o", parent=scan, dtype=object),
            "holds Python objects",
        ),
        (
            lambda: publisher.create_channel(scan + ":u", parent=scan, dtype="nonsense"),
            "unknown dtype 'nonsense'",
        ),
        (
            lambda: publisher.create_node("other:1_x", "scan", {}, parent="demo"),
            "must start with its parent's name 'demo:'",
        ),
        (
            lambda: publisher.create_node("demo:x:y", "master", {}, parent="demo:x"),
            "parent node 'demo:x' of 'demo:x:y' does not exist",
        ),
        (lambda: publisher.create_node(scan, "scan", {}, parent="demo"), "already created"),
        (
            lambda: publisher.create_node("settings:1_x", "scan", {}, parent="settings"),
            "'settings' is reserved",
        ),
        (lambda: publisher.create_node("demo:a::b", "scan", {}, parent="demo"), "empty part"),
        (
            lambda: publisher.update_info(scan, {"when": object()}),
            "info 'when' cannot be stored as JSON",
        ),
        (lambda: publisher.create_channel(scan + ":x", parent=scan, shape=(-1,)), "bad shape"),
    ]
    for action, message in cases:
        with pytest.raises(BeamshellError, match=message) as info:
            action()
        assert "\n" not in str(info.value)
    refs = publisher.create_node_ref_channel(scan + ":scans", parent=scan)
    with pytest.raises(ChannelDataError, match="is neither a db_name nor a node"):
        refs.append([3])
    other = DataPublisher(redis_client)
    with pytest.raises(BadNodeName, match="exists already in Redis"):
        other.create_node(scan, "scan", {}, parent="demo")
    other.close()
    with pytest.raises(BadNodeName, match="only a session node has no parent"):
        publisher.create_node("lonely", "scan", {})
    assert publisher.create_node("demo", "session", {}) == "demo"  # shared, so no error
    with pytest.raises(ValueError, match="expiration must be > 0"):
        DataPublisher(redis_client, expiration=0)
    with pytest.raises(NodeNotFound, match="'demo:nothing'"):
        get_node("demo:nothing")
    with pytest.raises(ValueError, match="bad session name 'a:b'"):
        get_session_node("a:b")
    with pytest.raises(TypeError, match="node type filter"):
        get_session_node("demo").walk(include_filter=[1])
    # Nothing was lost by the refused calls.
    chan.append(2.5)
    publisher.end_scan(scan)
    assert get_node(scan + ":diode").get(0, -1).tolist() == [2.5]


def test_reader_accepts_a_text_mode_connection(publisher, redis_url):
    import redis

    scan = make_scan(publisher, 1)
    text_client = redis.Redis.from_url(redis_url, decode_responses=True)
    node = get_node(scan + ":timer:diode", connection=text_client)
    assert node.get(0, -1).tolist() == [0.0, 1.0, 2.0]
    assert get_node(scan, connection=text_client).connection is node.connection


def test_append_waits_for_redis_only_beyond_the_pending_bound(redis_client):
    pub = DataPublisher(redis_client, flush_delay=60, batch_bytes=80, max_pending_bytes=160)
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan)
    chan.append(np.zeros(20))  # 160 bytes: at the bound, queued without waiting
    assert chan.written == 0  # the background writer has not run: nothing yielded
    chan.append(np.zeros(1))  # beyond the bound: waits until Redis has taken some
    assert chan.written > 0 and chan.npoints - chan.written <= 20
    entries = redis_client.xrange(scan + ":x_data")
    assert all(int(fields[b"n"]) <= 10 for _, fields in entries)  # one transaction <= 80 bytes
    pub.close()
    assert chan.written == 21


def test_walking_a_running_scan_ends_by_itself_after_its_end(redis_client):
    pub = DataPublisher(redis_client)
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":x", parent=scan)
    got = []

    def follow():
        for event, _node, data in get_node(scan).walk_events(include_filter="channel"):
            got.append((event.value, None if data is None else data.data.tolist()))

    follower = gevent.spawn(follow)
    for value in (1.0, 2.0, 3.0):
        chan.append(value)
        gevent.sleep(0.02)
    pub.end_scan(scan)
    follower.join(timeout=10)
    assert follower.successful()
    values = [v for kind, data in got if kind == "NEW_DATA" for v in data]
    assert values == [1.0, 2.0, 3.0] and got[0] == ("NEW_NODE", None)
    assert got[-1] == ("END_SCAN", None)
    pub.close()


def test_from_last_with_stop_on_end_follows_the_current_scan(redis_client):
    pub = DataPublisher(redis_client)
    make_scan(pub, 1)
    running = pub.create_node("demo:tmp:scans:2_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(running + ":x", parent=running)
    chan.append(np.arange(3.0))
    walker = get_session_node("demo").walk_events(from_last=True, stop_on_end=True)
    gevent.spawn_later(0.1, pub.end_scan, running)
    with gevent.Timeout(10):
        events = [(e.value, n.db_name) for e, n, _ in walker]
    assert events == [
        ("NEW_NODE", running),
        ("NEW_NODE", running + ":x"),
        ("NEW_DATA", running + ":x"),
        ("END_SCAN", running),
    ]
    pub.close()
