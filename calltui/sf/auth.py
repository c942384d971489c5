"""Salesforce credentials: read from the environment, never stored, never printed.

Auth modes (SPEC §2.1): username + password + security token (an empty token
is allowed), OAuth JWT bearer (consumer key + private key file), client
credentials (consumer key + secret, My Domain), and an existing session id +
instance URL. ``SF_LOGIN_URL`` points the client at any Salesforce-compatible
endpoint (plain http only for this machine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from simple_salesforce.login import SalesforceLogin

from calltui.sf.transport import EndpointSession, domain_for

__all__ = ["AuthError", "Credentials", "credentials_from_env", "login"]

AuthMode = Literal["password", "jwt", "client_credentials", "session"]
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "59.0"


class AuthError(Exception):
    """Login is impossible or refused; the message is one line and holds no secret."""


@dataclass(frozen=True)
class Credentials:
    """How to log in. ``repr`` never shows a secret."""

    mode: AuthMode
    login_url: str = DEFAULT_LOGIN_URL
    domain: str | None = None
    api_version: str = DEFAULT_API_VERSION
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    private_key_file: str | None = None
    session_id: str | None = field(default=None, repr=False)
    instance_url: str | None = None

    def secrets(self) -> list[str]:
        """The secret values, so tests and logs can make sure none leaks."""
        values = [self.password, self.security_token, self.consumer_secret, self.session_id]
        return [v for v in values if v]


def credentials_from_env(
    env: Mapping[str, str], settings: Mapping[str, Any] | None = None
) -> Credentials:
    """Pick the auth mode from what is set; config ``[salesforce]`` gives non-secret defaults."""
    settings = settings or {}

    def get(name: str, key: str) -> str | None:
        value = env.get(name)
        return value if value is not None else settings.get(key)

    common: dict[str, Any] = {
        "login_url": get("SF_LOGIN_URL", "login_url") or DEFAULT_LOGIN_URL,
        "domain": get("SF_DOMAIN", "domain"),
        "api_version": str(get("SF_API_VERSION", "api_version") or DEFAULT_API_VERSION),
        "username": get("SF_USERNAME", "username"),
        "consumer_key": get("SF_CONSUMER_KEY", "consumer_key"),
        "private_key_file": get("SF_PRIVATE_KEY_FILE", "private_key_file"),
        "instance_url": get("SF_INSTANCE_URL", "instance_url"),
    }
    try:
        EndpointSession(common["login_url"])
    except ValueError as exc:
        raise AuthError(str(exc)) from None
    session_id, password = env.get("SF_SESSION_ID"), env.get("SF_PASSWORD")
    secret = env.get("SF_CONSUMER_SECRET")
    if session_id and common["instance_url"]:
        instance = common["instance_url"]
        if instance.startswith("http://") and not get("SF_LOGIN_URL", "login_url"):
            common["login_url"] = instance  # a local endpoint: talk to it over plain http
        try:
            EndpointSession(instance if "//" in instance else f"https://{instance}")
        except ValueError as exc:
            raise AuthError(str(exc).replace("SF_LOGIN_URL", "SF_INSTANCE_URL")) from None
        return Credentials("session", session_id=session_id, **common)
    if common["username"] and password is not None:
        token = env.get("SF_SECURITY_TOKEN", "")
        return Credentials("password", password=password, security_token=token, **common)
    if common["username"] and common["consumer_key"] and common["private_key_file"]:
        key_file = Path(common["private_key_file"]).expanduser()
        if not key_file.is_file():
            raise AuthError(f"SF_PRIVATE_KEY_FILE: no such file {key_file}")
        return Credentials("jwt", **{**common, "private_key_file": str(key_file)})
    if common["consumer_key"] and secret:
        if not common["domain"] or common["domain"] in ("login", "test"):
            raise AuthError("client credentials need your My Domain: set SF_DOMAIN "
                            "(e.g. acme.my)")
        return Credentials("client_credentials", consumer_secret=secret, **common)
    raise AuthError(
        "no Salesforce credentials: set SF_USERNAME and SF_PASSWORD (+ SF_SECURITY_TOKEN), "
        "or SF_USERNAME + SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE (JWT), or SF_CONSUMER_KEY + "
        "SF_CONSUMER_SECRET + SF_DOMAIN, or SF_SESSION_ID + SF_INSTANCE_URL"
    )


def login(creds: Credentials, session: EndpointSession) -> tuple[str, str]:
    """Log in through simple-salesforce; return (session id, instance host[:port])."""
    if creds.mode == "session":
        assert creds.session_id and creds.instance_url
        url = creds.instance_url if "//" in creds.instance_url else f"https://{creds.instance_url}"
        return creds.session_id, urlsplit(url).netloc
    domain = creds.domain or domain_for(creds.login_url)
    where = login_host(creds)
    kwargs: dict[str, Any] = {"session": session, "sf_version": creds.api_version,
                              "domain": domain}
    if creds.mode == "password":
        kwargs.update(username=creds.username, password=creds.password,
                      security_token=creds.security_token or "")
    elif creds.mode == "jwt":
        kwargs.update(username=creds.username, consumer_key=creds.consumer_key,
                      privatekey_file=creds.private_key_file)
    else:
        kwargs.update(consumer_key=creds.consumer_key, consumer_secret=creds.consumer_secret)
    try:
        session_id, instance = SalesforceLogin(**kwargs)
    except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
        raise AuthError(f"cannot reach {where}: {network_reason(exc)}") from None
    except Exception as exc:  # simple-salesforce raises SalesforceAuthenticationFailed
        raise AuthError(f"login refused by {where}: {_login_message(exc, creds)}") from None
    return session_id, instance


def login_host(creds: Credentials) -> str:
    """Where the login really goes: the login URL, or the sandbox / My Domain host."""
    host = urlsplit(creds.login_url).hostname or ""
    if creds.domain and host.endswith(".salesforce.com"):
        return f"https://{creds.domain}.salesforce.com"
    return creds.login_url


def network_reason(exc: BaseException) -> str:
    """A short, secret-free reason for a network failure."""
    text = str(exc)
    for needle, reason in (("NameResolution", "host name not found"),
                           ("Name or service not known", "host name not found"),
                           ("Connection refused", "connection refused"),
                           ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
                           ("SSL", "TLS handshake failed"),
                           ("timed out", "timed out"), ("Timeout", "timed out")):
        if needle in text or needle in type(exc).__name__:
            return reason
    return type(exc).__name__


def _login_message(exc: Exception, creds: Credentials) -> str:
    code = getattr(exc, "code", None)
    detail = getattr(exc, "auth_message", None) or getattr(exc, "message", None) or exc
    message = f"{code}: {detail}" if code else str(detail)
    for secret in creds.secrets():
        message = message.replace(secret, "***")
    return message.splitlines()[0] if message else type(exc).__name__
