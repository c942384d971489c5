"""EndpointSession: URL rewriting, login URL checks, default timeout, domain_for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from calltui.sf.transport import EndpointSession, check_url, domain_for, is_loopback_host


@pytest.mark.parametrize("url, expected", [
    ("https://login.salesforce.com/services/Soap/u/59.0",
     "http://127.0.0.1:8123/services/Soap/u/59.0"),
    ("https://test.salesforce.com/services/oauth2/token",
     "http://127.0.0.1:8123/services/oauth2/token"),
    ("https://acme.my.salesforce.com/services/data/v59.0/query/?q=SELECT+Id",
     "http://127.0.0.1:8123/services/data/v59.0/query/?q=SELECT+Id"),
    ("https://127.0.0.1:8123/services/data/v59.0/limits/",
     "http://127.0.0.1:8123/services/data/v59.0/limits/"),
    ("https://127.0.0.2:9000/x", "http://127.0.0.2:9000/x"),
    ("https://localhost:8123/x", "http://localhost:8123/x"),
    ("https://[::1]:8123/x", "http://[::1]:8123/x"),
    ("https://example.com/x", "https://example.com/x"),
    ("https://salesforce.com.evil.example/x", "https://salesforce.com.evil.example/x"),
])
def test_rewrite_for_http_loopback(url: str, expected: str) -> None:
    assert EndpointSession("http://127.0.0.1:8123").rewrite(url) == expected


def test_rewrite_for_https_proxy_keeps_https() -> None:
    session = EndpointSession("https://sf-proxy.example.test:8443/")
    assert session.rewrite("https://login.salesforce.com/services/oauth2/token") == (
        "https://sf-proxy.example.test:8443/services/oauth2/token")
    # an https login URL never downgrades loopback traffic
    assert session.rewrite("https://127.0.0.1:5/x") == "https://127.0.0.1:5/x"


@pytest.mark.parametrize("login_url", [
    "https://login.salesforce.com", "https://test.salesforce.com",
    "https://acme.my.salesforce.com",
])
def test_real_salesforce_login_url_changes_nothing(login_url: str) -> None:
    session = EndpointSession(login_url)
    for url in ("https://login.salesforce.com/services/Soap/u/59.0",
                "https://acme.my.salesforce.com/services/data/v59.0/query/"):
        assert session.rewrite(url) == url


@pytest.mark.parametrize("login_url", [
    "http://example.com", "http://acme.my.salesforce.com", "ftp://127.0.0.1",
    "http://10.0.0.1:8080",
])
def test_plain_http_only_for_loopback(login_url: str) -> None:
    with pytest.raises(ValueError) as info:
        EndpointSession(login_url)
    assert str(info.value) == (
        "SF_LOGIN_URL must use https unless it points at this machine "
        f"(127.0.0.1/localhost): {login_url}")


@pytest.mark.parametrize("login_url", [
    "127.0.0.1:80", "", "not a url", "localhost:8080", "https://", "https:///path",
    "http://127.0.0.1:port", "http://[::1", "https://exa mple.com", None, 8080,
])
def test_what_is_not_a_url_is_named_as_such(login_url: object) -> None:
    with pytest.raises(ValueError) as info:
        check_url(login_url, "SF_INSTANCE_URL")
    assert str(info.value) == f"SF_INSTANCE_URL: {login_url!r} is not a URL (expected https://host)"


@pytest.mark.parametrize("login_url", [
    "http://user:s3cr3t@127.0.0.1:1234", "https://:s3cr3t@login.salesforce.com",
    "https://s3cr3t@sf-proxy.example.test/", "user:s3cr3t@127.0.0.1",
])
def test_a_url_with_user_info_is_refused_without_repeating_it(login_url: str) -> None:
    with pytest.raises(ValueError) as info:
        EndpointSession(login_url)
    assert str(info.value) == ("SF_LOGIN_URL must not carry a user name or password; give "
                               "them as SF_USERNAME / SF_PASSWORD")
    with pytest.raises(ValueError, match=r"^\[salesforce\] login_url must not carry"):
        check_url(login_url, "[salesforce] login_url")


@pytest.mark.parametrize("login_url", [
    "http://127.0.0.1:1", "http://localhost:8000", "http://[::1]:8000", "http://127.1.2.3",
])
def test_plain_http_loopback_is_accepted(login_url: str) -> None:
    EndpointSession(login_url)


@pytest.mark.parametrize("login_url, domain", [
    ("https://login.salesforce.com", None),
    ("https://LOGIN.salesforce.com/", None),
    ("https://test.salesforce.com", "test"),
    ("https://acme.my.salesforce.com", "acme.my"),
    ("https://acme--uat.sandbox.my.salesforce.com/", "acme--uat.sandbox.my"),
    ("http://127.0.0.1:8123", "login"),
    ("https://sf-proxy.example.test", "login"),
])
def test_domain_for(login_url: str, domain: str | None) -> None:
    assert domain_for(login_url) == domain


def test_is_loopback_host() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("LOCALHOST")
    assert is_loopback_host("::1") and is_loopback_host("[::1]")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host(None)
    assert not is_loopback_host("localhost.example.com")


# ---------------------------------------------------------------------- real HTTP


class _SlowEcho(BaseHTTPRequestHandler):
    """Answers with the request path; sleeps when the path asks for it."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/slow"):
            threading.Event().wait(0.3)
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowEcho)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_really_reach_the_loopback_server(echo_url: str) -> None:
    session = EndpointSession(echo_url)
    response = session.get("https://login.salesforce.com/services/oauth2/token?x=1")
    assert response.text == "/services/oauth2/token?x=1"
    port = echo_url.rsplit(":", 1)[1]
    assert session.post(f"https://127.0.0.1:{port}/p").status_code == 501  # no do_POST


def test_default_timeout_applies_when_none_given(echo_url: str) -> None:
    session = EndpointSession(echo_url, timeout=0.1)
    with pytest.raises(requests.exceptions.Timeout):
        session.get("https://login.salesforce.com/slow")


def test_explicit_timeout_wins_over_default(echo_url: str) -> None:
    session = EndpointSession(echo_url, timeout=0.1)
    assert session.get(f"{echo_url}/slow", timeout=5).text == "/slow"
