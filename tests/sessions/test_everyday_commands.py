"""wa, wm, mv, umv, mvr, umvr, sync, lscnt, lsconfig, lsmg through a loaded session."""

import gevent
import pytest


@pytest.fixture
def env(open_session):
    return open_session("plain").env_dict


def test_mv_moves_several_axes_together(env):
    started = gevent.get_hub().loop.now()
    env["mv"](env["m1"], 2, env["m2"], -2)
    assert env["m1"].position == pytest.approx(2)
    assert env["m2"].position == pytest.approx(-2)
    # together, not one after the other: about one move's time, not two
    one_move = 2 / 20 + 20 / 200
    assert gevent.get_hub().loop.now() - started < 2 * one_move


def test_mvr_and_umvr_are_relative(env, capsys):
    env["mv"](env["m1"], 1)
    env["mvr"](env["m1"], 0.5)
    assert env["m1"].position == pytest.approx(1.5)
    env["umvr"](env["m1"], -1)
    assert env["m1"].position == pytest.approx(0.5)
    out = capsys.readouterr().out
    assert "m1[mm]" in out and out.splitlines()[-1].split() == ["dial", "0.50000"]


def test_umv_prints_positions_while_moving(env, capsys):
    env["m1"].velocity = 5
    env["m1"].offset = 1
    env["umv"](env["m1"], 3, env["m2"], -1)
    out = capsys.readouterr().out
    frames = [f for f in out.replace("\r", "\n").splitlines() if f.strip()]
    assert len(frames) >= 5  # header, intermediate positions, final user and dial rows
    assert frames[0].split() == ["m1[mm]", "m2"]  # units as in wa (m2 has none)
    assert frames[-2].split() == ["user", "3.00000", "-1.00000"]
    assert frames[-1].split() == ["dial", "2.00000", "-1.00000"]
    assert all(f.startswith("user") for f in frames[1:-1])


def test_umv_checks_every_limit_before_printing_anything(env, capsys):
    with pytest.raises(ValueError, match="m1: target 50 is outside limits"):
        env["umv"](env["m2"], 1, env["m1"], 50)
    assert capsys.readouterr().out == ""
    assert env["m2"].position == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("m1",), "expected pairs of \\(axis, position\\), got 1 arguments"),
        (("m1", 1, "m2"), "got 3 arguments"),
        (("not_an_axis", 1), "argument 1 is 'not_an_axis' \\(str\\), not an axis"),
        (("m1", "far"), "position for m1 \\(argument 2\\) is 'far'"),
        ((), "got nothing"),
    ],
)
def test_mv_argument_errors_name_the_bad_argument(env, args, message):
    resolved = [env[a] if a in ("m1", "m2") else a for a in args]
    with pytest.raises(TypeError, match=message):
        env["mv"](*resolved)
    assert env["m1"].position == 0 and not env["m1"].is_moving


def test_move_beyond_limits_is_refused_before_anything_moves(env):
    with pytest.raises(ValueError) as info:
        env["mv"](env["m2"], 1, env["m1"], 50)
    message = str(info.value)
    assert "m1" in message and "50" in message and "-10" in message and "10" in message
    assert env["m2"].position == 0  # the valid axis did not move either


def test_ctrl_c_during_mv_stops_every_axis_and_reports(env, capsys, wait_until_moving):
    env["m1"].velocity = 0.5  # 20 s to the limit: interrupted long before
    env["m2"].velocity = 0.5
    command = gevent.spawn(env["mv"], env["m1"], 10, env["m2"], 10)
    wait_until_moving(env["m1"], env["m2"])
    gevent.sleep(0.5)  # some motion: they stop on their way
    # gevent hands a KeyboardInterrupt that ends a greenlet on to the main greenlet.
    with pytest.raises(KeyboardInterrupt):
        command.kill(KeyboardInterrupt)
    assert isinstance(command.exception, KeyboardInterrupt)
    for axis in (env["m1"], env["m2"]):
        assert not axis.is_moving
        assert 0 < axis.position < 10
    out = capsys.readouterr().out
    assert "m1 stopped at" in out and "m2 stopped at" in out


