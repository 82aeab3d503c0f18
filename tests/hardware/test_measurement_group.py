"""Measurement groups: enable/disable by name, pattern or object, persisted, readable."""

import pytest

from beamshell.errors import ConfigError
from beamshell.hardware.measurement_group import MeasurementGroupError

FILES = {
    "counters.yml": """
    - {name: diode, class: simulation_diode}
    - {name: diode2, class: simulation_diode, constant: 7}
    - {name: beam, class: simulation_beam_monitor}
    - {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2, $beam]}
    - {name: MG2, class: MeasurementGroup, counters: [$beam]}
    """
}


@pytest.fixture
def config(make_config):
    return make_config(FILES)


def names(counters):
    return [counter.name for counter in counters]


def test_all_counters_enabled_at_first(config):
    mg = config.get("MG1")
    assert names(mg.counters) == ["diode", "diode2", "beam"]
    assert names(mg.enabled) == ["diode", "diode2", "beam"]
    assert mg.disabled == []
    assert mg.counters[0] is config.get("diode")


def test_enable_disable_by_name_object_and_pattern(config):
    mg = config.get("MG1")
    mg.disable("diode2")
    assert names(mg.enabled) == ["diode", "beam"]
    mg.disable(config.get("beam"))
    assert names(mg.enabled) == ["diode"]
    assert names(mg.disabled) == ["diode2", "beam"]
    mg.enable("diode*")
    assert names(mg.enabled) == ["diode", "diode2"]
    mg.disable_all()
    assert mg.enabled == []
    mg.enable_all()
    assert len(mg.enabled) == 3


def test_enabled_set_persists_across_a_new_config(config, make_config, redis_client):
    config.get("MG1").disable("diode", "beam")
    config.get("MG2").disable("beam")
    config.close()
    reopened = make_config()
    assert names(reopened.get("MG1").enabled) == ["diode2"]
    assert names(reopened.get("MG2").enabled) == []
    assert redis_client.hget("settings:mg:MG1", "disabled") == b'["beam", "diode"]'


def test_renamed_counter_is_still_found(config):
    mg = config.get("MG1")
    config.get("diode").name = "pd"  # a session alias
    mg.disable("pd")
    assert names(mg.disabled) == ["pd"]
    mg.enable("diode")  # the configuration name still works
    assert mg.disabled == []


def test_unknown_counter_is_refused_and_changes_nothing(config):
    mg = config.get("MG1")
    with pytest.raises(
        MeasurementGroupError,
        match=r"MG1: no counter 'mca' in this measurement group \(counters: diode, diode2, beam\)",
    ):
        mg.disable("diode", "mca")
    assert len(mg.enabled) == 3
    with pytest.raises(MeasurementGroupError, match="MG2: no counter 'diode'"):
        config.get("MG2").enable("beam", config.get("diode"))
    with pytest.raises(MeasurementGroupError, match=r"MG1.enable\(\) needs at least one counter"):
        mg.enable()


def test_info_lists_enabled_and_disabled(config):
    mg = config.get("MG1")
    mg.disable("diode2")
    text = repr(mg)
    assert text.splitlines() == [
        "MeasurementGroup: MG1 (2 of 3 enabled)",
        "",
        "  Enabled  Disabled",
        "  -------  --------",
        "  diode    diode2",
        "  beam",
    ]
    assert mg.__info__() == text


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: MGX, class: MeasurementGroup}", "missing required key 'counters'"),
        (
            "{name: MGX, class: MeasurementGroup, counters: []}",
            "'counters' must be a non-empty list",
        ),
        (
            "{name: MGX, class: MeasurementGroup, counters: [$m9]}",
            "reference '$m9' to a missing object",
        ),
        (
            "{name: MGX, class: MeasurementGroup, counters: [$diode, $fsh]}",
            "'counters' item '$fsh' is not a counter",
        ),
        (
            "{name: MGX, class: MeasurementGroup, counters: [$diode], default: 1}",
            "unknown key 'default'",
        ),
    ],
)
def test_config_errors(make_config, entry, message):
    config = make_config(
        {
            **FILES,
            "bad.yml": f"- {{name: fsh, class: simulation_shutter}}\n- {entry}\n",
        }
    )
    with pytest.raises(ConfigError) as info:
        config.get("MGX")
    assert str(info.value).startswith(f"{config.root_dir / 'bad.yml'}:2: object 'MGX': ")
    assert message in str(info.value)
