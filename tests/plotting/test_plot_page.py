"""The plot page in a real headless Chromium, following scans run in a real session.

What is checked is what the charting library holds (the page's drawn traces: uPlot's for
curves, plotly.js's for meshes and spectra), never the server's answers. Waits are on the
page's state: `Page.wait` resolves at the drawing where the predicate first holds; scans
are held at a point by a preset that waits for the test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from beamshell.plotting import control

ASCAN = "ascan(m1, 0, 2, 19, 0.01, gauss, diode, beam, run=False)"


def trace(state: dict, counter: str, scan_nb: int | None = None) -> dict:
    found = [
        t
        for t in state["traces"]
        if t["meta"]
        and t["meta"].get("counter") == counter
        and (scan_nb is None or t["name"].startswith(f"#{scan_nb} ") == (scan_nb is not None))
    ]
    assert found, f"no trace of {counter} in {[t['name'] for t in state['traces']]}"
    return found[0]


def test_the_page_follows_an_ascan_point_by_point(plot_server, open_page, run_scan, redis_client):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan(ASCAN, pause_at=6)
    paused = page.wait(
        "s.shown && s.shown.state === 'RUNNING' && s.traces.length && s.traces[0].x.length === 6"
    )
    assert paused["header"]["state"] == "RUNNING"
    assert paused["header"]["progress"] == "6 / 20"
    assert re.fullmatch(r"\d+:\d\d", paused["header"]["elapsed"])  # counted by the server's clock
    assert paused["view"]["x"] == "m1" and paused["view"]["y1"] == ["gauss"]
    early = trace(paused, "gauss")
    scan.release(redis_client)
    done = page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 20")
    result = scan.result()
    assert result["state"] == "DONE"
    gauss = trace(done, "gauss")
    assert gauss["x"] == result["data"]["m1"]
    assert gauss["y"] == result["data"]["gauss"]
    assert early["x"] == result["data"]["m1"][:6] and early["y"] == result["data"]["gauss"][:6]
    assert done["header"]["state"] == "DONE" and done["header"]["progress"] == "20 / 20"
    assert re.fullmatch(r"\d+:\d\d", done["header"]["elapsed"])
    assert done["shown"]["title"] == "ascan m1 0 2 19 0.01"


def test_a_page_opened_mid_scan_shows_the_points_taken(config_dir, redis_url, open_page, run_scan,
                                                      redis_client):  # fmt: skip
    scan = run_scan(ASCAN, pause_at=5)
    scan.wait_for("PAUSED AT 5")
    # The server starts after the scan did, and the page opens after both.
    status = control.start_plot_server("demo", config_dir)
    try:
        page = open_page(status["url"])
        paused = page.wait("s.shown && s.traces.length && s.traces[0].x.length === 5")
        assert paused["shown"]["state"] == "RUNNING"
        scan.release(redis_client)
        done = page.wait("s.shown && s.shown.ended && s.traces[0].x.length === 20")
        result = scan.result()
        assert trace(done, "gauss")["y"] == result["data"]["gauss"]
    finally:
        control.stop_plot_server("demo", config_dir)


def health(status: dict) -> dict:
    """The plot server's /api/health."""
    url = status["url"].replace("/?token=", "/api/health?token=")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


HIDE = """Object.defineProperty(document, 'visibilityState', {value: arguments[0], configurable: true});
document.dispatchEvent(new Event('visibilitychange'));"""


