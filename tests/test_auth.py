"""Credentials from the environment and config ``[salesforce]``: every setting is checked
before any network call, and an error is one line that names the setting as the user set
it and never repeats a secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from calltui import store
from calltui.cli import cli
from calltui.fakeorg import FakeOrg
from calltui.sf.auth import AuthError, credentials_from_env, login_host
from tests.test_cli_sync import env_for, invoke

PASSWORD = {"SF_USERNAME": "a@b.c", "SF_PASSWORD": "pw"}


def refused(env: dict[str, str], config: dict[str, Any] | None = None) -> str:
    with pytest.raises(AuthError) as info:
        credentials_from_env(env, config)
    message = str(info.value)
    assert "\n" not in message
    return message


def write_key(path: Path, key: Any, password: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))
    return path


# --- API version ------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["59", "59.0", "v59.0", "V59.0", " 59 ", "v59"])
def test_api_version_forms_are_normalised(given: str) -> None:
    creds = credentials_from_env({**PASSWORD, "SF_API_VERSION": given})
    assert creds.api_version == "59.0"


def test_api_version_from_the_config_file_may_be_a_number() -> None:
    assert credentials_from_env(PASSWORD, {"api_version": 58.0}).api_version == "58.0"
    assert credentials_from_env(PASSWORD, {"api_version": 60}).api_version == "60.0"
    assert credentials_from_env(PASSWORD).api_version == "59.0"


@pytest.mark.parametrize("given", ["abc", "59.1", "v", "0", "59.0.0", "v 59", "latest"])
def test_a_bad_api_version_is_refused(given: str) -> None:
    assert refused({**PASSWORD, "SF_API_VERSION": given}) == (
        f"SF_API_VERSION: {given!r} is not an API version (e.g. 59.0)")


def test_a_bad_api_version_in_the_config_file_names_the_key() -> None:
    assert refused(PASSWORD, {"api_version": True}) == (
        "[salesforce] api_version: True is not an API version (e.g. 59.0)")


# --- SF_DOMAIN ------------------------------------------------------------------------------


@pytest.mark.parametrize("given, domain", [
    ("acme.my", "acme.my"), ("test", "test"), ("acme--uat.sandbox.my", "acme--uat.sandbox.my"),
    ("https://acme.my.salesforce.com/", "acme.my"), ("https://acme.my.salesforce.com", "acme.my"),
    ("acme.my.salesforce.com", "acme.my"), ("HTTPS://Acme.My.Salesforce.com", "acme.my"),
    ("https://test.salesforce.com", "test"),
])
def test_domain_takes_a_pasted_salesforce_host_or_url(given: str, domain: str) -> None:
    creds = credentials_from_env({**PASSWORD, "SF_DOMAIN": given})
    assert creds.domain == domain
    assert login_host(creds) == f"https://{domain}.salesforce.com"


@pytest.mark.parametrize("given", [
    "https://sf-proxy.example.com", "http://127.0.0.1:8123", "acme my", "acme.my/x",
    "https://acme.my.salesforce.com/services", "acme.my.salesforce.com:443",
    "acme.lightning.force.com", "salesforce.com",
])
def test_domain_that_is_not_a_salesforce_domain_is_refused(given: str) -> None:
    assert refused({**PASSWORD, "SF_DOMAIN": given}) == (
        f"SF_DOMAIN: {given!r} is not a Salesforce domain: give the part before "
        ".salesforce.com (e.g. acme.my, or test for a sandbox); a non-Salesforce endpoint "
        "goes in SF_LOGIN_URL")


def test_domain_error_masks_a_password_and_names_the_config_key() -> None:
    message = refused(PASSWORD, {"domain": "https://u:s3cr3t@sf-proxy.example.com"})
    assert message.startswith("[salesforce] domain: 'https://***@sf-proxy.example.com' is not")
    assert "s3cr3t" not in message


# --- login and instance URLs ------------------------------------------------------------------

SESSION = {"SF_SESSION_ID": "00D!session"}


@pytest.mark.parametrize("name, key, extra", [
    ("SF_LOGIN_URL", "login_url", PASSWORD), ("SF_INSTANCE_URL", "instance_url", SESSION),
])
@pytest.mark.parametrize("given", ["not a url", "127.0.0.1:44085", "localhost:8080",
                                   "https://", "http://127.0.0.1:port", "https://exa mple.com"])
def test_a_url_that_is_not_a_url_says_so(name: str, key: str, extra: dict[str, str],
                                         given: str) -> None:
    assert refused({**extra, name: given}) == (
        f"{name}: {given!r} is not a URL (expected https://host)")
    assert refused(extra, {key: given}) == (
        f"[salesforce] {key}: {given!r} is not a URL (expected https://host)")


@pytest.mark.parametrize("name, key, extra", [
    ("SF_LOGIN_URL", "login_url", PASSWORD), ("SF_INSTANCE_URL", "instance_url", SESSION),
])
def test_plain_http_is_refused_naming_the_setting(name: str, key: str,
                                                  extra: dict[str, str]) -> None:
    assert refused({**extra, name: "http://example.com"}) == (
        f"{name} must use https unless it points at this machine (127.0.0.1/localhost): "
        "http://example.com")
    assert refused(extra, {key: "http://example.com"}) == (
        f"[salesforce] {key} must use https unless it points at this machine "
        "(127.0.0.1/localhost): http://example.com")


@pytest.mark.parametrize("name, key, extra", [
    ("SF_LOGIN_URL", "login_url", PASSWORD), ("SF_INSTANCE_URL", "instance_url", SESSION),
    ("SF_INSTANCE_URL", "instance_url", PASSWORD),  # checked even when it is not used
])
@pytest.mark.parametrize("given", ["http://user:s3cr3t@127.0.0.1:1234",
                                   "https://s3cr3t@acme.my.salesforce.com", "user:s3cr3t@host"])
def test_a_url_with_a_user_name_or_password_is_refused_without_repeating_it(
    name: str, key: str, extra: dict[str, str], given: str
) -> None:
    hint = "must not carry a user name or password; give them as SF_USERNAME / SF_PASSWORD"
    assert refused({**extra, name: given}) == f"{name} {hint}"
    assert refused(extra, {key: given}) == f"[salesforce] {key} {hint}"


def test_the_environment_wins_over_the_config_file_and_is_named() -> None:
    config = {"login_url": "https://login.salesforce.com"}
    assert refused({**PASSWORD, "SF_LOGIN_URL": "nope"}, config).startswith("SF_LOGIN_URL: ")
    creds = credentials_from_env({**PASSWORD, "SF_LOGIN_URL": " http://127.0.0.1:9 "}, config)
    assert creds.login_url == "http://127.0.0.1:9"


def test_session_instance_url_keeps_working() -> None:
    creds = credentials_from_env({**SESSION, "SF_INSTANCE_URL": "https://acme.my.salesforce.com/"})
    assert (creds.mode, creds.instance_url) == ("session", "https://acme.my.salesforce.com/")
    local = credentials_from_env({**SESSION, "SF_INSTANCE_URL": "http://127.0.0.1:8123"})
    assert local.login_url == "http://127.0.0.1:8123"


# --- the JWT private key -----------------------------------------------------------------------

JWT = {"SF_USERNAME": "a@b.c", "SF_CONSUMER_KEY": "CK"}


def test_a_private_key_file_that_is_not_a_key_is_a_local_error(tmp_path: Path) -> None:
    garbage = tmp_path / "server.key"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot really a key\n")
    assert refused({**JWT, "SF_PRIVATE_KEY_FILE": str(garbage)}) == (
        f"SF_PRIVATE_KEY_FILE: {garbage} is not a PEM private key")
    assert refused(JWT, {"private_key_file": str(garbage)}) == (
        f"[salesforce] private_key_file: {garbage} is not a PEM private key")
    assert refused(JWT, {"private_key_file": str(tmp_path / "nope.key")}) == (
        f"[salesforce] private_key_file: no such file {tmp_path}/nope.key")


def test_a_key_pyjwt_could_not_sign_with_is_refused(tmp_path: Path) -> None:
    elliptic = write_key(tmp_path / "ec.key", ec.generate_private_key(ec.SECP256R1()))
    assert refused({**JWT, "SF_PRIVATE_KEY_FILE": str(elliptic)}) == (
        f"SF_PRIVATE_KEY_FILE: {elliptic} is not an RSA private key (the JWT login signs "
        "with RS256)")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    locked = write_key(tmp_path / "locked.key", rsa_key, password=b"s3cr3t")
    message = refused({**JWT, "SF_PRIVATE_KEY_FILE": str(locked)})
    assert message == (f"SF_PRIVATE_KEY_FILE: {locked} is encrypted; the JWT login needs the "
                       "key without a passphrase")
    good = write_key(tmp_path / "good.key", rsa_key)
    assert credentials_from_env({**JWT, "SF_PRIVATE_KEY_FILE": str(good)}).mode == "jwt"


# --- from the command line: `error: ...`, a non-zero exit, nothing secret kept -------------


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        yield fake



@pytest.mark.parametrize("setting", [
    {"SF_API_VERSION": "v59.0"}, {"SF_API_VERSION": "59"},
    {"SF_DOMAIN": "https://acme.my.salesforce.com/"},
])
def test_pasted_forms_of_settings_are_understood(org: FakeOrg, tmp_path: Path,
                                                 setting: dict[str, str]) -> None:
    db = tmp_path / "c.db"
    doctor = invoke(db, {**env_for(org), **setting}, "doctor")
    assert "│ API version" in doctor.stdout and "v59.0" in doctor.stdout, doctor.output
    assert "API usage" in doctor.stdout and doctor.stderr == ""
    synced = invoke(db, {**env_for(org), **setting}, "sync")
    assert synced.exit_code == 0, synced.output


@pytest.mark.parametrize("setting, error", [
    ({"SF_API_VERSION": "abc"}, "SF_API_VERSION: 'abc' is not an API version (e.g. 59.0)"),
    ({"SF_DOMAIN": "https://sf-proxy.example.com"}, "SF_DOMAIN: 'https://sf-proxy.example.com' "
     "is not a Salesforce domain: give the part before .salesforce.com (e.g. acme.my, or test "
     "for a sandbox); a non-Salesforce endpoint goes in SF_LOGIN_URL"),
    ({"SF_LOGIN_URL": "not a url"}, "SF_LOGIN_URL: 'not a url' is not a URL (expected "
                                    "https://host)"),
    ({"SF_LOGIN_URL": "http://user:s3cr3t@127.0.0.1:1234"}, "SF_LOGIN_URL must not carry a "
     "user name or password; give them as SF_USERNAME / SF_PASSWORD"),
    ({"SF_SESSION_ID": "00D!s3cr3t", "SF_INSTANCE_URL": "http://user:s3cr3t@127.0.0.1:1234"},
     "SF_INSTANCE_URL must not carry a user name or password; give them as SF_USERNAME / "
     "SF_PASSWORD"),
    ({"SF_SESSION_ID": "00D!s3cr3t", "SF_INSTANCE_URL": "127.0.0.1:44085"},
     "SF_INSTANCE_URL: '127.0.0.1:44085' is not a URL (expected https://host)"),
])
@pytest.mark.parametrize("command", ["doctor", "sync"])
def test_a_bad_setting_is_one_line_naming_it_and_no_secret_is_kept(
    org: FakeOrg, tmp_path: Path, setting: dict[str, str], error: str, command: str
) -> None:
    db = tmp_path / "c.db"
    store.open_db(db).close()  # the admin's database: a failed sync is in its log
    result = invoke(db, {**env_for(org), **setting}, command)
    assert result.exit_code == 1
    assert result.stderr == f"error: {error}\n"
    kept = db.read_bytes().decode("latin-1") if db.exists() else ""
    everything = result.output + result.stderr + kept
    assert "s3cr3t" not in everything and org.password not in everything
    if command == "sync":
        [log] = store.recent_syncs(store.open_db(db))
        assert (log["status"], log["error"]) == ("failed", error)


def test_a_bad_setting_in_the_config_file_names_its_key(org: FakeOrg, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[salesforce]\nlogin_url = "http://example.com"\n')
    env = {key: value for key, value in env_for(org).items() if key != "SF_LOGIN_URL"}
    result = CliRunner(env=env).invoke(
        cli, ["--db", str(tmp_path / "c.db"), "--config", str(config), "doctor"])
    assert result.exit_code == 1
    assert result.stderr == ("error: [salesforce] login_url must use https unless it points at "
                             "this machine (127.0.0.1/localhost): http://example.com\n")


# --- credentials half set up, pasted with spaces, or naming two hosts ------------------


@pytest.mark.parametrize(("env", "error"), [
    ({"SF_USERNAME": "a@b.c"},
     "SF_USERNAME is set but SF_PASSWORD is not (+ SF_SECURITY_TOKEN), nor SF_CONSUMER_KEY + "
     "SF_PRIVATE_KEY_FILE for a JWT login"),
    ({"SF_PASSWORD": "pw", "SF_SECURITY_TOKEN": "t"},
     "SF_PASSWORD is set but SF_USERNAME is not: the password login needs both"),
    ({"SF_SESSION_ID": "00D!x"},
     "SF_SESSION_ID is set but SF_INSTANCE_URL is not: an existing session needs both"),
    ({"SF_USERNAME": "a@b.c", "SF_CONSUMER_KEY": "CK"},
     "SF_USERNAME and SF_CONSUMER_KEY are set but SF_PRIVATE_KEY_FILE is not: the JWT login "
     "needs the private key file too"),
    ({"SF_CONSUMER_KEY": "CK"},
     "SF_CONSUMER_KEY is set but SF_CONSUMER_SECRET is not (client credentials, with "
     "SF_DOMAIN), nor SF_USERNAME + SF_PRIVATE_KEY_FILE (JWT)"),
    ({"SF_CONSUMER_SECRET": "CS", "SF_DOMAIN": "acme.my"},
     "SF_CONSUMER_SECRET is set but SF_CONSUMER_KEY is not: client credentials need both"),
    ({"SF_USERNAME": "  "},
     "no Salesforce credentials: set SF_USERNAME and SF_PASSWORD (+ SF_SECURITY_TOKEN), or "
     "SF_USERNAME + SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE (JWT), or SF_CONSUMER_KEY + "
     "SF_CONSUMER_SECRET + SF_DOMAIN, or SF_SESSION_ID + SF_INSTANCE_URL"),
])
def test_a_login_half_set_up_names_what_is_missing(env: dict[str, str], error: str) -> None:
    assert refused(env) == error


def test_the_user_name_from_the_config_file_is_named_as_its_key() -> None:
    assert refused({}, {"username": "a@b.c"}).startswith(
        "[salesforce] username is set but SF_PASSWORD is not")


def test_values_pasted_with_spaces_or_a_windows_line_ending_log_in(
    org: FakeOrg, tmp_path: Path
) -> None:
    """A .env saved on Windows gives 'admin@example.test\\r': it was INVALID_LOGIN."""
    env = {"SF_LOGIN_URL": org.url, "SF_USERNAME": f" {org.username}\r",
           "SF_PASSWORD": f"{org.password}\r\n", "SF_SECURITY_TOKEN": f"{org.security_token}\n"}
    creds = credentials_from_env(env)
    assert (creds.username, creds.password, creds.security_token) == (
        org.username, org.password, org.security_token)
    result = invoke(tmp_path / "c.db", env, "sync")
    assert result.exit_code == 0, result.stderr


def test_a_password_s_own_spaces_are_kept() -> None:
    creds = credentials_from_env({"SF_USERNAME": "a@b.c", "SF_PASSWORD": " pass word "})
    assert creds.password == " pass word "


@pytest.mark.parametrize(("env", "error"), [
    ({"SF_LOGIN_URL": "https://login.salesforce.com", "SF_DOMAIN": "test"},
     "SF_LOGIN_URL (login.salesforce.com) and SF_DOMAIN (test.salesforce.com) name two "
     "Salesforce hosts: set only one (SF_DOMAIN=test for a sandbox, acme.my for a My Domain)"),
    ({"SF_LOGIN_URL": "https://test.salesforce.com", "SF_DOMAIN": "acme.my"},
     "SF_LOGIN_URL (test.salesforce.com) and SF_DOMAIN (acme.my.salesforce.com) name two "
     "Salesforce hosts: set only one (SF_DOMAIN=test for a sandbox, acme.my for a My Domain)"),
])
def test_a_login_url_and_a_domain_naming_two_salesforce_hosts_are_refused(
    env: dict[str, str], error: str
) -> None:
    assert refused({**PASSWORD, **env}) == error


def test_a_login_url_and_a_domain_that_agree_or_an_endpoint_with_a_domain_are_accepted() -> None:
    same = credentials_from_env({**PASSWORD, "SF_LOGIN_URL": "https://test.salesforce.com",
                                 "SF_DOMAIN": "test"})
    assert login_host(same) == "https://test.salesforce.com"
    proxied = credentials_from_env({**PASSWORD, "SF_LOGIN_URL": "http://127.0.0.1:8080",
                                    "SF_DOMAIN": "test"})
    assert (proxied.login_url, proxied.domain) == ("http://127.0.0.1:8080", "test")
