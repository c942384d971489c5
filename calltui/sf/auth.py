"""Salesforce credentials: read from the environment, never stored, never printed.

Auth modes (SPEC §2.1): username + password + security token (an empty token
is allowed), OAuth JWT bearer (consumer key + private key file), client
credentials (consumer key + secret, My Domain), and an existing session id +
instance URL. ``SF_LOGIN_URL`` points the client at any Salesforce-compatible
endpoint (plain http only for this machine). Every setting is checked before any
network call; an error names the setting as the user set it (``SF_LOGIN_URL``, or
``[salesforce] login_url`` from the config file) and never repeats a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.login import SalesforceLogin

from calltui.sf.transport import EndpointSession, check_url, domain_for, is_salesforce_host

__all__ = ["AuthError", "Credentials", "credentials_from_env", "login", "unreachable"]

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
    set_aside: str | None = None  # a session wins; the other login also set, if any
    unused: str | None = None  # a half-set login that this one goes without, in words

    def secrets(self) -> list[str]:
        """The secret values, so tests and logs can make sure none leaks."""
        values = [self.password, self.security_token, self.consumer_secret, self.session_id]
        return [v for v in values if v]


@dataclass(frozen=True)
class _Settings:
    """Where a setting comes from: the environment wins over config ``[salesforce]``."""

    env: Mapping[str, str]
    config: Mapping[str, Any]

    def get(self, name: str, key: str) -> Any:
        value = self.env.get(name)
        return value if value is not None else self.config.get(key)

    def label(self, name: str, key: str) -> str:
        """The setting as the user set it: the variable, or the config file's key."""
        if self.env.get(name) is None and key in self.config:
            return f"[salesforce] {key}"
        return name


def credentials_from_env(
    env: Mapping[str, str], settings: Mapping[str, Any] | None = None
) -> Credentials:
    """Pick the auth mode from what is set; config ``[salesforce]`` gives non-secret defaults.

    Every setting is checked here, before any network call; an error names the setting
    as the user set it and never repeats a secret.
    """
    given = _Settings(env, settings or {})
    common = _common(given)
    _one_login_host(common, given)
    session_id, secret = _trimmed(env.get("SF_SESSION_ID")), _trimmed(env.get("SF_CONSUMER_SECRET"))
    password = env.get("SF_PASSWORD")
    if password is not None:  # a line ending from a .env file saved on Windows, not the password
        password = password.strip("\r\n")
    if session_id and common["instance_url"]:
        instance = common["instance_url"]
        if instance.startswith("http://") and not given.get("SF_LOGIN_URL", "login_url"):
            common["login_url"] = instance  # a local endpoint: talk to it over plain http
        return Credentials("session", session_id=session_id, set_aside=_other_login(
            common, given, password, secret), **common)
    unused = ("SF_SESSION_ID is set without SF_INSTANCE_URL, so it is not used"
              if session_id else None)
    if common["username"] and password is not None:
        token = _trimmed(env.get("SF_SECURITY_TOKEN")) or ""
        return Credentials("password", password=password, security_token=token,
                           unused=unused, **common)
    if common["username"] and common["consumer_key"] and common["private_key_file"]:
        key_file = _key_file(common["private_key_file"],
                             given.label("SF_PRIVATE_KEY_FILE", "private_key_file"))
        return Credentials("jwt", unused=unused, **{**common, "private_key_file": key_file})
    if common["consumer_key"] and secret:
        if not common["domain"] or common["domain"] in ("login", "test"):
            raise AuthError("client credentials need your My Domain: set SF_DOMAIN "
                            "(e.g. acme.my)")
        return Credentials("client_credentials", consumer_secret=secret, unused=unused,
                           **common)
    raise AuthError(_missing(common, given, password, session_id, secret))