def test_a_hidden_page_is_sent_no_points_and_catches_up_when_shown(
    plot_server, open_page, run_scan, redis_client
):
    """A background tab (visibilityState hidden) costs its browser no decoding or drawing;
    its title still follows the scan, and shown again it draws everything it missed."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan(ASCAN, pause_at=6)
    page.wait("s.traces.length && s.traces[0].x.length === 6")
    page.call(HIDE, "hidden")
    page.wait("s.viewAcked && s.viewAcked.length === 0")  # the server agreed: no points
    draws = page.state()["draws"]
    scan.release(redis_client)
    hidden = page.wait("s.shown.ended && s.shown.done === 20")
    held = hidden["shown"]["held"]
    assert (held["gauss"], held["m1"]) == (6, 6)  # only the progress came
    assert hidden["draws"] == draws and len(trace(hidden, "gauss")["y"]) == 6
    assert page.call("return document.title").startswith(f"#{hidden['shown']['nb']} DONE")
    page.call(HIDE, "visible")
    shown = page.wait("s.traces.length && s.traces[0].x.length === 20")
    result = scan.result()
    assert trace(shown, "gauss")["x"] == result["data"]["m1"]
    assert trace(shown, "gauss")["y"] == result["data"]["gauss"]


def test_an_aborted_scan_shows_aborted(plot_server, open_page, run_scan):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan(ASCAN, fail_at=4)
    aborted = page.wait("s.shown && s.shown.ended")
    result = scan.result()
    assert result["state"] == "ABORTED"
    assert aborted["header"]["state"] == "ABORTED"
    assert aborted["header"]["progress"] == "4 / 20"
    assert trace(aborted, "gauss")["y"] == result["data"]["gauss"]
    listed = [h for h in aborted["history"] if h["id"] == result["node"]]
    assert listed and listed[0]["state"] == "ABORTED"


def test_counters_axes_scale_and_monitor(plot_server, open_page, run_scan, redis_client):
    """Click a counter to show it, put one on the right axis, log scale, normalise by beam;
    a zoom made while the scan runs stays while points arrive."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan(ASCAN, pause_at=10)
    first = page.wait("s.shown && s.traces.length && s.traces[0].x.length === 10")
    # The server sends what is shown. (While the scan's channels are still being found,
    # on a busy machine, the page may have picked elapsed_time as x for an instant.)
    assert {"gauss", "m1"} <= set(first["shown"]["series"])
    assert not {"diode", "beam"} & set(first["shown"]["series"])
    # ...and reads from Redis what some page shows (and one channel for the progress).
    assert {"diode", "beam"} <= set(health(plot_server)["unread"])
    page.call("document.querySelector('#counters tr[data-counter=diode]').click()")
    # Shown at once as a curve without points, which arrive when the server has read them.
    both = page.wait("s.traces.length === 2 && s.traces.every((t) => t.y.length === 10)")
    assert {t["meta"]["counter"] for t in both["traces"]} == {"gauss", "diode"}
    assert len(trace(both, "diode")["y"]) == 10  # a counter shown later: from its first point
    assert "diode" not in health(plot_server)["unread"]
    page.call("document.querySelector('#counters tr[data-counter=diode] button.y2').click()")
    right = page.wait("s.view.y2.includes('diode')")
    assert trace(right, "diode")["yaxis"] == "y2" and trace(right, "gauss")["yaxis"] == "y"
    page.call("document.querySelector('#counters tr[data-counter=diode]').click()")
    page.wait("s.traces.length === 1")
    page.call("document.getElementById('log-y').click()")
    logy = page.wait("s.yaxisType === 'log'")
    assert logy["view"]["logy"] and all(v is None or v > 0 for v in logy["traces"][0]["y"])
    page.call("document.getElementById('log-y').click()")  # values <= 0 are gaps on a log scale
    page.wait("s.yaxisType === 'linear'")
    page.call(
        "const s = document.getElementById('monitor-select'); s.value = 'beam';"
        "s.dispatchEvent(new Event('change'))"
    )
    page.wait("s.view.monitor === 'beam'")
    # Zoom as an operator does: drag a box over the curves with the mouse.
    over = page.driver.find_element(By.CSS_SELECTOR, "#curve-plot .u-over")
    ActionChains(page.driver).move_to_element_with_offset(
        over, -150, -60
    ).click_and_hold().move_by_offset(120, 40).move_by_offset(80, 40).release().perform()
    zoom = page.wait("s.zoom")["zoom"]
    scan.release(redis_client)
    done = page.wait("s.shown && s.shown.ended && s.traces[0].meta.points === 20")
    result = scan.result()
    expected = [g / b for g, b in zip(result["data"]["gauss"], result["data"]["beam"], strict=True)]
    assert done["traces"][0]["meta"]["points"] == 20 and done["zoom"] == zoom  # the zoom stayed
    ActionChains(page.driver).double_click(over).perform()  # back to the whole curves
    whole = page.wait("!s.zoom && s.traces[0].x.length === 20")
    assert trace(whole, "gauss")["y"] == expected


