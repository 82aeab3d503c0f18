"""ChannelBlock: a reader's scalar counters stored in one go per point; bad values named."""

import numpy as np
import pytest

from beamshell.hardware.counters import CounterController, SamplingCounter
from beamshell.scanning import scans
from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.channel_block import BlockChannel, ChannelBlock
from beamshell.scanning.counter_reading import CounterReader


class ScriptedCard(CounterController):
    """A counter card whose reads give, point after point, the values a test wrote."""

    def __init__(self, name, points):
        super().__init__(name)
        self.points = iter(points)

    def read_samples(self, counters):
        return list(next(self.points))


def card_counters(points, names=("c0", "c1", "c2"), **kwargs):
    card = ScriptedCard("card", points)
    return [SamplingCounter(name, card, **kwargs) for name in names]


def test_a_block_keeps_each_channel_contiguous_as_it_grows():
    block = ChannelBlock(["a", "b", "c"], float, ["mm", None, "s"])
    for point in range(200):  # past its first buffer (64 points), twice
        block.append([point, 10.0 * point, -point])
    a, b, c = block.channels
    assert [len(ch) for ch in block.channels] == [200, 200, 200]
    assert a.data.tolist() == list(range(200)) and b.data[-1] == 1990 and c.data[1] == -1
    assert all(ch.data.flags.c_contiguous for ch in block.channels)
    assert (a.unit, b.unit, c.unit) == ("mm", None, "s")
    block.reserve(10_000)
    block.append([1, 2, 3])
    assert a.data[-3:].tolist() == [198, 199, 1] and len(c) == 201
    with pytest.raises(TypeError, match="channel 'b': its points are appended by its block"):
        b.put(1.0)


def test_counters_of_one_card_share_a_block(quiet_env, devices):
    counters = card_counters([[1, 2, 3], [4, 5, 6]])
    reader = CounterReader(counters[0].controller, counters)
    assert all(type(channel) is BlockChannel for channel in reader.channels)
    scan = scans.loopscan(2, 0, *counters)
    data = scan.get_data()
    assert [data[name].tolist() for name in ("c0", "c1", "c2")] == [[1, 4], [2, 5], [3, 6]]
    # A STATS counter (four channels) or a spectrum among them: a channel per quantity.
    mixed = CounterReader(devices.diode.controller, [devices.diode, devices.stats])
    assert all(type(channel) is AcquisitionChannel for channel in mixed.channels)


def test_a_bad_value_names_its_counter_and_keeps_the_points_before(quiet_env):
    counters = card_counters([[1, 2, 3], [4, np.float32(5), 6], [7, "overrange", 9]])
    scan = scans.loopscan(3, 0, *counters, run=False)
    with pytest.raises(
        ValueError, match=r"^counter c1: unexpected value .overrange. from controller"
    ):
        scan.run()
    assert scan.state.name == "ABORTED"
    data = scan.get_data()
    assert [data[name].tolist() for name in ("c0", "c1", "c2")] == [[1, 4], [2, 5], [3, 6]]


def test_a_card_giving_too_few_values_is_named(quiet_env):
    counters = card_counters([[1, 2]])
    with pytest.raises(RuntimeError, match="controller card: read_all returned 2 values for 3"):
        scans.loopscan(1, 0, *counters)
