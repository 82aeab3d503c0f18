"""Names and titles cannot break line-oriented output: control characters refused or escaped."""

import io

import pytest

from beamshell.data.errors import BadNodeName
from beamshell.data.publish import DataPublisher
from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.scans import loopscan

BAD_NAMES = ["two\nlines", "tab\there", "esc\x1b[2J", "bell\x07", "rtl\u202eoverride", "sep\u2028x"]


@pytest.mark.parametrize("name", BAD_NAMES + ["with space"])
def test_scan_names_with_control_characters_are_refused_in_one_line(quiet_env, devices, name):
    with pytest.raises(ValueError) as info:
        loopscan(2, 0, devices.diode, name=name)
    message = str(info.value)
    assert "\n" not in message and "\x1b" not in message
    assert message.startswith("Scan: name must be a word without ':', spaces or control characters")
    assert repr(name) in message  # the bad name, escaped
    assert len(quiet_env.scans) == 0  # refused before anything ran


@pytest.mark.parametrize("name", BAD_NAMES)
def test_channel_names_with_control_characters_are_refused(name):
    with pytest.raises(ValueError, match="control characters"):
        AcquisitionChannel(name)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_data_layer_refuses_node_names_with_control_characters(redis_client, name):
    publisher = DataPublisher(redis_client)
    with pytest.raises(BadNodeName, match="control characters") as info:
        publisher.create_node(f"demo:tmp:scans:1_{name}", "scan", {}, parent="demo")
    assert "\n" not in str(info.value)
    with pytest.raises(BadNodeName, match="control characters"):
        publisher.create_node(name, "session")
    assert redis_client.keys("*") == []  # nothing written
    publisher.close()


def test_title_with_terminal_escapes_is_printed_escaped(env, devices):
    out = io.StringIO()
    env.output = out
    title = "fake\x1b[2J\x1b[31mred\nScan 999 forged line\tend"
    scan = loopscan(2, 0, devices.diode, title=title)
    text = out.getvalue()
    assert "\x1b" not in text and "\t" not in text
    assert "fake\\x1b[2J\\x1b[31mred\\nScan 999 forged line\\tend" in text.splitlines()
    assert not any(line.startswith("Scan 999") for line in text.splitlines())
    assert scan.scan_info["title"] == title  # the data keep what was given
    assert "\\x1b[2J" in repr(env.scans) and "\x1b" not in repr(env.scans)
