"""`warroom login` keeps the settings in the user's configuration folder, for the owner's eyes only."""

import stat

from tests.cli.conftest import Stack
from tests.support.incident import ADMIN_TOKEN


def test_cli_login_stores_a_0600_file_in_a_0700_folder_and_the_environment_overrides_it(stack: Stack, tmp_path):
    home = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(home)}
    logged = stack.run("login", "--url", stack.incident_url, "--token", ADMIN_TOKEN, **env)
    assert logged.returncode == 0, logged.stderr
    path = home / "warroom" / "config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert f"WARROOM_TOKEN={ADMIN_TOKEN}" in path.read_text()

    # No WARROOM_TOKEN in the environment: the stored token is used.
    assert stack.run("list", **env).returncode == 0
    # The environment wins over the file: a wrong token there is refused.
    refused = stack.run("list", token="wrong-token", **env)
    assert refused.returncode == 1 and "not signed in" in refused.stderr
    unreachable = stack.run("list", WARROOM_URL="http://127.0.0.1:9", **env)
    assert unreachable.returncode == 3 and "http://127.0.0.1:9" in unreachable.stderr


def test_cli_login_refuses_a_token_the_service_does_not_accept_and_stores_nothing(stack: Stack, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    refused = stack.run("login", "--url", stack.incident_url, "--token", "wrong", **env)
    assert refused.returncode == 1 and "does not accept this token" in refused.stderr
    assert not (tmp_path / "warroom" / "config").exists()


def test_cli_login_reads_the_token_from_stdin_rather_than_the_command_line(stack: Stack, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    logged = stack.run("login", "--url", stack.incident_url, stdin=ADMIN_TOKEN + "\n", **env)
    assert logged.returncode == 0, logged.stderr
    assert ADMIN_TOKEN in (tmp_path / "warroom" / "config").read_text()