def _missing(common: dict[str, Any], given: _Settings, password: str | None,
             session_id: str | None, secret: str | None) -> str:
    """What is missing, naming what is set: a login half set up names its other half."""
    user = given.label("SF_USERNAME", "username")
    key = given.label("SF_CONSUMER_KEY", "consumer_key")
    if session_id:
        return "SF_SESSION_ID is set but SF_INSTANCE_URL is not: an existing session needs both"
    if password is not None:
        return f"SF_PASSWORD is set but {user} is not: the password login needs both"
    if common["username"] and common["consumer_key"]:
        return (f"{user} and {key} are set but SF_PRIVATE_KEY_FILE is not: the JWT login "
                "needs the private key file too")
    if common["username"]:
        return (f"{user} is set but SF_PASSWORD is not (+ SF_SECURITY_TOKEN), nor "
                "SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE for a JWT login")
    if secret:
        return "SF_CONSUMER_SECRET is set but SF_CONSUMER_KEY is not: client credentials need both"
    if common["consumer_key"]:
        return (f"{key} is set but SF_CONSUMER_SECRET is not (client credentials, with "
                "SF_DOMAIN), nor SF_USERNAME + SF_PRIVATE_KEY_FILE (JWT)")
    return ("no Salesforce credentials: set SF_USERNAME and SF_PASSWORD (+ SF_SECURITY_TOKEN), "
            "or SF_USERNAME + SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE (JWT), or SF_CONSUMER_KEY + "
            "SF_CONSUMER_SECRET + SF_DOMAIN, or SF_SESSION_ID + SF_INSTANCE_URL")


def _other_login(common: dict[str, Any], given: _Settings, password: str | None,
                 secret: str | None) -> str | None:
    """The login also set up beside an existing session, named as set (None if none)."""
    user = given.label("SF_USERNAME", "username")
    key = given.label("SF_CONSUMER_KEY", "consumer_key")
    if common["username"] and password is not None:
        return f"{user} + SF_PASSWORD"
    if common["username"] and common["consumer_key"] and common["private_key_file"]:
        return f"{user} + {key} + SF_PRIVATE_KEY_FILE"
    if common["consumer_key"] and secret:
        return f"{key} + SF_CONSUMER_SECRET"
    return None


def _trimmed(value: Any) -> str | None:
    """A user name, key, token or session id without the spaces or line ending pasted
    around it (none of them holds a space); None for None."""
    return None if value is None else str(value).strip()


def _one_login_host(common: dict[str, Any], given: _Settings) -> None:
    """SF_LOGIN_URL on a Salesforce host and SF_DOMAIN must not name two hosts (one of
    them decides production or sandbox). Another endpoint (a proxy, the stand-in org)
    takes the requests for the SF_DOMAIN host."""
    domain = common["domain"]
    host = urlsplit(common["login_url"]).hostname or ""
    if (domain and given.get("SF_LOGIN_URL", "login_url") and is_salesforce_host(host)
            and host != f"{domain}.salesforce.com"):
        raise AuthError(
            f"{given.label('SF_LOGIN_URL', 'login_url')} ({host}) and "
            f"{given.label('SF_DOMAIN', 'domain')} ({domain}.salesforce.com) name two "
            "Salesforce hosts: set only one (SF_DOMAIN=test for a sandbox, acme.my for a My "
            "Domain)")


def _common(given: _Settings) -> dict[str, Any]:
    """The settings every auth mode shares, checked and normalised."""
    return {
        "login_url": _url(given, "SF_LOGIN_URL", "login_url") or DEFAULT_LOGIN_URL,
        "domain": _domain(given.get("SF_DOMAIN", "domain"), given.label("SF_DOMAIN", "domain")),
        "api_version": _api_version(given.get("SF_API_VERSION", "api_version"),
                                    given.label("SF_API_VERSION", "api_version")),
        "username": _trimmed(given.get("SF_USERNAME", "username")) or None,
        "consumer_key": _trimmed(given.get("SF_CONSUMER_KEY", "consumer_key")) or None,
        "private_key_file": given.get("SF_PRIVATE_KEY_FILE", "private_key_file"),
        "instance_url": _url(given, "SF_INSTANCE_URL", "instance_url"),
    }


