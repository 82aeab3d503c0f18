"""The common keywords of the standard scans: declared once, shown in every signature."""

import inspect

import pytest

from beamshell.scanning import scans
from beamshell.scanning.scan_options import ScanOptions, scan_command

COMMON = ["name", "title", "save", "run", "scan_info", "display", "env"]


@pytest.mark.parametrize("name", scans.__all__)
def test_every_scan_shows_the_common_keywords_in_its_signature(name):
    command = getattr(scans, name)
    parameters = inspect.signature(command).parameters
    assert list(parameters)[-len(COMMON) :] == COMMON  # what `loopscan?` shows
    assert all(parameters[k].kind is inspect.Parameter.KEYWORD_ONLY for k in COMMON)
    assert "Common keywords: name, title, save, run" in command.__doc__


def test_defaults_per_scan():
    assert inspect.signature(scans.loopscan).parameters["save"].default is True
    ct = inspect.signature(scans.ct).parameters
    assert (ct["save"].default, ct["name"].default) == (False, "ct")


def test_an_unknown_keyword_is_named(quiet_env, devices):
    with pytest.raises(TypeError, match="loopscan.. got an unexpected keyword argument 'tittle'"):
        scans.loopscan(2, 0, devices.diode, tittle="x")
    with pytest.raises(TypeError, match="no common keyword colour"):
        scan_command(colour="red")


def test_keywords_reach_the_scan(quiet_env, devices):
    scan = scans.ascan(devices.m1, 0, 1, 2, 0, devices.diode, name="align", title="t", run=False,
                       save=False, scan_info={"sample": "Si"})  # fmt: skip
    assert scan.state.name == "IDLE" and scan.name == "align" and scan.title == "t"
    assert scan.scan_info["sample"] == "Si" and not scan.save
    assert ScanOptions().environment() is quiet_env


def test_ct_display_false_prints_nothing(env, devices, capsys):
    scans.ct(0.01, devices.diode, display=False)
    assert capsys.readouterr().out == ""
    scans.ct(0.01, devices.diode)
    assert "diode" in capsys.readouterr().out
