"""CommandRunner: commands in their own greenlet, Ctrl-C delivered to them once."""

import gevent
import gevent.event
import pytest

from beamshell.shell.interrupt import CommandRunner


def test_result_and_exception_come_back_to_the_caller():
    runner = CommandRunner()
    assert runner.run(lambda x: x * 2, 21) == 42
    with pytest.raises(ValueError, match="bad"):
        runner.run(lambda: (_ for _ in ()).throw(ValueError("bad")))
    assert not runner.busy


def test_interrupt_raises_keyboard_interrupt_in_the_command_and_its_finally_runs():
    runner = CommandRunner()
    events = []

    def command():
        try:
            gevent.sleep(10)
        finally:
            events.append("cleaned up")

    gevent.spawn_later(0.1, runner.interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.run(command)
    assert events == ["cleaned up"]


def test_second_interrupt_during_the_stop_does_not_cut_it_short():
    runner = CommandRunner()
    events = []
    stopping = gevent.event.Event()

    def command():
        try:
            gevent.sleep(10)
        except KeyboardInterrupt:
            events.append("stopping")
            stopping.set()
            gevent.sleep(0.3)  # a motor decelerating, a preset's stop
            events.append("stopped")
            raise

    def press_twice():
        runner.interrupt()
        stopping.wait(timeout=30)  # the next presses come during the stop (30 s: a hang guard)
        runner.interrupt()
        runner.interrupt()

    gevent.spawn_later(0.1, press_twice)
    with pytest.raises(KeyboardInterrupt):
        runner.run(command)
    assert events == ["stopping", "stopped"]


def test_show_is_called_only_for_commands_that_take_a_while():
    runner = CommandRunner()
    shown = []
    runner.run(lambda: None, show=shown.append)
    assert shown == []
    runner.run(gevent.sleep, 0.3, show=lambda greenlet: (shown.append(1), greenlet.join()))
    assert shown == [1]


def test_interrupt_when_idle_does_nothing():
    runner = CommandRunner()
    runner.interrupt()
    assert runner.run(lambda: "still fine") == "still fine"
