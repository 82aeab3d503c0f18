"""A site package's device classes, as a beamline would write them, for the loader tests."""


class Thing:
    """A configurable object with two known keys and a reference to another object."""

    KEYS = ("value", "partner", "items", "colour")

    def __init__(self, name, value, partner, items, colour):
        self.name = name
        self.value = value
        self.partner = partner
        self.items = items
        self.colour = colour

    @classmethod
    def from_config(cls, node, config):
        node.check_keys(cls.KEYS)
        return cls(
            node.name,
            node.get("value", 0),
            node.get("partner"),
            node.get("items", []),
            node.get("colour"),
        )


class Rack:
    """A controller whose named `slots` are handed out by get_object."""

    def __init__(self, slots):
        self.slots = slots

    @classmethod
    def from_config(cls, node, config):
        node.check_keys(("slots", "colour"))
        slots = {}
        for child in node.children("slots"):
            child.check_keys(("size",))
            slots[child.name] = {
                "name": child.name,
                "size": child.get("size"),
                "rack_colour": node.get("colour"),
            }
        return cls(slots)

    def get_object(self, name):
        return self.slots[name]
