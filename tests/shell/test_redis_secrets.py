"""A session on a Redis with a password: the secret appears in no output, and a wrong one is
one line saying so.

The session runs in a real terminal against a real redis-server started with
`--requirepass` and an ACL user; every place beamshell writes to is searched for the secret:
the terminal (banner, scan tables, errors, `last_error()`), `beamshell listen`, the state
directory where logs go, the home directory (history), the HDF5 files the session's writer
wrote and its run files, and every key and value in Redis.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import gevent
import pytest
import redis
from shell_pty import BEAMSHELL, strip_escapes

from beamshell.config.daemon import session_daemon
from beamshell.config.redis_server import PrivateRedis
from beamshell.data import writer_status

ADMIN_PASSWORD = "Adm1n-pty-S3cret"
USER_PASSWORD = "Bl01-pty-S3cret"


@pytest.fixture(scope="module")
def secured(tmp_path_factory, readme_acl_rule, strict_acl_rule):
    """bl01 has the README's ACL rule; bl02 a stricter one (no CLIENT command, no channel)."""
    users = [
        readme_acl_rule.format(user="bl01", password=USER_PASSWORD),
        strict_acl_rule.format(user="bl02", password=USER_PASSWORD),
    ]
    server = PrivateRedis(
        tmp_path_factory.mktemp("secured"), tcp=True, requirepass=ADMIN_PASSWORD, users=users
    )
    with server:
        yield server


@pytest.fixture
def admin(secured):
    client = redis.Redis.from_url(secured.url, password=ADMIN_PASSWORD)
    client.flushall()
    yield client
    client.close()


def redis_contents(client: redis.Redis) -> bytes:
    """Every key and every value in the server, as one blob to search."""
    blob = []
    for key in client.scan_iter("*"):
        kind = client.type(key)
        blob.append(key)
        if kind == b"string":
            blob.append(client.get(key))
        elif kind == b"hash":
            blob.extend(b"%s=%s" % item for item in client.hgetall(key).items())
        elif kind == b"stream":
            for _, fields in client.xrange(key):
                blob.extend(b"%s=%s" % item for item in fields.items())
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} for {key!r}")
    return b"\n".join(blob)


def files_below(directory: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def wait_until_saved(admin: redis.Redis, prefix: str) -> dict:
    """The writer's first 'saved' event (read with blocking XREADs on its event stream)."""
    key = writer_status.events_key("test_session", prefix)
    after = "0-0"
    with gevent.Timeout(60, AssertionError("the writer saved nothing")):
        while True:
            for _, entries in admin.xread({key: after}, block=1000) or []:
                for entry_id, fields in entries:
                    after = entry_id
                    event = {k.decode(): json.loads(v) for k, v in fields.items()}
                    if event["kind"] == "saved":
                        return event


def start_listen(env: dict, config_dir: Path) -> subprocess.Popen:
    listener = subprocess.Popen(
        [str(BEAMSHELL), "listen", "-s", "test_session", "--config", str(config_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    with gevent.Timeout(30):
        first = listener.stdout.readline()
    assert first.startswith("listening to session 'test_session' at "), first
    listener.first_line = first
    return listener


@pytest.mark.parametrize(
    ("transport", "user", "password_in"),
    [
        ("tcp", "", "url"),  # the default user, password in BEAMSHELL_REDIS_URL
        ("unix", "bl01", "url"),  # the README's ACL user, limited to bl01:*, password in the URL
        ("tcp", "bl02", "environment"),  # a stricter user, password in BEAMSHELL_REDIS_PASSWORD
    ],
)
def test_no_secret_reaches_any_output(
    secured, admin, spawn_shell, shell_env, config_dir, tmp_path, transport, user, password_in
):
    secret = USER_PASSWORD if user else ADMIN_PASSWORD
    credentials = f"{user}:{secret}" if password_in == "url" else user
    if transport == "tcp":
        url = secured.tcp_url.replace("redis://", f"redis://{credentials}@")
    else:
        url = f"unix://{credentials}@{secured.socket_path}"
    shown = url.replace(secret, "***")
    if user:
        (config_dir / "__init__.yml").write_text(f"redis_key_prefix: {user}\n")
    shell_env.update(
        BEAMSHELL_REDIS_URL=url,
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    shell_env.pop("BEAMSHELL_WRITER_AUTOSTART", None)  # the session starts its HDF5 writer
    if password_in == "environment":
        shell_env["BEAMSHELL_REDIS_PASSWORD"] = secret

    shell = spawn_shell()
    shell.expect_prompt()
    banner = strip_escapes(shell.child.before)
    assert f"Redis: {shown}" in banner
    # Without CLIENT SETNAME/LIST (bl02) the shell opens unchecked and says so in one line.
    unchecked = "beamshell: not checking whether session 'test_session' is open in another shell"
    assert (unchecked in banner) is (user == "bl02")

    listener = start_listen(shell_env, config_dir)
    output = shell.run("loopscan(3, 0.01, diode)")
    assert "Took" in output
    saved = wait_until_saved(admin, f"{user}:" if user else "")
    listened = [listener.first_line]
    with gevent.Timeout(30):
        while not listened or "END_SCAN" not in listened[-1]:
            listened.append(listener.stdout.readline())
    listener.send_signal(signal.SIGINT)
    out, err = listener.communicate(timeout=20)
    assert listener.returncode == 0, err
    listened += [out, err]

    shell.run("from beamshell.data.node import get_node")
    [error] = [
        line for line in shell.run("get_node('test_session:nothing')").splitlines() if "!!!" in line
    ]
    assert f"no scan data node 'test_session:nothing' in Redis at {shown}" in error
    traceback = shell.run("last_error()")
    assert "Traceback" in traceback and f"Redis at {shown}" in traceback
    shell.send("exit()")
    assert shell.wait() == 0
    shell.close()  # the log of everything the terminal showed is complete
    assert session_daemon("writer", "test_session", config_dir).stop()  # it outlives the shell

    h5_files = [path for path in files_below(tmp_path / "data") if path.suffix == ".h5"]
    assert saved["filename"] in [str(path) for path in h5_files]
    for path, content in files_below(tmp_path / "data").items():  # the HDF5 files
        assert secret.encode() not in content, path
    for path, content in files_below(config_dir / ".beamshell").items():  # the writer's info
        assert secret.encode() not in content, path

    terminal = Path(shell.log.name).read_text()
    assert secret not in terminal
    assert secret not in "".join(listened) and any(shown in line for line in listened)
    for path, content in files_below(tmp_path / "state").items():
        assert secret.encode() not in content, path
    for path, content in files_below(Path(shell_env["HOME"])).items():
        assert secret.encode() not in content, path
    contents = redis_contents(admin)
    assert b"_info" in contents and secret.encode() not in contents
    if user:
        assert all(key.startswith(f"{user}:".encode()) for key in admin.keys("*"))


@pytest.mark.parametrize("command", [["-s", "test_session"], ["listen", "-s", "test_session"]])
def test_wrong_password_is_one_line_that_says_so(secured, shell_env, config_dir, command):
    url = secured.tcp_url.replace("redis://", "redis://:Wr0ng-S3cret@")
    env = dict(shell_env, BEAMSHELL_REDIS_URL=url)
    result = subprocess.run(
        [str(BEAMSHELL), *command, "--config", str(config_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    shown = url.replace("Wr0ng-S3cret", "***")
    assert result.stderr == (
        f"beamshell: Redis at {shown} refused the credentials "
        "(invalid username-password pair or user is disabled.): check BEAMSHELL_REDIS_URL\n"
    )
    assert "Wr0ng-S3cret" not in result.stdout
