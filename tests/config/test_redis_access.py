"""A site Redis with a password or an ACL user: secrets masked, failures that say which one.

Every test talks to a real redis-server started with `--requirepass` and an ACL user,
over TCP loopback and over its Unix socket.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import gevent.event
import pytest
import redis

from beamshell.config.logs import log_to_file
from beamshell.config.redis_access import mask_secrets
from beamshell.config.redis_server import PrivateRedis, connect
from beamshell.errors import ConfigError, RedisAccessDenied, RedisTimeout, RedisUnreachable

ADMIN_PASSWORD = "adm1n-S3cret"
USER_PASSWORD = "bl01-S3cret"
TRANSPORTS = ["tcp", "unix"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory, readme_acl_rule, strict_acl_rule):
    """One redis-server with a default-user password and two ACL users: bl01 with the
    README's rule, limited to `bl01:*`, and bl02 with a stricter rule, limited to `bl02:*`."""
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


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("BEAMSHELL_REDIS_URL", "BEAMSHELL_REDIS_PASSWORD", "BEAMSHELL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("BEAMSHELL_REDIS_KEY_PREFIX", raising=False)
    return monkeypatch


def address(server: PrivateRedis, transport: str, credentials: str = "") -> str:
    """`redis://<credentials>@127.0.0.1:port/0` or `unix://<credentials>@/path/redis.sock`."""
    at = f"{credentials}@" if credentials else ""
    if transport == "tcp":
        return server.tcp_url.replace("redis://", f"redis://{at}")
    return f"unix://{at}{server.socket_path}"


def config_with(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__init__.yml").write_text(text)
    return directory


# -- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:6391/0", "redis://:***@127.0.0.1:6391/0"),
        ("redis://bl01:s3cret@host:6379/2", "redis://bl01:***@host:6379/2"),
        (
            "rediss://bl01:s3cret@host:6380/0?ssl_cert_reqs=required",
            "rediss://bl01:***@host:6380/0?ssl_cert_reqs=required",
        ),
        ("unix://:s3cret@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        ("redis://:p@ss@w0rd@host:1/0", "redis://:***@host:1/0"),
        ("redis://host:1/0?db=2&password=s3cret", "redis://host:1/0?db=2&password=***"),
        (
            "at redis://:a1@h:1/0 and redis://u:b2@h:2/0.",
            "at redis://:***@h:1/0 and redis://u:***@h:2/0.",
        ),
        ("redis://bl01@host:6379/0", "redis://bl01@host:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        ("mail root@host: ok, ratio 1:2", "mail root@host: ok, ratio 1:2"),
    ],
)
def test_mask_secrets_hides_every_form_of_password(text, shown):
    assert mask_secrets(text) == shown


def test_errors_mask_the_url_they_name():
    error = RedisUnreachable("redis://:s3cret@127.0.0.1:1/0", "Connection refused")
    assert "s3cret" not in str(error) and "redis://:***@127.0.0.1:1/0" in str(error)


# -- where the password comes from ------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_password_in_the_url(secured, admin, clean_env, transport):
    client = connect(address(secured, transport, f":{ADMIN_PASSWORD}"))
    assert client.ping()
    assert ADMIN_PASSWORD not in client.display_url and ":***@" in client.display_url
    client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_password_from_the_environment(secured, admin, clean_env, transport):
    clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", ADMIN_PASSWORD)
    client = connect(address(secured, transport))
    assert client.ping()
    client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_password_file_of_the_configuration(secured, admin, clean_env, tmp_path, transport):
    config = config_with(tmp_path / "config", "redis_password_file: secrets/redis.txt\n")
    secret = config / "secrets" / "redis.txt"
    secret.parent.mkdir()
    secret.write_text(ADMIN_PASSWORD + "\n")
    secret.chmod(0o640)  # the beamline's group may read it
    client = connect(address(secured, transport), config_dir=config)
    assert client.ping()
    client.close()


def test_password_file_readable_by_others_is_refused(secured, clean_env, tmp_path):
    config = config_with(tmp_path / "config", "redis_password_file: redis.txt\n")
    secret = config / "redis.txt"
    secret.write_text(ADMIN_PASSWORD)
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others") as info:
        connect(secured.tcp_url, config_dir=config)
    assert str(secret) in str(info.value) and ADMIN_PASSWORD not in str(info.value)


def test_missing_password_file_names_it(secured, clean_env, tmp_path):
    config = config_with(tmp_path / "config", "redis_password_file: nowhere.txt\n")
    with pytest.raises(ConfigError, match="nowhere.txt cannot be read"):
        connect(secured.tcp_url, config_dir=config)


# -- failures, each with its own message ------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("source", ["url", "environment", "file"])
def test_wrong_password_is_one_line_naming_where_it_came_from(
    secured, clean_env, tmp_path, transport, source
):
    wrong = "wr0ng-Passw0rd"
    config = None
    if source == "url":
        url = address(secured, transport, f":{wrong}")
        clean_env.setenv("BEAMSHELL_REDIS_URL", url)
        expected = "check BEAMSHELL_REDIS_URL"
    elif source == "environment":
        url = address(secured, transport)
        clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", wrong)
        expected = "check BEAMSHELL_REDIS_PASSWORD"
    else:
        url = address(secured, transport)
        config = config_with(tmp_path / "config", "redis_password_file: pw\n")
        (config / "pw").write_text(wrong)
        (config / "pw").chmod(0o600)
        expected = f"check redis_password_file {config / 'pw'}"
    with pytest.raises(RedisAccessDenied) as info:
        connect(url, config_dir=config)
    message = str(info.value)
    assert "\n" not in message and wrong not in message
    assert "refused the credentials (invalid username-password pair" in message
    assert mask_secrets(url) in message and message.endswith(expected)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_password_for_a_server_that_needs_one(secured, clean_env, transport):
    with pytest.raises(RedisAccessDenied, match="needs a password .*BEAMSHELL_REDIS_PASSWORD"):
        connect(address(secured, transport))


def test_refused_connection_keeps_its_own_message(tmp_path, clean_env):
    server = PrivateRedis(tmp_path / "gone", tcp=True, requirepass=ADMIN_PASSWORD)
    server.start()
    url = server.tcp_url.replace("redis://", f"redis://:{ADMIN_PASSWORD}@")
    server.stop()
    with pytest.raises(RedisUnreachable) as info:
        connect(url)
    message = str(info.value)
    assert not isinstance(info.value, RedisTimeout)
    assert message.startswith("Redis not reachable at redis://:***@127.0.0.1:")
    assert "Connection refused" in message and ADMIN_PASSWORD not in message


def test_timeout_has_its_own_message(clean_env):
    # A listening socket that never answers: the connection is made, the PING never returns.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{silent.getsockname()[1]}/0"
        with pytest.raises(RedisTimeout) as info:
            connect(url, socket_timeout=0.3)
    message = str(info.value)
    assert message.startswith("Redis at redis://:***@127.0.0.1:") and "did not answer" in message
    assert "\n" not in message and ADMIN_PASSWORD not in message


# -- ACL users and the key prefix -------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "user"), [("tcp", "bl01"), ("unix", "bl01"), ("tcp", "bl02")]
)
def test_acl_user_runs_a_session_whose_keys_all_share_the_prefix(
    secured, admin, clean_env, tmp_path, transport, user
):
    from beamshell.data.node import get_session_node
    from beamshell.sessions import load_session

    config = _demo_config(tmp_path / "config", f"redis_key_prefix: {user}\n")
    clean_env.setenv("BEAMSHELL_REDIS_URL", address(secured, transport, user))
    clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", USER_PASSWORD)
    clean_env.setenv("BEAMSHELL_CONFIG", str(config))
    with load_session("demo", config) as session:
        assert not [line for line in session.load_report if line.startswith("ERROR")]
        # The README's rule lets settings follow other processes' changes (client
        # tracking); the strict one reads them from Redis each time.
        assert session.config.settings.following is (user == "bl01")
        ns = session.env_dict
        ns["mv"](ns["m1"], 1.5)
        first = ns["loopscan"](3, 0.01, save=False)
        second = ns["ct"](0.01)
        group = ns["Group"](first, second)
        name = ns["SCAN_SAVING"].scan_node_name  # demo:<base path parts>:<nb>_<name>
        assert group.node.db_name == name(3, "group_of_scans")
    # A reader finds the scans by their node names, the prefix coming from the config.
    scans = [n.db_name for n in get_session_node("demo").walk(include_filter="scan", wait=False)]
    assert scans == [name(1, "loopscan"), name(2, "ct")]
    keys = sorted(key.decode() for key in admin.keys("*"))
    assert f"{user}:settings:axis:m1" in keys and f"{user}:{name(1, 'loopscan')}_info" in keys
    assert all(key.startswith(f"{user}:") for key in keys), keys


@pytest.mark.parametrize("user", ["bl01", "bl02"])
def test_acl_user_sees_a_setting_changed_by_another_process(secured, admin, clean_env, user):
    from beamshell.config.settings import SettingsStore

    client = connect(address(secured, "unix", f"{user}:{USER_PASSWORD}"), key_prefix=user)
    store = SettingsStore(client, follow_changes=True)
    try:
        active = store.value("active_mg:demo")
        assert active.get() is None
        heard = gevent.event.Event()
        store.on_change("active_mg:demo", heard.set)
        admin.set(f"{user}:settings:active_mg:demo", '"MG2"')
        if user == "bl01":  # the README's rule: told at once
            assert heard.wait(10)
        assert active.get() == "MG2"  # the strict rule: read from Redis, never stale
    finally:
        store.close()
        client.close()


def test_acl_refusing_a_command_names_it(secured, clean_env):
    client = connect(address(secured, "tcp", f"bl02:{USER_PASSWORD}"), key_prefix="bl02")
    try:
        with pytest.raises(redis.exceptions.NoPermissionError) as info:
            client.client_list()
        message = str(client.failure(info.value))
    finally:
        client.close()
    assert " refused a command (" in message
    assert re.search(r"the ACL user may not run 'client(\|list)?': give it the rule of", message)


def test_acl_user_on_a_configuration_without_prefix_says_what_to_fix(
    secured, admin, clean_env, tmp_path
):
    from beamshell.sessions import load_session

    config = _demo_config(tmp_path / "config", "")
    clean_env.setenv("BEAMSHELL_REDIS_URL", address(secured, "tcp", "bl01"))
    clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", USER_PASSWORD)
    with pytest.raises(RedisAccessDenied) as info:
        load_session("demo", config)
    message = str(info.value)
    assert message.startswith(f"Redis at {address(secured, 'tcp', 'bl01')} refused a command")
    assert "(this user has no permissions to access one of the keys" in message
    assert "no redis_key_prefix" in message and "\n" not in message
    assert admin.keys("*") == []


def test_acl_refusing_a_command_mid_session_is_one_line(secured, admin, clean_env, tmp_path):
    from beamshell.sessions import load_session

    config = _demo_config(tmp_path / "config", "redis_key_prefix: bl01\n")
    clean_env.setenv("BEAMSHELL_REDIS_URL", address(secured, "unix", "bl01"))
    clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", USER_PASSWORD)
    with load_session("demo", config) as session:
        admin.acl_setuser("bl01", enabled=True, reset_keys=True, keys=["other:*"])
        try:
            with pytest.raises(redis.exceptions.NoPermissionError) as info:
                session.env_dict["mv"](session.env_dict["m1"], 1)
        finally:
            admin.acl_setuser("bl01", enabled=True, reset_keys=True, keys=["bl01:*"])
        line = session.error_history.format_short(info.value)
    assert line.startswith(
        f"!!! === RedisAccessDenied: Redis at {address(secured, 'unix', 'bl01')} refused a command "
        "(this user has no permissions"
    )
    assert "keys start with 'bl01:': the ACL user needs '~bl01:*' === !!!" in line


def test_a_reader_finds_the_key_prefix_in_the_environment(secured, admin, clean_env):
    from beamshell.data.node import get_session_node
    from beamshell.data.publish import DataPublisher

    writer = connect(address(secured, "tcp", f":{ADMIN_PASSWORD}"), key_prefix="bl01")
    publisher = DataPublisher(writer)
    scan = publisher.create_node("demo:tmp:scans:1_ct", "scan", {"scan_nb": 1}, parent="demo")
    publisher.end_scan(scan)
    publisher.close()
    writer.close()
    assert admin.exists("bl01:demo:tmp:scans:1_ct_node")

    clean_env.setenv("BEAMSHELL_REDIS_URL", address(secured, "tcp", "bl01"))
    clean_env.setenv("BEAMSHELL_REDIS_PASSWORD", USER_PASSWORD)
    clean_env.setenv("BEAMSHELL_REDIS_KEY_PREFIX", "bl01")
    session = get_session_node("demo")
    assert [n.db_name for n in session.walk(wait=False)] == [scan]
    # A text-mode client gets a binary twin: it keeps the prefix.
    text_client = connect(address(secured, "tcp", "bl01"), decode_responses=True)
    session = get_session_node("demo", connection=text_client)
    assert [n.info["scan_nb"] for n in session.walk(wait=False)] == [1]
    text_client.close()


def test_two_configurations_on_one_redis_keep_their_own_motor_settings(
    secured, admin, clean_env, tmp_path
):
    from beamshell.sessions import load_session

    clean_env.setenv("BEAMSHELL_REDIS_URL", address(secured, "unix", f":{ADMIN_PASSWORD}"))
    one = _demo_config(tmp_path / "one", "redis_key_prefix: bl01\n")
    two = _demo_config(tmp_path / "two", "redis_key_prefix: bl02\n")
    with load_session("demo", one) as session:
        session.env_dict["mv"](session.env_dict["m1"], 3)
    with load_session("demo", two) as session:
        assert session.env_dict["m1"].position == 0
    with load_session("demo", one) as session:
        assert session.env_dict["m1"].position == 3


def test_bad_key_prefix_is_refused_naming_the_file(secured, clean_env, tmp_path):
    config = config_with(tmp_path / "config", "redis_key_prefix: 'bl 01*'\n")
    with pytest.raises(ConfigError, match=r"__init__.yml: redis_key_prefix 'bl 01\*'"):
        connect(address(secured, "unix", f":{ADMIN_PASSWORD}"), config_dir=config)


def _demo_config(directory: Path, root: str) -> Path:
    """The shipped demo configuration, with `root` as its root __init__.yml."""
    import shutil

    from beamshell.config.static import DEMO_CONFIG_DIR

    shutil.copytree(DEMO_CONFIG_DIR, directory, ignore=shutil.ignore_patterns(".beamshell"))
    (directory / "__init__.yml").write_text(root)
    return directory


# -- TLS and logs -----------------------------------------------------------------------------


def test_rediss_url_hands_its_certificate_options_to_redis_py(clean_env, tmp_path):
    ca = tmp_path / "site-ca.pem"
    url = (
        f"rediss://bl01:{USER_PASSWORD}@redis.example:6380/0"
        f"?ssl_ca_certs={ca}&ssl_cert_reqs=required&ssl_check_hostname=true"
    )
    client = connect(url, check=False)
    pool = client.connection_pool
    assert issubclass(pool.connection_class, redis.SSLConnection)
    kwargs = pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(ca) and kwargs["ssl_cert_reqs"] == "required"
    assert kwargs["ssl_check_hostname"] is True and kwargs["password"] == USER_PASSWORD
    assert client.display_url.startswith("rediss://bl01:***@redis.example:6380/0?")
    client.close()


def test_logs_never_hold_a_password(tmp_path):
    path = tmp_path / "state" / "writer.log"
    handler = log_to_file(path)
    logger = logging.getLogger("beamshell.test_redis_access")
    url = f"redis://:{ADMIN_PASSWORD}@127.0.0.1:1/0"
    try:
        logger.warning("connecting to %s", url)
        try:
            raise RedisUnreachable(url, f"cannot talk to {url}")
        except RedisUnreachable:
            logger.exception("lost %s", url)
    finally:
        logging.getLogger("beamshell").removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert "redis://:***@127.0.0.1:1/0" in text and "Traceback" in text
    assert ADMIN_PASSWORD not in text


def test_a_configuration_masks_its_url_before_any_client_exists(tmp_path):
    """A failure reported before the configuration has connected names its URL masked."""
    from beamshell.config.static import Config

    (tmp_path / "__init__.yml").write_text("")
    config = Config(tmp_path, redis_url="redis://:s3cret@127.0.0.1:1/0")
    error = config.redis_failure(redis.ConnectionError("Connection refused"))
    assert isinstance(error, RedisUnreachable)
    assert "s3cret" not in str(error) and "redis://:***@127.0.0.1:1/0" in str(error)
