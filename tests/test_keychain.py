"""Secrets from the OS keyring: the environment wins, the keyring fills the gaps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from keyring.backend import KeyringBackend

from calltui import cli as cli_module
from calltui.cli import cli
from calltui.sf.auth import credentials_from_env
from calltui.sf.keychain import SERVICE, delete_secret, store_secret, with_keyring


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError(username)
        del self.items[(service, username)]


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_fills_missing_secrets_and_env_wins(memory: MemoryKeyring) -> None:
    store_secret("SF_PASSWORD", "from-keyring")
    store_secret("SF_SECURITY_TOKEN", "tok")
    env = with_keyring({"SF_USERNAME": "a@b.c", "SF_SECURITY_TOKEN": "env-token"})
    creds = credentials_from_env(env)
    assert (creds.mode, creds.password, creds.security_token) == ("password", "from-keyring",
                                                                  "env-token")
    assert memory.items[(SERVICE, "SF_PASSWORD")] == "from-keyring"


def test_only_known_secret_names(memory: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="not a secret calltui keeps"):
        store_secret("SF_USERNAME", "x")


def test_delete(memory: MemoryKeyring) -> None:
    store_secret("SF_PASSWORD", "x")
    assert delete_secret("SF_PASSWORD") is True
    assert delete_secret("SF_PASSWORD") is False


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's own backend for a machine without one (it raises NoKeyringError)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.parametrize("args", [["set", "SF_PASSWORD"], ["delete", "SF_PASSWORD"]])
def test_no_keyring_is_said_by_set_and_delete_alike(no_keyring: None, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["secret", *args], input="s3cret\n")
    assert result.exit_code == 1  # delete said 'SF_PASSWORD was not in the keyring.'
    assert result.stderr == ("error: no OS keyring is available on this machine (no Keychain, "
                             "Credential Locker or Secret Service); use the SF_* environment "
                             "variables instead\n")


def test_cli_secret_delete_says_what_it_did(memory: MemoryKeyring) -> None:
    store_secret("SF_PASSWORD", "x")
    assert CliRunner().invoke(cli, ["secret", "delete", "SF_PASSWORD"]).output == (
        "SF_PASSWORD removed.\n")
    assert CliRunner().invoke(cli, ["secret", "delete", "SF_PASSWORD"]).output == (
        "SF_PASSWORD was not in the keyring.\n")


def test_cli_secret_set_prompts_without_echo(memory: MemoryKeyring, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "_stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "secret", "set",
                                      "SF_PASSWORD"], input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "Repeat for confirmation" in result.output  # asked twice
    assert memory.items[(SERVICE, "SF_PASSWORD")] == "s3cret"


def test_cli_secret_set_reads_a_pipe(memory: MemoryKeyring, tmp_path: Path) -> None:
    piped = CliRunner().invoke(cli, ["secret", "set", "SF_SECURITY_TOKEN"], input="t0ken\n")
    assert piped.exit_code == 0, piped.output
    assert "t0ken" not in piped.output and "Repeat" not in piped.output
    assert memory.items[(SERVICE, "SF_SECURITY_TOKEN")] == "t0ken"
    empty = CliRunner().invoke(cli, ["secret", "set", "SF_PASSWORD"], input="")
    assert empty.exit_code == 1
    assert empty.stderr == ("error: no value for SF_PASSWORD on stdin: pipe it in, or run "
                            "this in a terminal\n")
    assert (SERVICE, "SF_PASSWORD") not in memory.items


def test_private_key_path_from_the_keyring(memory: MemoryKeyring, tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    store_secret("SF_PRIVATE_KEY_FILE", str(key))
    creds = credentials_from_env(with_keyring({"SF_USERNAME": "a@b.c", "SF_CONSUMER_KEY": "CK"}))
    assert (creds.mode, creds.private_key_file) == ("jwt", str(key))
