"""Completion comes from the namespace alone and never reads a device property."""

from beamshell.shell.completion import complete


class Axis:
    reads = 0

    def __init__(self, name):
        self.name = name

    @property
    def position(self):
        Axis.reads += 1
        raise AssertionError("completion must not read a device")

    def move(self, target):
        pass


class Counter:
    @property
    def raw_read(self):
        raise AssertionError("completion must not read a device")


def loopscan(*args):
    pass


NAMESPACE = {
    "m1": Axis("m1"),
    "m2": Axis("m2"),
    "diode": Counter(),
    "loopscan": loopscan,
    "mvalue": 3,
    "umv": loopscan,
    "tx": Axis("tx"),
    "ta": 1.5,
    "_hidden": 1,
}


def texts(candidates):
    return [c.text for c in candidates]


def test_names_from_namespace_builtins_and_keywords():
    assert texts(complete("m", NAMESPACE)) == [
        "m1",
        "m2",
        "map",
        "max",
        "memoryview",
        "min",
        "mvalue",
    ]
    assert texts(complete("pri", NAMESPACE)) == ["print"]
    assert texts(complete("lamb", NAMESPACE)) == ["lambda"]
    assert complete("wa", NAMESPACE) == []


def test_tab_on_an_empty_line_lists_nothing():
    assert complete("", NAMESPACE) == []


def test_private_names_only_when_asked():
    assert "_hidden" not in texts(complete("x = ", NAMESPACE))
    assert texts(complete("_hi", NAMESPACE)) == ["_hidden"]


def test_device_attributes_without_reading_properties():
    found = complete("m1.po", NAMESPACE)
    assert [(c.text, c.start, c.meta) for c in found] == [("position", -2, "property")]
    assert "move" in texts(complete("m1.", NAMESPACE))
    assert Axis.reads == 0


def test_no_completion_through_a_property():
    assert complete("m1.position.re", NAMESPACE) == []


def test_axes_and_counters_first_inside_calls():
    inside = complete("loopscan(10, 0.1, ", NAMESPACE)
    kinds = [c.meta for c in inside]
    assert set(kinds[:3]) == {"axis", "counter"}
    assert texts(complete("loopscan(10, 0.1, di", NAMESPACE)) == ["diode", "dict", "dir", "divmod"]


def test_axes_first_after_a_typing_helper_command():
    found = complete("umv t", NAMESPACE)
    assert texts(found) == ["tx", "ta", "try", "tuple", "type"]
    assert found[0].meta == "axis"
    assert texts(complete("ta = t", NAMESPACE)) == ["ta", "try", "tuple", "tx", "type"]


def test_unknown_object_gives_nothing():
    assert complete("nothere.x", NAMESPACE) == []
    assert complete("x = 12", NAMESPACE) == []