def test_legend_wheel_and_pointer_read_out(plot_server, open_page, run_scan):
    """A legend entry clicked hides its counter; the wheel zooms x about the pointer and
    shift + wheel pans it; the pointer near a point reads out its values."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    run_scan("ascan(m1, 0, 2, 19, 0.01, gauss, diode, run=False)")
    page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 20")
    page.call("document.querySelector('#counters tr[data-counter=diode]').click()")
    both = page.wait("s.traces.length === 2")
    driver = page.driver
    entry = driver.find_element(
        By.XPATH, "//*[@id='curve-plot']//tr[contains(@class, 'u-series')][.//*[text()='diode']]"
    )
    entry.click()
    page.wait("s.traces.length === 1 && !s.view.y1.includes('diode')")
    over = driver.find_element(By.CSS_SELECTOR, "#curve-plot .u-over")
    ActionChains(driver).scroll_from_origin(ScrollOrigin.from_element(over), 0, -100).perform()
    zoom = page.wait("s.zoom")["zoom"]
    assert 0 < zoom[0] < 1 < zoom[1] < 2  # narrower, about the middle (the pointer)
    ActionChains(driver).key_down(Keys.SHIFT).scroll_from_origin(
        ScrollOrigin.from_element(over), 0, 100
    ).key_up(Keys.SHIFT).perform()
    panned = page.wait(f"s.zoom && s.zoom[0] > {zoom[0]}")["zoom"]
    assert panned[1] - panned[0] == pytest.approx(zoom[1] - zoom[0])
    ActionChains(driver).double_click(over).perform()
    page.wait("!s.zoom")
    gauss = trace(both, "gauss")
    top = gauss["y"].index(max(gauss["y"]))
    x, y, width, height = driver.execute_script(
        "const u = window.beamshellPlot.curves.u;"
        "return [u.valToPos(arguments[0], 'x'), u.valToPos(arguments[1], 'y'),"
        " u.over.clientWidth, u.over.clientHeight]",
        gauss["x"][top],
        gauss["y"][top],
    )
    ActionChains(driver).move_to_element_with_offset(
        over, int(x - width / 2), int(y - height / 2)
    ).perform()
    tip = WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const t = document.querySelector('#curve-plot .curve-tip');"
            "return t && !t.hidden && t.textContent"
        )
    )
    name, value = tip.split("  ·  ")[0].split(": ")
    assert name == "gauss" and float(value) == pytest.approx(gauss["y"][top], rel=1e-5)


def test_loopscan_is_plotted_against_elapsed_time(plot_server, open_page, run_scan):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan("loopscan(8, 0.01, diode, run=False)")
    done = page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 8")
    result = scan.result()
    assert done["view"]["x"] == "elapsed_time"
    diode = trace(done, "diode")
    assert diode["x"] == result["data"]["elapsed_time"] and diode["y"] == result["data"]["diode"]
    assert not done["plotly"]  # curves only: the page never loaded plotly.js


def test_a_fine_scan_has_readable_ticks_and_its_points_marked(plot_server, open_page, run_scan):
    """Over 3 µm (m1 in mm, its resolution 1 µm), every tick label is distinct and says where
    it is drawn; the 4 points of the curve are marked (a long scan's are not, see the
    decimation test)."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan("ascan(m1, 0, 0.003, 3, 0, gauss, run=False)")
    page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 4")
    done = page.wait("s.ticks !== null")  # uPlot lays out its axes after the data are set
    assert trace(done, "gauss")["x"] == scan.result()["data"]["m1"]
    assert trace(done, "gauss")["marked"] == 4
    x_axis = next(axis for axis in done["ticks"] if axis["scale"] == "x")
    ticks = [(at, text) for at, text in zip(x_axis["at"], x_axis["labels"], strict=True) if text]
    assert len(ticks) >= 3 and len({text for _, text in ticks}) == len(ticks)
    step = ticks[1][0] - ticks[0][0]
    assert step < 0.001  # finer than uPlot's own labels could say
    assert all(float(text) == pytest.approx(at, abs=step / 100) for at, text in ticks)


