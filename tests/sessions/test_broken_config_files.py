"""A configuration file that fails to load reaches the operator: load report, banner, lsconfig."""

import io

BROKEN_MOTORS = """\
controller:
  class: mockup
  axes:
    - {name: tz, velocity: 1, acceleration: 10}
    - name: ty
\tvelocity: 1
"""


def test_broken_file_is_in_the_report_and_its_objects_say_why_they_are_missing(
    config_dir, open_session, capsys
):
    broken = config_dir / "more_motors.yml"
    broken.write_text(BROKEN_MOTORS)
    sessions = config_dir / "sessions" / "sessions.yml"
    sessions.write_text(
        sessions.read_text() + "- name: stage\n  class: Session\n  config-objects: [m1, tz]\n"
    )
    out = io.StringIO()
    session = open_session("stage", out=out)
    report = session.load_report
    file_line = (
        f"ERROR {broken}:6: YAML syntax error: found character '\\t' that cannot start any token"
    )
    assert report[0] == file_line  # first, before the objects it hides
    assert f"ERROR tz: defined in more_motors.yml, which failed to load: {file_line[6:]}" in report
    assert "Initialized m1" in report
    assert out.getvalue().splitlines()[0] == file_line  # printed live (the banner)
    assert "m1" in session.env_dict and "tz" not in session.env_dict

    capsys.readouterr()
    session.env_dict["lsconfig"]()
    listing = capsys.readouterr().out
    assert "1 file(s) failed to load:" in listing
    assert f"  {file_line[6:]}" in listing.splitlines()