def _url(given: _Settings, name: str, key: str) -> str | None:
    """An endpoint URL, checked like every other (transport.check_url); None when unset."""
    value = given.get(name, key)
    if value is None or value == "":
        return None
    try:
        check_url(value, given.label(name, key))
    except ValueError as exc:
        raise AuthError(str(exc)) from None
    return str(value).strip()


_API_VERSION = re.compile(r"[vV]?([1-9][0-9]{0,2})(?:\.0)?")


def _api_version(value: Any, label: str) -> str:
    """``59``, ``59.0``, ``v59.0`` and ``V59.0`` are ``59.0``; anything else is refused."""
    if value is None or value == "":
        return DEFAULT_API_VERSION
    match = _API_VERSION.fullmatch(str(value).strip())
    if match is None or isinstance(value, bool):
        raise AuthError(f"{label}: {value!r} is not an API version (e.g. 59.0)")
    return f"{match[1]}.0"


_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_PASTED_HOST = re.compile(r"(?:https?://)?([^/:@\s]+)\.salesforce\.com/?")


def _domain(value: Any, label: str) -> str | None:
    """What goes before ``.salesforce.com`` (``acme.my``, ``test``); a pasted Salesforce
    host or URL (``https://acme.my.salesforce.com/``) is reduced to it."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    pasted = _PASTED_HOST.fullmatch(text)
    domain = pasted[1] if pasted else text
    if not _DOMAIN.fullmatch(domain) or domain.endswith(".com"):
        raise AuthError(f"{label}: {_masked(str(value))!r} is not a Salesforce domain: give "
                        "the part before .salesforce.com (e.g. acme.my, or test for a "
                        "sandbox); a non-Salesforce endpoint goes in SF_LOGIN_URL")
    return domain


def _masked(text: str) -> str:
    """``text`` with whatever comes before an ``@`` (a user name, a password) masked."""
    if "@" not in text:
        return text
    scheme = text.split("://", 1)[0] + "://" if "://" in text else ""
    return f"{scheme}***@{text.rsplit('@', 1)[1]}"


def _key_file(value: str, label: str) -> str:
    """The JWT key's path, once the key loads the way simple-salesforce's pyjwt loads it:
    a bad key is a problem on this machine, not a login the server refused."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise AuthError(f"{label}: no such file {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise AuthError(f"{label}: cannot read {path} ({exc.strerror or exc})") from None
    except TypeError:  # the key is encrypted
        raise AuthError(f"{label}: {path} is encrypted; the JWT login needs the key without "
                        "a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise AuthError(f"{label}: {path} is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError(f"{label}: {path} is not an RSA private key (the JWT login signs "
                        "with RS256)")
    return str(path)


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
        raise AuthError(unreachable(where, exc)) from None
    except Exception as exc:  # simple-salesforce raises SalesforceAuthenticationFailed
        raise AuthError(f"login refused by {where}: {_login_message(exc, creds)}") from None
    return session_id, instance


def login_host(creds: Credentials) -> str:
    """Where the login really goes: the login URL, or the sandbox / My Domain host."""
    host = urlsplit(creds.login_url).hostname or ""
    if creds.domain and host.endswith(".salesforce.com"):
        return f"https://{creds.domain}.salesforce.com"
    return creds.login_url


def unreachable(where: str, exc: BaseException) -> str:
    """``cannot reach URL: reason``, for a login URL or an instance alike; no secret in it."""
    return f"cannot reach {where}: {network_reason(exc)}"


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
    for secret in sorted(creds.secrets(), key=len, reverse=True):
        message = _without(message, secret)
    message = message.splitlines()[0] if message else type(exc).__name__
    if creds.password and creds.password != creds.password.strip():
        message += " (SF_PASSWORD begins or ends with a space, which calltui sends as it is)"
    return message


# A secret shorter than this is masked only where it stands alone: inside a word it
# would mangle Salesforce's message ("securit*** token" for a token "y") and show
# where it sits. Salesforce's passwords have at least 8 characters, tokens 24.
_SHORT_SECRET = 8


def _without(message: str, secret: str) -> str:
    if len(secret) >= _SHORT_SECRET:
        return message.replace(secret, "***")
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", message)