def test_tick_labels_with_an_exponent_say_where_each_tick_is(plot_server, open_page):
    """Values past 1e6, or steps finer than 1e-6, are written with an exponent: each label
    still has the digits its step needs (the formatter, called in the page with a stand-in
    for the chart)."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")

    def labels_of(first: float, step: float, count: int) -> list[str]:
        return page.call(
            "const u = { scales: { y: { distr: 1 } }, axes: [{}, { scale: 'y' }] };"
            "return BeamshellCurves.tickLabels(u, arguments[0], 1, 50, arguments[1]);",
            [first + i * step for i in range(count)],
            step,
        )

    for first, step, count in [(1.2e9, 2.5e7, 5), (-3e-7, 2e-8, 8), (4.5e6, 5e4, 6)]:
        labels = labels_of(first, step, count)
        assert all("e" in text for text in labels) and len(set(labels)) == count, labels
        for i, text in enumerate(labels):
            assert float(text) == pytest.approx(first + i * step, rel=1e-9), labels
    assert labels_of(1.2e9, 2.5e7, 3) == ["1.200e+9", "1.225e+9", "1.250e+9"]
    assert labels_of(1e-8, 1e-8, 3) == ["1e-8", "2e-8", "3e-8"]  # no digit beyond the step's


def test_a_mesh_fills_an_image_then_shows_as_scatter(plot_server, open_page, run_scan,
                                                     redis_client):  # fmt: skip
    page = open_page(plot_server["url"])
    assert not page.wait("s.connected")["plotly"]  # loaded when a mesh is first shown
    scan = run_scan(
        "amesh(m1, 0, 1, 3, m2, 0, 1, 2, 0.01, diode, backnforth=True, run=False)", pause_at=6
    )
    partial = page.wait("s.shown && s.traces.length && s.traces[0].type === 'heatmap'"
                        " && s.traces[0].meta.points === 6")  # fmt: skip
    z = partial["traces"][0]["z"]
    assert len(z) == 3 and all(len(row) == 4 for row in z)
    assert sum(v is not None for row in z for v in row) == 6
    assert z[2] == [None] * 4
    scan.release(redis_client)
    done = page.wait("s.shown && s.shown.ended && s.traces[0].meta.points === 12")
    diode = scan.result()["data"]["diode"]
    z = done["traces"][0]["z"]
    assert z[0] == diode[0:4] and z[1] == diode[4:8][::-1] and z[2] == diode[8:12]
    page.call("document.getElementById('mesh-scatter').click()")
    scatter = page.wait("s.traces.length && s.traces[0].type === 'scatter'")
    assert scatter["traces"][0]["color"] == diode


def test_spectra_show_the_last_one_and_a_waterfall(plot_server, open_page, run_scan):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan("loopscan(5, 0.01, diode, mca, run=False)")
    done = page.wait("s.shown && s.shown.ended && s.spectra && s.spectra.rows === 5")
    scan.result()
    assert len(done["spectra"]["last"]) == 1024


def test_history_overlay_and_groups(plot_server, open_page, config_dir, redis_url):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    commands = (
        "s1 = ascan(m1, 0, 1, 4, 0.01, gauss)\n"
        "s2 = ascan(m1, 0, 1, 4, 0.01, gauss)\n"
        "Group(s1, s2)\n"
    )
    session = subprocess.run(
        [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config", str(config_dir),
         "-c", commands],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    listed = page.wait("s.history.length === 3 && s.history[2].kind === 'scan_group'"
                       " && s.history[2].members.length === 2")  # fmt: skip
    first, second, group = listed["history"]
    assert group["members"] == [first["id"], second["id"]]
    assert listed["shown"]["id"] == second["id"]  # the last scan, not the group
    page.call(f"window.beamshellPlot.overlay({first['id']!r})")
    overlaid = page.wait("s.traces.length === 2")
    assert {t["name"] for t in overlaid["traces"]} == {"gauss", f"#{first['nb']} gauss"}
    page.call(f"window.beamshellPlot.show({first['id']!r})")
    shown = page.wait(f"s.shown && s.shown.id === {first['id']!r} && !s.follow")
    assert trace(shown, "gauss")["x"] == trace(overlaid, "gauss", first["nb"])["x"]
    page.call(f"window.beamshellPlot.show({group['id']!r})")  # a group: its scans together
    together = page.wait(f"s.shown.id === {first['id']!r} && s.traces.length === 2")
    assert together["held"]["overlays"] == 1


def test_a_page_left_open_holds_only_what_it_shows(plot_server, open_page, config_dir, redis_url):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    commands = "for i in range(15): loopscan(3, 0, diode)\n"
    session = subprocess.run(
        [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config", str(config_dir),
         "-c", commands],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    state = page.wait("s.history.length === 15 && s.shown && s.shown.nb === 15 && s.shown.ended")
    assert state["held"]["scans"] == 1  # the scans before it are gone from the page
    assert state["held"]["historyRows"] == 15


def test_a_long_scan_is_decimated_for_drawing(plot_server, open_page, run_scan):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan("loopscan(20000, 0, diode, run=False)")
    done = page.wait("s.shown && s.shown.ended && s.traces.length"
                     " && s.traces[0].meta.points === 20000")  # fmt: skip
    diode = scan.result()["data"]["diode"]
    drawn = trace(done, "diode")
    assert drawn["meta"]["decimated"] and len(drawn["y"]) <= 2000 and drawn["marked"] == 0
    assert max(drawn["y"]) == max(diode) and min(drawn["y"]) == min(diode)  # peaks survive
    assert drawn["y"][0] == diode[0] and drawn["y"][-1] == diode[-1]


def test_peak_cen_com_markers_are_the_sessions_own_numbers(plot_server, open_page, run_scan):
    analysis = pytest.importorskip("beamshell.analysis", reason="beamshell.analysis not installed")
    cen, com, peak = analysis.cen, analysis.com, analysis.peak

    page = open_page(plot_server["url"])
    page.wait("s.connected")
    scan = run_scan("ascan(m1, -2, 2, 30, 0.01, gauss, beam, run=False)")
    done = page.wait(
        "s.shown && s.shown.ended && s.markers && s.markers.gauss"
        " && s.markers.gauss.points === 31 && s.shapes === 3"
    )
    data = scan.result()["data"]
    marks = done["markers"]["gauss"]
    assert marks["peak"]["x"] == peak(data["m1"], data["gauss"])
    assert marks["cen"]["x"] == cen(data["m1"], data["gauss"]).position
    assert marks["cen"]["fwhm"] == cen(data["m1"], data["gauss"]).fwhm
    assert marks["com"] == com(data["m1"], data["gauss"])
    assert page.call("return document.querySelector('#markers').innerText").count("gauss") == 1


def test_a_scan_whose_first_point_is_alone_and_negative_is_drawn(
    plot_server, open_page, run_scan, redis_client, chromium
):
    """A dscan's first drawing often holds one point at a negative position: uPlot's own
    range for it made its ticks run away, and the chart stayed blank for the whole scan."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    chromium.get_log("browser")  # from here on, the page must log no error
    scan = run_scan("ascan(m1, -2.9, 0.1, 15, 0.01, gauss, run=False)", pause_at=1)
    page.wait("s.shown && s.traces.length && s.traces[0].x.length === 1")
    low, high = page.state()["xRange"]  # uPlot sets its scales a moment after the data
    assert low < -2.9 < high
    scan.release(redis_client)
    page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 16")
    done = page.state()
    drawn = trace(done, "gauss")
    assert done["xRange"] == [min(drawn["x"]), max(drawn["x"])]  # the data's own, again
    assert drawn["y"] == scan.result()["data"]["gauss"]
    errors = [
        entry["message"] for entry in chromium.get_log("browser") if entry["level"] == "SEVERE"
    ]
    assert errors == []


