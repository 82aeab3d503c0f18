"""Aligning from the session's namespace: plotselect, the peak tools, goto_*, where, plot."""

import re

import gevent
import gevent.event
import pytest

from beamshell.analysis import PeakError

CONFIG = """\
- controller:
    class: mockup
    axes:
      - {name: m1, velocity: 100, acceleration: 2000, steps_per_unit: 1000,
         low_limit: -10, high_limit: 10, unit: mm}
      - {name: m2, velocity: 100, acceleration: 2000, steps_per_unit: 1000}
- {name: diode, class: simulation_diode}
- {name: gauss, class: simulation_gaussian, axis: $m1, center: 1.3, fwhm: 0.8, height: 1000}
- {name: gauss2, class: simulation_gaussian, axis: $m1, center: -0.5, fwhm: 1.5, height: 50}
- {name: align, class: Session, config-objects: [m1, m2, diode, gauss, gauss2]}
"""


@pytest.fixture
def open_align(tmp_path, redis_url):
    (tmp_path / "beamline.yml").write_text(CONFIG)
    from beamshell.sessions import load_session

    opened = []

    def opener():
        session = load_session("align", config_dir=tmp_path, redis_url=redis_url)
        opened.append(session)
        return session

    yield opener
    for session in opened:
        session.close()


@pytest.fixture
def ns(open_align):
    return open_align().env_dict


def test_the_tools_are_in_the_namespace(ns):
    for name in ("plotselect", "cen", "com", "peak", "fwhm", "trough", "goto_cen", "goto_com",
                 "goto_peak", "goto_min", "goto_custom", "where", "plot"):  # fmt: skip
        assert callable(ns[name]), name


def test_cen_prints_one_line_and_returns_the_numbers(ns, capsys):
    ns["ascan"](ns["m1"], -1, 3, 40, 0, ns["gauss"], ns["diode"], display=False)
    centre, width = ns["cen"]()
    assert centre == pytest.approx(1.3, abs=1e-3) and width == pytest.approx(0.8, abs=1e-3)
    assert capsys.readouterr().out == "cen gauss vs m1: 1.3 (fwhm 0.8)\n"
    assert ns["peak"]() == pytest.approx(1.3)
    assert ns["com"]() == pytest.approx(1.3, abs=1e-3)
    assert ns["fwhm"]() == pytest.approx(0.8, abs=1e-3)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "peak gauss vs m1: 1.3" and out[2] == "fwhm gauss vs m1: 0.8"
    assert re.fullmatch(r"com gauss vs m1: 1\.3\d*", out[1])


def test_plotselect_chooses_the_counter_and_survives_a_restart(open_align, capsys):
    ns = open_align().env_dict
    ns["plotselect"]()
    assert capsys.readouterr().out == "plotselect: none (each scan's first counter is used)\n"
    ns["plotselect"](ns["gauss2"], "gauss")
    assert capsys.readouterr().out == "plotselect: gauss2, gauss\n"
    scan = ns["ascan"](ns["m1"], -4, 4, 80, 0, ns["diode"], ns["gauss"], display=False)
    assert scan.scan_info["plotselect"] == ["gauss"]  # gauss2 was not counted
    assert ns["cen"]()[0] == pytest.approx(1.3, abs=1e-3)
    with pytest.raises(ValueError, match=r"plotselect: no counter named 'gaus' in session align"):
        ns["plotselect"]("gaus")
    with pytest.raises(TypeError, match=r"plotselect: argument 1 \(m1\) is not a counter"):
        ns["plotselect"](ns["m1"])
    reopened = open_align().env_dict  # a new shell of the same session
    reopened["plotselect"]()
    assert capsys.readouterr().out.endswith("plotselect: gauss2, gauss\n")


def test_goto_cen_after_a_dscan_goes_to_the_absolute_position(ns, capsys):
    m1 = ns["m1"]
    m1.move(1.0)
    ns["dscan"](m1, -2, 2, 40, 0, ns["gauss"], display=False)
    assert m1.position == pytest.approx(1.0)  # dscan went back to its start
    capsys.readouterr()
    ns["goto_cen"]()
    assert m1.position == pytest.approx(1.3, abs=2e-3)
    out = capsys.readouterr().out
    assert out.startswith("cen gauss vs m1: 1.3 (fwhm 0.8)\ngoto_cen: m1 from 1.00000 to 1.30")
    # umv's display: the axis with its unit over the user and dial rows
    assert re.search(r"\s+m1\[mm\]\n", out) and out.rstrip().endswith("1.30000")
    ns["goto_peak"]()
    assert m1.position == pytest.approx(1.3)
    ns["goto_min"]()
    assert m1.position in (-1.0, 3.0)
    ns["goto_com"]()
    assert m1.position == pytest.approx(1.3, abs=2e-3)


def test_goto_moves_every_axis_of_an_a2scan(ns):
    m1, m2 = ns["m1"], ns["m2"]
    ns["a2scan"](m1, -1, 3, m2, 10, 20, 40, 0, ns["gauss"], display=False)
    ns["goto_cen"]()
    assert m1.position == pytest.approx(1.3, abs=2e-3)
    assert m2.position == pytest.approx(15 + 2.5 * 0.3, abs=5e-3)  # where m2 was then


def test_goto_custom_takes_a_function_of_x_and_y(ns, capsys):
    ns["ascan"](ns["m1"], -1, 3, 40, 0, ns["gauss"], display=False)
    ns["goto_custom"](lambda x, y: x[y > 600].max())  # the last point above 600
    assert ns["m1"].position == pytest.approx(1.6)
    assert "goto_custom: m1 from" in capsys.readouterr().out
    with pytest.raises(PeakError, match="goto_custom: <lambda> must return a finite position"):
        ns["goto_custom"](lambda x, y: None)
    with pytest.raises(TypeError, match="goto_custom: 3 is not a function"):
        ns["goto_custom"](3)