def test_ctrl_c_during_umv_stops_the_axis(env, capsys, wait_until_moving):
    env["m1"].velocity = 0.5  # 20 s to the limit: interrupted long before
    command = gevent.spawn(env["umv"], env["m1"], 10)
    wait_until_moving(env["m1"])
    gevent.sleep(0.4)  # some motion: it stops on its way
    with pytest.raises(KeyboardInterrupt):
        command.kill(KeyboardInterrupt)
    assert not env["m1"].is_moving and 0 < env["m1"].position < 10
    assert "m1 stopped at" in capsys.readouterr().out


def test_wa_lists_every_axis_aligned(env, capsys):
    env["mv"](env["m1"], 1.25)
    env["wa"]()
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("axis"))
    m1 = next(line for line in lines if line.startswith("m1"))
    assert "user" in header and "dial" in header and "low limit" in header
    assert "1.25000" in m1 and "-10.00000" in m1 and "mm" in m1
    table = lines[lines.index(header) :]
    assert len({len(line) for line in table[:2]}) == 1  # header and rule share a width


def test_wm_shows_user_dial_offset(env, capsys):
    env["m1"].offset = 1
    env["wm"](env["m1"], env["m2"])
    out = capsys.readouterr().out
    assert "m1[mm]" in out and "Offset" in out and "Dial" in out
    with pytest.raises(TypeError, match="not an axis"):
        env["wm"]("m1")


def test_sync_rereads_positions(env):
    env["sync"]()
    env["sync"](env["m1"])
    with pytest.raises(TypeError, match="not an axis"):
        env["sync"](42)


def test_listing_commands(env, capsys):
    env["lscnt"]()
    env["lsconfig"]()
    env["lsmg"]()
    out = capsys.readouterr().out
    assert "diode2" in out and "simulation_diode" in out and "counters.yml" in out
    assert "* MG1" in out


def test_active_mg_persists_across_sessions(open_session):
    first = open_session("main")
    assert first.env_dict["ACTIVE_MG"].name == "MG1"
    first.env_dict["set_active_mg"](first.config.get("MG2"))
    assert first.env_dict["ACTIVE_MG"].name == "MG2"
    first.close()
    second = open_session("main")
    assert second.env_dict["ACTIVE_MG"].name == "MG2"
    with pytest.raises(TypeError, match="not a measurement group"):
        second.env_dict["set_active_mg"](second.env_dict["diode"])


def test_positions_persist_across_session_reopen(open_session):
    first = open_session("plain")
    first.env_dict["mv"](first.env_dict["m1"], 3.5)
    first.close()
    second = open_session("plain")
    assert second.env_dict["m1"].position == pytest.approx(3.5)


def test_a_counter_read_that_raises(env):
    """The fault is named in one line, the scan is ABORTED and keeps the points it took."""
    diode = env["diode"]
    diode.simulate_fault("amplifier saturated")
    with pytest.raises(Exception) as info:
        _ = diode.raw_read
    assert str(info.value) == "diode: read failed: amplifier saturated"
    with pytest.raises(Exception, match="diode: read failed: amplifier saturated"):
        env["ct"](0.01, diode)
    assert env["SCANS"][-1].state.name == "ABORTED"
    diode.clear_fault()

    scan = env["loopscan"](10, 0.01, diode, run=False)

    class BeamDumpAtPoint3(env["ChainPreset"]):
        def get_iterator(self, acq_chain):
            for index in range(10):
                if index == 3:
                    diode.simulate_fault("beam dump")
                yield env["ChainIterationPreset"]()

    scan.acq_chain.add_preset(BeamDumpAtPoint3())
    with pytest.raises(Exception, match="beam dump"):
        scan.run()
    assert scan.state.name == "ABORTED"
    assert len(scan.get_data()["diode"]) == 3
    diode.clear_fault()
    assert env["ct"](0.01, diode).state.name == "DONE"


def test_two_open_sessions_share_the_active_mg_and_scan_saving(open_session, capsys):
    here = open_session("main")
    there = open_session("main")  # another process of the same session, as far as Redis goes
    assert there.env_dict["ACTIVE_MG"].name == "MG1"
    here.env_dict["set_active_mg"](here.config.get("MG2"))
    here.env_dict["SCAN_SAVING"].base_path = "/tmp/other_place"
    assert there.config.settings.catch_up()
    assert there.env_dict["ACTIVE_MG"].name == "MG2"  # the namespace name follows
    assert there.env_dict["SCAN_SAVING"].base_path == "/tmp/other_place"
    there.env_dict["lsmg"]()
    assert "* MG2" in capsys.readouterr().out
