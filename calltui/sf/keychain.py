"""Salesforce secrets in the OS keyring (optional: ``pip install 'calltui[keyring]'``).

The environment wins; a secret not set there is looked up in the keyring under
the service ``calltui``. Nothing is ever written to the database or the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SECRET_NAMES", "SERVICE", "KeyringUnavailable", "delete_secret", "store_secret",
           "with_keyring"]

SERVICE = "calltui"
SECRET_NAMES = ("SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_CONSUMER_SECRET", "SF_SESSION_ID",
                "SF_PRIVATE_KEY_FILE")
"""What the keyring may hold: the secrets, and the path of the JWT private key."""


class KeyringUnavailable(Exception):
    """The keyring package is not installed or has no usable backend."""


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        raise KeyringUnavailable(
            "the OS keyring needs the keyring package: pip install 'calltui[keyring]'") from None
    return keyring


def with_keyring(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus the secrets it lacks, from the keyring when one is available."""
    merged = dict(env)
    try:
        keyring = _keyring()
    except KeyringUnavailable:
        return merged
    for name in SECRET_NAMES:
        if name not in merged:
            try:
                value = keyring.get_password(SERVICE, name)
            except Exception:  # noqa: BLE001 - a broken backend means "not there"
                value = None
            if value is not None:
                merged[name] = value
    return merged


def store_secret(name: str, value: str) -> None:
    _check(name)
    keyring = _keyring()
    try:
        keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # noqa: BLE001 - backends raise their own classes
        raise _unavailable(exc) from None


def delete_secret(name: str) -> bool:
    """Remove a stored secret; False when there was none."""
    _check(name)
    keyring = _keyring()
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # noqa: BLE001 - backends raise their own classes
        raise _unavailable(exc) from None
    return True


def _unavailable(exc: Exception) -> KeyringUnavailable:
    """A backend's failure, said without its message (it may hold the value)."""
    if type(exc).__name__ == "NoKeyringError":
        return KeyringUnavailable("no OS keyring is available on this machine (no Keychain, "
                                  "Credential Locker or Secret Service); use the SF_* "
                                  "environment variables instead")
    return KeyringUnavailable(f"the OS keyring refused: {type(exc).__name__}")


def _check(name: str) -> None:
    if name not in SECRET_NAMES:
        raise ValueError(f"{name} is not a secret calltui keeps; one of {', '.join(SECRET_NAMES)}")