def test_goto_refuses_bad_data_and_moves_nothing(ns, capsys):
    m1 = ns["m1"]
    with pytest.raises(PeakError, match="goto_cen: no scan has run in this session yet"):
        ns["goto_cen"]()
    ns["loopscan"](5, 0, ns["gauss"], display=False)
    with pytest.raises(PeakError, match=r"goto_peak: scan \d+ \(loopscan\) has no axis to move"):
        ns["goto_peak"]()
    ns["ascan"](m1, -1, 1, 20, 0, ns["gauss"], ns["diode"], display=False)
    for command, message in [
        ("goto_cen", r"cen gauss in scan \d+: no crossing at half maximum after the peak: "
                     r"the peak is at the end of the scan \(1\); scan further"),
        ("goto_com", r"com: scan \d+ has no counter m2 \(counters: gauss, diode\)"),
    ]:  # fmt: skip
        capsys.readouterr()
        with pytest.raises(PeakError, match=message):
            ns[command](counter="m2" if command == "goto_com" else None)
        assert m1.position == 1.0 and "from" not in capsys.readouterr().out
    m1.limits = (-10, 0.5)  # the peak of that scan is now out of reach
    with pytest.raises(ValueError, match=r"goto_peak: m1: target 1 is outside limits \(-10, 0.5\)"):
        ns["goto_peak"]()
    assert m1.position == 1.0


def test_where_shows_the_axis_next_to_peak_cen_and_com(ns, capsys):
    ns["ascan"](ns["m1"], -1, 3, 40, 0, ns["gauss"], display=False)
    capsys.readouterr()
    ns["where"]()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"where: gauss in scan \d+ \(ascan m1 -1 3 40 0\)", lines[0])
    assert lines[1].split() == ["axis", "current", "peak", "cen", "com"]
    assert lines[3].split() == ["m1", "3.00000", "1.30000", "1.30000", "1.30000"]
    ns["ascan"](ns["m1"], 1, 3, 20, 0, ns["gauss"], display=False)
    capsys.readouterr()
    ns["where"]()
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split()[3] == "-"  # no cen: the scan starts after the rise
    assert "the peak is at the start of the scan" in lines[4]


def test_plot_fits_the_terminal(ns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setenv("LINES", "30")
    with pytest.raises(PeakError, match="plot: no scan has run in this session yet"):
        ns["plot"]()
    scan = ns["ascan"](ns["m1"], -3, 3, 60, 0, ns["gauss"], ns["gauss2"], display=False)
    capsys.readouterr()
    ns["plot"]()
    text = _plain(capsys.readouterr().out)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 30 - 8 and max(len(line) for line in lines) == 89
    assert f"scan {scan.scan_number}: ascan m1 -3 3 60 0" in lines[0]
    assert lines[-1].startswith("gauss: peak 1.3 (red), cen 1.3 (green), com 1.3")
    assert "gauss" in text and "gauss2" not in text  # the first counter only
    ns["plotselect"]("gauss", "gauss2")
    ns["plot"](scan.scan_number)
    assert "gauss2" in _plain(capsys.readouterr().out)
    ns["plot"](scan, "gauss2")
    assert "cen -0.5" in _plain(capsys.readouterr().out)


def test_plot_of_a_mesh_is_a_heat_map(ns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    ns["amesh"](ns["m1"], -1, 3, 8, ns["m2"], 0, 1, 3, 0, ns["gauss"], display=False)
    capsys.readouterr()
    ns["plot"]()
    out = capsys.readouterr().out
    assert "\x1b[38;2;253;231;37m" in out  # the top of the colour scale: the peak
    text = _plain(out)
    assert re.search(r"\ngauss: [-+.e\d]+ \(dark\) \.\. 840\.9 \(yellow\)\n", text)


def test_live_plot_draws_the_running_scan_then_leaves_its_final_drawing(ns, capsys):
    from beamshell.scanning.chain import ChainIterationPreset, ChainPreset

    halfway, go_on = gevent.event.Event(), gevent.event.Event()

    class PauseAtPoint(ChainPreset):
        def get_iterator(self, chain):
            for index in range(100):
                hook = ChainIterationPreset()
                if index == 15:
                    hook.prepare = lambda: (halfway.set(), go_on.wait())
                yield hook

    ns["plot"](live=True)
    assert "live plot on" in capsys.readouterr().out
    live = ns["plot"].__self__.live
    assert live.panel(80, 20) == ""  # no scan running
    scan = ns["ascan"](ns["m1"], -1, 3, 30, 0, ns["gauss"], run=False, display=False)
    scan.acq_chain.add_preset(PauseAtPoint())
    runner = gevent.spawn(scan.run)
    assert halfway.wait(timeout=30)
    drawing = live.panel(80, 20)
    assert f"scan {scan.scan_number}" in _plain(drawing) and len(drawing.splitlines()) == 20
    assert live.panel(80, 20) is drawing  # nothing new: not drawn again
    go_on.set()
    runner.get(timeout=30)
    capsys.readouterr()
    assert live.panel(80, 20) == ""
    final = _plain(capsys.readouterr().out)  # printed once the scan has ended
    assert "cen 1.3" in final and len(final.rstrip("\n").split("\n")) == 20
    ns["plot"](live=False)
    assert live.panel(80, 20) == ""


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