def test_marker_labels_stay_inside_the_plot_at_either_edge(plot_server, open_page, run_scan):
    """A peak at the start of the scan is labelled right of its line, one at the end left
    of it: a label never covers the axes' numbers nor runs off the plot."""
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    for command, side in (
        ("ascan(m1, -0.1, 2.9, 15, 0.01, gauss, run=False)", "right"),  # peak at -0.1 or 0.1
        ("ascan(m1, -2.9, 0.1, 15, 0.01, gauss, run=False)", "left"),
    ):
        node = run_scan(command).result()["node"]
        done = page.wait(
            f"s.shown && s.shown.id === {node!r} && s.shown.ended && s.shapes >= 2"
            " && s.markerLabels && s.markerLabels.drawn.length === s.shapes"
        )
        left, right = done["markerLabels"]["plot"]
        labels = done["markerLabels"]["drawn"]
        assert {label["text"].split()[0] for label in labels} >= {"peak", "com"}
        for label in labels:
            assert left <= label["left"] < label["right"] <= right, (label, left, right)
        (peak,) = [label for label in labels if label["text"].startswith("peak")]
        middle = (left + right) / 2
        assert (peak["left"] < middle) if side == "right" else (peak["right"] > middle)


def test_a_count_is_listed_but_does_not_take_the_plot(
    plot_server, open_page, config_dir, redis_url
):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    session = subprocess.run(
        [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config", str(config_dir),
         "-c", "ascan(m1, 0, 1, 4, 0.01, gauss)\nct(0.01, diode)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    state = page.wait("s.history.length === 2 && s.history[1].state === 'DONE'")
    assert state["shown"]["nb"] == 1 and state["history"][1]["nb"] == 2


def test_a_page_left_open_survives_a_restart_of_its_server(plot_server, config_dir, open_page,
                                                            run_scan):  # fmt: skip
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    control.stop_plot_server("demo", config_dir)
    page.wait("!s.connected")
    restarted = control.start_plot_server("demo", config_dir)
    assert restarted["url"] == plot_server["url"]  # same port and token
    page.wait("s.connected")
    scan = run_scan("loopscan(4, 0.01, diode, run=False)")
    done = page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 4")
    assert trace(done, "diode")["y"] == scan.result()["data"]["diode"]


def test_redis_going_away_is_shown_then_followed_again(config_dir, tmp_path, open_page):
    from beamshell.config.redis_server import PrivateRedis

    server = PrivateRedis(tmp_path / "own-redis")
    server.start()
    try:
        status = control.start_plot_server("demo", config_dir, redis_url=server.url)
        page = open_page(status["url"])
        page.wait("s.connected && !s.error")
        server.kill()
        gone = page.wait("s.error !== null")
        assert server.url in gone["error"]
        server.start()
        page.wait("s.connected && s.error === null")
    finally:
        control.stop_plot_server("demo", config_dir)
        server.stop()


def test_a_configuration_with_a_key_prefix_is_followed(config_dir, redis_url, open_page, run_scan,
                                                       redis_client):  # fmt: skip
    init = config_dir / "__init__.yml"
    init.write_text(init.read_text() + "redis_key_prefix: bl01\n")
    status = control.start_plot_server("demo", config_dir)
    try:
        page = open_page(status["url"])
        page.wait("s.connected")
        first = run_scan("loopscan(3, 0.01, diode, run=False)")
        first.result()
        page.wait("s.shown && s.shown.ended && s.traces.length && s.traces[0].x.length === 3")
        assert redis_client.keys("bl01:demo:*") and not redis_client.keys("demo:*")
    finally:
        control.stop_plot_server("demo", config_dir)
    restarted = control.start_plot_server("demo", config_dir)  # the history read at start
    try:
        listed = open_page(restarted["url"]).wait("s.history.length === 1")
        assert listed["history"][0]["state"] == "DONE" and listed["history"][0]["nb"] == 1
    finally:
        control.stop_plot_server("demo", config_dir)


def test_plotselect_chooses_the_counters_shown(plot_server, open_page, config_dir, redis_url):
    page = open_page(plot_server["url"])
    page.wait("s.connected")
    session = subprocess.run(
        [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config", str(config_dir),
         "-c", "plotselect(beam, diode)\nascan(m1, 0, 1, 4, 0.01, gauss, diode, beam)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    done = page.wait("s.shown && s.shown.ended && s.traces.length === 2")
    assert done["view"]["y1"] == ["beam", "diode"]
    assert {t["meta"]["counter"] for t in done["traces"]} == {"beam", "diode"}
