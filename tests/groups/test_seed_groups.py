"""Every example of seeds/groups-and-sequences.txt, translated only in its import paths."""

import textwrap

import numpy as np
import pytest

from beamshell.data.node import Event, get_node, get_session_node
from beamshell.scanning.group import GroupError


def refs(group_node):
    (channel,) = [n for n in group_node.walk(include_filter="node_ref_channel", wait=False)]
    return channel, [node.db_name for node in channel.get(0, -1)]


def test_group_of_scans_that_ran(run, session):
    env = run(
        textwrap.dedent("""\
        from beamshell.scanning.group import Group
        diode=config.get('diode')
        s1=loopscan(3,.1,diode)
        s2=loopscan(3,.2,diode)
        group = Group(s1,s2)
        """)
    )
    group, s1, s2 = env["group"], env["s1"], env["s2"]
    assert group.scan_number == s2.scan_number + 1
    node = group.node
    assert node.db_name == f"test_session:tmp:scans:{group.scan_number}_group_of_scans"
    assert node.type == "scan_group"
    assert node.info["scan_nb"] == group.scan_number and node.info["state"] == "DONE"
    channel, scans = refs(node)
    assert channel.db_name == node.db_name + ":GroupingMaster:scans"
    assert scans == [s1.node.db_name, s2.node.db_name]
    events = [event for event, n, _ in node.walk_events(wait=False) if n.db_name == node.db_name]
    assert events[-1] == Event.END_SCAN


def test_group_by_scan_numbers_and_nodes(run):
    env = run("s1 = loopscan(2, 0, diode)\ns2 = loopscan(2, 0, diode)\n")
    s1, s2 = env["s1"], env["s2"]
    group = env["Group"](s1.scan_number, s2.node, title="my pair", scan_info={"sample": "Si"})
    _, scans = refs(group.node)
    assert scans == [s1.node.db_name, s2.node.db_name]
    assert group.node.info["title"] == "my pair" and group.node.info["sample"] == "Si"


def test_group_errors_name_the_culprit(run):
    env = run("s1 = loopscan(2, 0, diode)\npending = loopscan(2, 0, diode, run=False)\n")
    Group = env["Group"]
    with pytest.raises(GroupError, match="item 2, scan number 999, is not in Redis"):
        Group(env["s1"], 999)
    with pytest.raises(GroupError, match=r"item 1, scan loopscan .* has not terminated"):
        Group(env["pending"])
    with pytest.raises(GroupError, match=r"item 2 is 3\.5 \(float\)"):
        Group(env["s1"], 3.5)
    with pytest.raises(GroupError, match="node test_session:nothing, is not in Redis"):
        Group("test_session:nothing")
    with pytest.raises(GroupError, match="at least one scan"):
        Group()
    # nothing was left behind by the refused groups
    session_node = get_session_node("test_session", connection=env["config"].redis)
    assert list(session_node.walk(include_filter="scan_group", wait=False)) == []


def test_sequence_example_as_written_names_the_scan_never_run(run, session):
    code = textwrap.dedent("""\
        from beamshell.scanning.group import Sequence
        seq=Sequence()
        with seq.sequence_context() as scan_seq:
            s1=loopscan(5,.1,diode,run=False)
            scan_seq.add(s1)
            #do something here ... move motors, open/close shutter
            s2=loopscan(3,.2,diode,run=False)
            scan_seq.add_and_run(s2)
            #do more things
            s3=loopscan(3,.2,diode)
            scan_seq.add(s3)
        """)
    with pytest.raises(GroupError) as info:
        run(code)
    message = str(info.value)
    s1 = session.env_dict["s1"]
    assert f"loopscan (number {s1.scan_number}, state IDLE)" in message
    assert "s2" not in message and "\n" not in message
    assert session.env_dict["seq"].node.info["state"] == "ABORTED"


def test_sequence_example_with_the_first_scan_run(run, capsys):
    env = run(
        textwrap.dedent("""\
        from beamshell.scanning.group import Sequence
        seq=Sequence()
        with seq.sequence_context() as scan_seq:
            s1=loopscan(5,.1,diode,run=False)
            scan_seq.add(s1)
            s1.run()  # the example's "do something here": run the scan added first
            s2=loopscan(3,.2,diode,run=False)
            scan_seq.add_and_run(s2)
            #do more things
            s3=loopscan(3,.2,diode)
            scan_seq.add(s3)
        """)
    )
    seq = env["seq"]
    s1, s2, s3 = env["s1"], env["s2"], env["s3"]
    # the sequence took its number first, then the scans it ran, in the order they ran
    assert seq.scan_number < s1.scan_number < s2.scan_number < s3.scan_number
    node = seq.node
    assert node.db_name.endswith(f":{seq.scan_number}_sequence_of_scans")
    assert node.info["state"] == "DONE"
    _, scans = refs(node)
    assert scans == [s1.node.db_name, s2.node.db_name, s3.node.db_name]
    out = capsys.readouterr().out
    assert f"Sequence {seq.scan_number}" in out and "sequence_of_scans" in out
    assert out.count("Took ") == 3  # each scan printed its table
    assert f"Sequence {seq.scan_number} DONE, 3 scans" in out


