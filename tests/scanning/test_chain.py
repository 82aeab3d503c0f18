"""AcquisitionChannel buffers and publisher hook; building chains; chain presets per master."""

import numpy as np
import pytest

from beamshell.scanning.chain import (
    AcquisitionChain,
    AcquisitionChannel,
    AcquisitionDevice,
    AcquisitionMaster,
    ChainPreset,
)
from beamshell.scanning.counter_reading import CounterReader
from beamshell.scanning.masters import SoftwareTimerMaster
from beamshell.scanning.scan import Scan


def test_channel_emit_scalars_lists_and_arrays():
    channel = AcquisitionChannel("mychannel", float, ())
    channel.emit(1.5)
    channel.emit([2.0, 3.0])
    channel.emit(np.arange(100, dtype=float))  # grows past its first buffer
    assert len(channel) == 103
    np.testing.assert_array_equal(channel.data[:3], [1.5, 2.0, 3.0])
    assert channel.data[-1] == 99


def test_channel_one_dimensional_points_and_shape_errors():
    channel = AcquisitionChannel("spectrum", np.int32, (4,))
    channel.emit([1, 2, 3, 4])  # one point
    channel.emit(np.ones((3, 4)))  # three points
    assert channel.data.shape == (4, 4) and channel.data.dtype == np.int32
    with pytest.raises(ValueError, match="channel 'spectrum': cannot emit data of shape"):
        channel.emit([1, 2, 3])
    assert len(channel) == 4  # nothing lost, nothing added
    with pytest.raises(ValueError, match="channel name"):
        AcquisitionChannel("a:b", float, ())
    with pytest.raises(ValueError, match="only scalar and 1-D"):
        AcquisitionChannel("image", float, (2, 2))


def test_channel_publisher_hook_gets_batches():
    batches = []
    channel = AcquisitionChannel("sum", float, ())
    channel.set_publisher(lambda batch: batches.append(batch.copy()))
    channel.emit([1.0, 2.0, 3.0])
    channel.emit(4.0)
    assert [b.tolist() for b in batches] == [[1.0, 2.0, 3.0], [4.0]]
    for value in range(5):
        channel.put(value)  # the scan's per-point path: observers read the buffer instead
    assert len(batches) == 2 and channel.data.tolist() == [1, 2, 3, 4, 0, 1, 2, 3, 4]


def test_chain_tree_channels_and_errors(devices):
    chain = AcquisitionChain()
    timer = SoftwareTimerMaster(0.1, npoints=3)
    reader = CounterReader(devices.diode.controller, [devices.diode])
    chain.add(timer, reader)
    assert chain.top_masters == [timer] and chain.devices == [timer, reader]
    assert [c.name for c in chain.channels] == ["elapsed_time", "epoch", "diode"]
    assert all(c.master is timer for c in chain.channels)
    with pytest.raises(ValueError, match="already in the acquisition chain"):
        chain.add(timer, reader)
    with pytest.raises(TypeError, match="not an AcquisitionMaster"):
        chain.add(reader)
    with pytest.raises(TypeError, match="neither an AcquisitionMaster nor an AcquisitionSlave"):
        chain.add(timer, AcquisitionDevice("plain"))
    with pytest.raises(TypeError, match="not a ChainPreset"):
        chain.add_preset(object())
    with pytest.raises(ValueError, match="not a top master"):
        chain.add_preset(ChainPreset(), master=AcquisitionMaster("other"))
    assert "timer" in repr(chain) and "diode" in repr(chain)


def test_chain_preset_on_one_top_master_of_two(quiet_env, devices):
    calls = []

    class Recorder(ChainPreset):
        def __init__(self, label):
            self.label = label

        def prepare(self, acq_chain):
            calls.append(f"{self.label}.prepare")

        def stop(self, acq_chain):
            calls.append(f"{self.label}.stop")

    chain = AcquisitionChain()
    fast = SoftwareTimerMaster(0.01, npoints=4, name="fast")
    slow = SoftwareTimerMaster(0.03, npoints=2, name="slow")
    chain.add(fast, CounterReader(devices.diode.controller, [devices.diode]))
    chain.add(slow, CounterReader(devices.diode2.controller, [devices.diode2]))
    chain.add_preset(Recorder("on_slow"), master=slow)
    chain.add_preset(Recorder("on_all"))
    scan = Scan(chain, name="two_masters", env=quiet_env)
    scan.run()
    assert calls == ["on_all.prepare", "on_slow.prepare", "on_slow.stop", "on_all.stop"]
    data = scan.get_data()
    assert len(data["diode"]) == 4 and len(data["diode2"]) == 2
    assert scan.npoints_done == 6  # both masters' points


def test_get_data_by_name_object_and_errors(quiet_env, devices):
    from beamshell.scanning.scans import loopscan

    scan = loopscan(2, 0, devices.diode2)
    data = scan.get_data()
    assert set(data) == {"elapsed_time", "epoch", "diode2"}
    assert "diode2" in data and devices.diode2 in data and "nope" not in data
    np.testing.assert_array_equal(data[devices.diode2], [7, 7])
    np.testing.assert_array_equal(data["timer:diode2"], [7, 7])
    data["diode2"][0] = 0  # a copy: the scan's data do not change
    assert scan.get_data()["diode2"][0] == 7
    with pytest.raises(KeyError, match="no data for 'diode' in this scan"):
        data[devices.diode]


def test_scan_constructor_errors(quiet_env):
    with pytest.raises(TypeError, match="chain must be an AcquisitionChain"):
        Scan(object(), env=quiet_env)
    with pytest.raises(ValueError, match="has no master"):
        Scan(AcquisitionChain(), env=quiet_env)
    chain = AcquisitionChain()
    chain.add(SoftwareTimerMaster(0))
    with pytest.raises(ValueError, match="name must be a word"):
        Scan(chain, name="two words", env=quiet_env)
    scan = Scan(chain, env=quiet_env)
    with pytest.raises(TypeError, match="not a ScanPreset"):
        scan.add_preset(ChainPreset())
