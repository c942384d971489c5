"""An HTTP session that points simple-salesforce at any login endpoint.

simple-salesforce always builds ``https://`` URLs: the login host comes from
``domain`` (``https://{domain}.salesforce.com``) and every later call goes to
``https://{instance}`` taken from the login answer (docs/ecosystem.md §1, §2.1).
To reach a fake org on ``http://127.0.0.1:PORT`` (or a proxy), calltui passes an
:class:`EndpointSession` as ``Salesforce(session=...)``. It rewrites, per request:

* a URL on ``login.salesforce.com``, ``test.salesforce.com`` or any
  ``*.salesforce.com`` host goes to the configured login URL's scheme://host:port,
  unless that login URL is itself a ``*.salesforce.com`` host (then nothing changes);
* an ``https://`` URL on a loopback host (127.0.0.0/8, ``localhost``, ``::1``) is
  downgraded to ``http://`` when the login URL is plain http.

Plain ``http://`` is only accepted for loopback login URLs, and a URL carrying a
user name or password is refused. Every request also gets a default timeout when
the caller gave none.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import requests

SALESFORCE_SUFFIX = ".salesforce.com"


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, ``::1`` and any 127.0.0.0/8 address."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_salesforce_host(host: str | None) -> bool:
    """True for ``login.salesforce.com``, ``test.salesforce.com`` and ``*.salesforce.com``."""
    return bool(host) and str(host).lower().endswith(SALESFORCE_SUFFIX)


def check_url(url: object, name: str = "SF_LOGIN_URL") -> tuple[str, str, str]:
    """Validate an endpoint URL; return (scheme, netloc, host).

    ``name`` is the setting the URL came from, as the user set it (``SF_INSTANCE_URL``,
    ``[salesforce] login_url``, ...). No message repeats a user name or password.
    """
    text = url.strip() if isinstance(url, str) else ""
    if "@" in text:
        raise ValueError(f"{name} must not carry a user name or password; give them as "
                         "SF_USERNAME / SF_PASSWORD")
    split = _split_url(text)
    if split is None:
        raise ValueError(f"{name}: {url!r} is not a URL (expected https://host)")
    scheme, host = split.scheme.lower(), str(split.hostname)
    if scheme not in ("http", "https") or (scheme == "http" and not is_loopback_host(host)):
        raise ValueError(f"{name} must use https unless it points at this machine "
                         f"(127.0.0.1/localhost): {url}")
    return scheme, split.netloc, host


_HOST = re.compile(r"^[a-z0-9._:%-]+$")  # a host name or IP address, as urlsplit gives it


def _split_url(text: str) -> SplitResult | None:
    """``text`` split, or None unless it is scheme://host with a valid port, if any."""
    try:
        split = urlsplit(text)
        split.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if "://" not in text or not split.hostname or not _HOST.match(split.hostname):
        return None
    return split


def domain_for(login_url: str) -> str | None:
    """The ``domain`` argument simple-salesforce needs for this login URL.

    ``https://login.salesforce.com`` -> None (simple-salesforce's default, "login");
    ``https://test.salesforce.com`` -> "test"; ``https://acme.my.salesforce.com`` ->
    "acme.my"; any other host (a fake org, a proxy) -> "login", because the
    :class:`EndpointSession` redirects ``login.salesforce.com`` there anyway.
    """
    _, _, host = check_url(login_url)
    if not is_salesforce_host(host):
        return "login"
    domain = host[: -len(SALESFORCE_SUFFIX)]
    return None if domain == "login" else domain


class EndpointSession(requests.Session):
    """A ``requests.Session`` that sends Salesforce traffic to ``login_url``.

    ``EndpointSession("http://127.0.0.1:8123")`` sends ``https://login.salesforce.com/...``
    and ``https://127.0.0.1:8123/...`` to ``http://127.0.0.1:8123/...``.
    ``timeout`` (seconds) applies to every request made without an explicit timeout.
    """

    def __init__(self, login_url: str, timeout: float | None = 30.0) -> None:
        super().__init__()
        self.login_url = login_url
        self.default_timeout = timeout
        self._scheme, self._netloc, host = check_url(login_url)
        self._redirect_salesforce = not is_salesforce_host(host)

    def rewrite(self, url: str) -> str:
        """Where a URL built by simple-salesforce is actually sent."""
        split = urlsplit(url)
        host = split.hostname
        if self._redirect_salesforce and is_salesforce_host(host):
            return urlunsplit((self._scheme, self._netloc, split.path, split.query,
                               split.fragment))
        if self._scheme == "http" and split.scheme == "https" and is_loopback_host(host):
            return urlunsplit(("http", split.netloc, split.path, split.query, split.fragment))
        return url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                ) -> requests.Response:
        """Rewrite the URL, apply the default timeout, then send as usual."""
        text_url = url.decode() if isinstance(url, bytes) else url
        if kwargs.get("timeout") is None and len(args) < 9:  # timeout is the 10th positional
            kwargs["timeout"] = self.default_timeout
        return super().request(method, self.rewrite(text_url), *args, **kwargs)