def test_sequence_with_custom_channels(run):
    env = run(
        textwrap.dedent("""\
        from beamshell.scanning.group import Sequence
        from beamshell.scanning.chain import AcquisitionChannel
        import numpy
        seq=Sequence()
        seq.add_custom_channel(AcquisitionChannel('mychannel',float,()))
        seq.add_custom_channel(AcquisitionChannel('sum',float,()))
        with seq.sequence_context() as scan_seq:
            s1=loopscan(5,.1,diode,run=False)
            s2=loopscan(5,.1,diode,run=False)
            scan_seq.add_and_run(s1)
            scan_seq.add_and_run(s2)
            seq.custom_channels['mychannel'].emit([1.1,2.2,3.3])
            my_sum = s1.get_data()[diode] + s2.get_data()[diode]
            seq.custom_channels['sum'].emit(my_sum)
        """)
    )
    seq = env["seq"]
    channels = {n.name: n for n in seq.node.walk(include_filter="channel", wait=False)}
    assert set(channels) == {"mychannel", "sum"}
    assert channels["mychannel"].get(0, -1).tolist() == [1.1, 2.2, 3.3]
    np.testing.assert_array_equal(channels["sum"].get(0, -1), env["my_sum"])
    assert len(channels["sum"]) == 5


def _listening_setup(run):
    """Scans 1 and 2, then a sequence (3) running scans 4 and 5: the seed's 53..57."""
    return run(
        textwrap.dedent("""\
        a = loopscan(2, 0, diode)
        b = loopscan(2, 0, diode)
        seq = Sequence()
        with seq.sequence_context() as scan_seq:
            scan_seq.add_and_run(loopscan(2, 0, diode, run=False))
            scan_seq.add_and_run(loopscan(2, 0, diode, run=False))
        """)
    )


def test_listening_to_groups_and_scans(run, capsys):
    env = _listening_setup(run)
    capsys.readouterr()
    run(
        textwrap.dedent("""\
        from beamshell.data.node import get_session_node
        for node in get_session_node('test_session').walk('scan_group',wait=False):
            print(node.db_name,node.info["scan_nb"])
        """)
    )
    nb = env["seq"].scan_number
    assert capsys.readouterr().out == f"test_session:tmp:scans:{nb}_sequence_of_scans {nb}\n"
    run(
        textwrap.dedent("""\
        for node in get_session_node('test_session').walk(['scan_group','scan'],wait=False):
            print(node.db_name,node.info["scan_nb"])
        """)
    )
    first = env["a"].scan_number
    kinds = ["loopscan", "loopscan", "sequence_of_scans", "loopscan", "loopscan"]
    expected = "".join(
        f"test_session:tmp:scans:{first + i}_{kind} {first + i}\n" for i, kind in enumerate(kinds)
    )
    assert capsys.readouterr().out == expected


def test_notified_when_a_scan_is_added(run, capsys):
    env = _listening_setup(run)
    capsys.readouterr()
    run(
        textwrap.dedent("""\
        for (event,node,data) in seq.node.walk_events(include_filter='node_ref_channel', wait=False):
            print(event, node.db_name)
            if event == "NEW_DATA":
                print("\\t" , node.get(0,-1))
        """)
    )
    lines = capsys.readouterr().out.splitlines()
    channel = env["seq"].node.db_name + ":GroupingMaster:scans"
    assert lines[0] == f"event.NEW_NODE {channel}"
    assert lines[1] == f"event.NEW_DATA {channel}"
    assert lines[2].startswith("\t [<") and lines[2].count("loopscan") == 2


def test_exception_inside_a_sequence_aborts_it_and_keeps_the_record(run, session):
    with pytest.raises(ZeroDivisionError):
        run(
            textwrap.dedent("""\
            seq = Sequence(title="failing")
            with seq.sequence_context() as scan_seq:
                done = loopscan(2, 0, diode, run=False)
                scan_seq.add_and_run(done)
                1 / 0
            """)
        )
    seq = session.env_dict["seq"]
    assert seq.state.name == "ABORTED"
    node = get_node(seq.node.db_name, connection=session.config.redis)
    assert node.info["state"] == "ABORTED" and node.info["title"] == "failing"
    _, scans = refs(node)
    assert scans == [session.env_dict["done"].node.db_name]


def test_sequence_misuse_is_one_line(run):
    env = run("seq = Sequence()\n")
    seq = env["seq"]
    with pytest.raises(GroupError, match="has not started"):
        _ = seq.node
    with pytest.raises(GroupError, match="is not an AcquisitionChannel"):
        seq.add_custom_channel("sum")
    with seq.sequence_context() as scan_seq:
        with pytest.raises(GroupError, match="is not a Scan"):
            scan_seq.add(42)
        with pytest.raises(GroupError, match="add channels before"):
            seq.add_custom_channel(env["AcquisitionChannel"]("late", float, ()))
        ran = env["loopscan"](2, 0, env["diode"])
        with pytest.raises(GroupError, match="has already run; use add"):
            scan_seq.add_and_run(ran)
        scan_seq.add(ran)
        with pytest.raises(GroupError, match="already in the sequence"):
            scan_seq.add(ran)
    with pytest.raises(GroupError, match="runs once"):
        with seq.sequence_context():
            pass
